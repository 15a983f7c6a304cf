// Child process of the scale tests: one member of the group. Prints
//   status {"t", "state", "members", "assigned", "running"}  whenever its view changes
//   written <n>                                             after each event's rows (uncommitted)
//   lost <partition>                                        when a partition's lease was lost
//   stopped                                                 after a clean stop on SIGTERM
// and any other partition failure on stderr.
// Usage: scale-worker <schema> <member> <partitions> <ttlMs> <heartbeatMs> <delayMs> <stream|customer>
import { printGroupStatus, stopOnSigterm } from '../support/group-member-output.js';
import { openScaleBackend } from './scale-backend.js';

const [schema, memberId, partitionsArg, ttlArg, heartbeatArg, delayArg, keyMode] =
  process.argv.slice(2);
const [partitions, leaseTtlMs, heartbeatIntervalMs, delayMs] = [
  partitionsArg,
  ttlArg,
  heartbeatArg,
  delayArg,
].map(Number);
if (
  !schema ||
  !memberId ||
  (keyMode !== 'stream' && keyMode !== 'customer') ||
  [partitions, leaseTtlMs, heartbeatIntervalMs, delayMs].some((n) => !Number.isFinite(n))
)
  throw new Error(
    'usage: scale-worker <schema> <member> <partitions> <ttlMs> <heartbeatMs> <delayMs> <stream|customer>',
  );

const backend = await openScaleBackend(schema);
let written = 0;
const group = await backend.join({
  memberId,
  partitions: partitions ?? 0,
  leaseTtlMs: leaseTtlMs ?? 0,
  heartbeatIntervalMs: heartbeatIntervalMs ?? 0,
  delayMs: delayMs ?? 0,
  keyMode,
  onWritten: () => process.stdout.write(`written ${++written}\n`),
});
const lost = new Set<string>();
printGroupStatus(group, (p, error) => {
  const once = `${p.partition}:${error.message}`;
  if (!lost.has(once)) process.stdout.write(`lost ${p.partition}\n`);
  lost.add(once);
});
stopOnSigterm(async () => {
  await group.stop();
  await backend.close();
});
await group.start();
