/**
 * One member of the partitioned fulfilment saga's group, in its own process (for the kill
 * test): `tsx partitioned-saga-member.ts <schema> <member-id>`. Prints `ready` once started
 * and `assigned <partitions>` whenever its share changes; stops cleanly on SIGTERM.
 */
import { startMember } from './partitioned-saga-scenario.js';

const [schema, memberId] = process.argv.slice(2);
if (!schema || !memberId) throw new Error('usage: partitioned-saga-member.ts <schema> <member-id>');
const member = await startMember(schema, memberId);
let last = '';
const report = () => {
  const assigned = member.runtime.status.groups[0]?.assigned.join(',') ?? '';
  if (assigned !== last) console.log(`assigned ${(last = assigned)}`);
};
const timer = setInterval(report, 50);
console.log('ready');
process.on('SIGTERM', () => {
  clearInterval(timer);
  void member.close().then(() => process.exit(0));
});
