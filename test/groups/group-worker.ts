// Child process of the consumer group process test: one member of the group. Prints
//   status {"t", "state", "members", "assigned", "running"}  whenever its view changes
//   written <n>                                             every 25 rows written (uncommitted)
//   stopped                                                 after a clean stop on SIGTERM
// Usage: group-worker <sqlite|postgres> <file|schema> <member> <partitions> <ttlMs> <heartbeatMs> <delayMs>
import { printGroupStatus, stopOnSigterm } from '../support/group-member-output.js';
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
printGroupStatus(group);
stopOnSigterm(async () => {
  await group.stop();
  await backend.close();
});
await group.start();
