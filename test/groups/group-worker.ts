// Child process of the consumer group process test: one member of the group. Prints
//   status {"t", "state", "members", "assigned", "running"}  whenever its view changes
//   written <n>                                             every 25 rows written (uncommitted)
//   stopped                                                 after a clean stop on SIGTERM
// Usage: group-worker <sqlite|postgres> <file|schema> <member> <partitions> <ttlMs> <heartbeatMs> <delayMs>
import { openGroupBackend } from './group-backend.js';

const [kind, location, memberId, ...numbers] = process.argv.slice(2);
const [partitions, leaseTtlMs, heartbeatIntervalMs, delayMs] = numbers.map(Number);
if (
  (kind !== 'sqlite' && kind !== 'postgres') ||
  !location ||
  !memberId ||
  partitions === undefined ||
  leaseTtlMs === undefined ||
  heartbeatIntervalMs === undefined ||
  delayMs === undefined
)
  throw new Error(
    'usage: group-worker <sqlite|postgres> <file|schema> <member> <partitions> <ttlMs> <heartbeatMs> <delayMs>',
  );

const backend = await openGroupBackend(kind, location);
let written = 0;
const group = await backend.join({
  memberId,
  partitions,
  leaseTtlMs,
  heartbeatIntervalMs,
  delayMs,
  onWritten: () => {
    written += 1;
    if (written % 25 === 0) process.stdout.write(`written ${written}\n`);
  },
});
let last = '';
group.onStatus((status) => {
  const view = {
    state: status.state,
    members: status.members,
    assigned: status.assigned,
    running: status.partitions.filter((p) => p.running).map((p) => p.partition),
  };
  const key = JSON.stringify(view);
  if (key !== last) {
    last = key;
    process.stdout.write(`status ${JSON.stringify({ t: Date.now(), ...view })}\n`);
  }
  for (const p of status.partitions)
    if (p.error && !(p.error.name === 'LeaseLostError'))
      process.stderr.write(`partition ${p.partition}: ${p.error.stack ?? p.error.message}\n`);
  if (status.state === 'stopped' && status.error)
    process.stderr.write(`stopped: ${status.error.stack ?? status.error.message}\n`);
});
process.on('SIGTERM', () => {
  void (async () => {
    await group.stop();
    await backend.close();
    process.stdout.write('stopped\n');
    process.exit(0);
  })();
});
await group.start();
