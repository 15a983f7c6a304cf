/**
 * The child side of multi-process consumer group tests: what a member process prints about its
 * group (read by the test through `test/support/member-processes.ts`), and its clean stop.
 */
import type { ConsumerGroupStatus, GroupPartitionStatus } from '@causewayjs/core';

/**
 * Prints `status {"t", "state", "members", "assigned", "running"}` whenever the group's view
 * changes, a partition's failure on stderr (a lost lease goes to `onLeaseLost` instead, which
 * by default ignores it), and why the group stopped if it failed.
 */
export function printGroupStatus(
  group: { onStatus(listener: (status: ConsumerGroupStatus) => void): unknown },
  onLeaseLost: (partition: GroupPartitionStatus, error: Error) => void = () => undefined,
): void {
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
    for (const p of status.partitions) {
      if (!p.error) continue;
      if (p.error.name === 'LeaseLostError') onLeaseLost(p, p.error);
      else process.stderr.write(`partition ${p.partition}: ${p.error.stack ?? p.error.message}\n`);
    }
    if (status.state === 'stopped' && status.error)
      process.stderr.write(`stopped: ${status.error.stack ?? status.error.message}\n`);
  });
}

/** On SIGTERM: runs `stop`, prints `stopped` and exits with 0. */
export function stopOnSigterm(stop: () => Promise<void>): void {
  process.on('SIGTERM', () => {
    void (async () => {
      await stop();
      process.stdout.write('stopped\n');
      process.exit(0);
    })();
  });
}

/**
 * A printer of status lines that prints a key's line only when it differs from the last one
 * printed for that key (so a member polled often prints each change once).
 */
export function changedLinePrinter(): (key: string, line: string) => void {
  const shown = new Map<string, string>();
  return (key, line) => {
    if (shown.get(key) === line) return;
    shown.set(key, line);
    process.stdout.write(`${line}\n`);
  };
}
