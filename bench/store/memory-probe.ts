/**
 * Child process of the bounded-memory read: reads a whole SQLite store with `readAll` and
 * prints, as JSON on stdout, how many events it read, how long it took and its memory as it
 * went. Run in a process of its own so nothing the writer allocated hides or inflates the
 * reader's footprint.
 *
 * Usage: memory-probe <sqlite file> <expected event count> [gc]
 *
 * With `gc` (and node's `--expose-gc`), a full garbage collection runs after each tenth of
 * the read before the live heap is sampled: a flat series shows nothing read is retained.
 */
import { openEventStore } from '@causewayjs/core';

/** RSS is sampled once per this many events (one page of the store's reads). */
const SAMPLE_EVERY = 1000;

/** What the probe prints. */
export interface ProbeReport {
  events: number;
  ms: number;
  rssBefore: number;
  rssPeak: number;
  /** The process's high-water mark at the end (catches peaks between samples). */
  maxRssAfter: number;
  /** RSS after each tenth of the expected events. */
  rssByTenth: number[];
  /** V8 heap in use after each tenth (after a full collection when run with `gc`). */
  heapByTenth: number[];
}

async function probe(file: string, expected: number, collect: (() => void) | undefined) {
  const store = await openEventStore(`sqlite:${file}`);
  try {
    collect?.();
    const rssBefore = process.memoryUsage.rss();
    let rssPeak = rssBefore;
    let events = 0;
    const rssByTenth: number[] = [];
    const heapByTenth: number[] = [];
    const tenth = Math.max(1, Math.floor(expected / 10));
    const start = performance.now();
    for await (const _event of store.readAll()) {
      if (++events % SAMPLE_EVERY === 0) {
        const rss = process.memoryUsage.rss();
        rssPeak = Math.max(rssPeak, rss);
        if (events % tenth === 0) {
          rssByTenth.push(rss);
          collect?.();
          heapByTenth.push(process.memoryUsage().heapUsed);
        }
      }
    }
    const ms = performance.now() - start;
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    const maxRssAfter = process.resourceUsage().maxRSS * 1024;
    const report: ProbeReport = {
      events,
      ms,
      rssBefore,
      rssPeak,
      maxRssAfter,
      rssByTenth,
      heapByTenth,
    };
    return report;
  } finally {
    await store.close();
  }
}

const [file, expected, mode] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (file === undefined || expected === undefined || (mode === 'gc' && !gc)) {
  console.error('usage: node [--expose-gc] memory-probe <sqlite file> <expected event count> [gc]');
  process.exitCode = 2;
} else {
  const report = await probe(file, Number(expected), mode === 'gc' ? gc : undefined);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
