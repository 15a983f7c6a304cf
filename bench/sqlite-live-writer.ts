// The writing process of the sqlite-live benchmark. Opens the SQLite store at the path given,
// prints `ready`, then for each line `go <seconds> <tag>` on stdin appends single events at a
// steady 1,000 per second (ticks of 10 ms, so concurrent appends share commits as a busy
// process's would) and prints `done <count> <p50> <p99>` once all are acknowledged, with the
// appends' own latency (call to acknowledgement) in ms. Each event carries
// the wall-clock time (sub-millisecond) just before its append was called.
import { createInterface } from 'node:readline';
import { SqliteEventStore } from '@causewayjs/sqlite';

const TICK_MS = 10;
const PER_TICK = 10;

const file = process.argv[2];
if (!file) throw new Error('usage: sqlite-live-writer <file>');
const store = SqliteEventStore.open(file);
const now = () => performance.timeOrigin + performance.now();
process.stdout.write('ready\n');

for await (const line of createInterface({ input: process.stdin })) {
  const [command, secondsText, tag] = line.split(' ');
  if (command !== 'go' || tag === undefined) continue;
  const total = Math.round((Number(secondsText) * 1000 * PER_TICK) / TICK_MS);
  const appends: Promise<unknown>[] = [];
  const acked: number[] = [];
  const start = performance.now();
  let seq = 0;
  while (seq < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / TICK_MS + 1) * PER_TICK));
    for (; seq < due; seq++) {
      const sentAt = now();
      appends.push(
        store
          .append(`live-${seq % 100}`, [{ type: 'live.sent', data: { tag, seq, sentAt } }])
          .then(() => acked.push(now() - sentAt)),
      );
    }
    const next = start + (seq / PER_TICK) * TICK_MS;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  await Promise.all(appends);
  acked.sort((a, b) => a - b);
  const at = (p: number) => acked[Math.min(acked.length - 1, Math.ceil(p * acked.length) - 1)] ?? 0;
  // The append's own latency (call to acknowledgement), the floor of any delivery latency.
  process.stdout.write(`done ${total} ${at(0.5).toFixed(2)} ${at(0.99).toFixed(2)}\n`);
}
await store.close();
