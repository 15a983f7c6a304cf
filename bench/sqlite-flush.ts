/**
 * The sqlite-flush benchmark: what flushing commits in the background
 * (`backgroundFlush: true`, the default at `synchronous: 'FULL'`) gives against the flush
 * inside each commit (`backgroundFlush: false`, SQLite's own `FULL`), on the same machine in
 * the same run. Either way an append or transaction resolves only once its commit is on disk
 * (in the background, others can read it before).
 *
 * - **64 writers**: 64 concurrent callers appending single events, each to its own streams:
 *   appends/s, and how late a 1 ms interval timer of the same process runs (the event loop's
 *   delay, p99 and max), which is what HTTP requests, subscriptions and sagas beside the
 *   appends wait; measured for every workload.
 * - **16 transactions**: 16 concurrent callers each running `store.transaction` with one
 *   append in it (a command handler's shape): transactions/s.
 * - **1 writer**: one caller appending single events one after the other: appends/s (each
 *   waits for its own flush either way; in the background it costs a thread-pool hop).
 * - **64 HTTP clients**: the server's `POST /streams/:stream` with 64 autocannon connections
 *   (in a worker thread), one event each: group commit gathers the requests into batches of
 *   several appends, which are flushed in the background while the next requests are read.
 *
 * `npm run bench -- sqlite-flush [--quick] [--runs N] [--seconds S]`. The two ways take turns
 * within each run, the first alternating from run to run; the table shows medians of the
 * runs and the ratio is the median of each run's own ratio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@causewayjs/sqlite';
import { createServer } from '@causewayjs/server';
import { load } from './http.js';
import { parseBenchArgs } from './lib/options.js';
import { writeResults } from './lib/results.js';
import { formatCount, formatDocTable, formatRatio } from './lib/table.js';
import { median } from './lib/timing.js';
import { benchEvent } from './store/event-data.js';

const MODES = ['inside the commit', 'in the background'] as const;
type Mode = (typeof MODES)[number];
const WORKLOADS = ['64 writers', '16 transactions', '1 writer', '64 HTTP clients'] as const;
type Workload = (typeof WORKLOADS)[number];
const CONCURRENCY: Record<Workload, number> = {
  '64 writers': 64,
  '16 transactions': 16,
  '1 writer': 1,
  '64 HTTP clients': 64,
};

interface Measurement {
  run: number;
  workload: Workload;
  mode: Mode;
  /** Appends (or transactions) per second. */
  rate: number;
  /** How late a 1 ms timer ran, in ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export async function run(argv: readonly string[]): Promise<void> {
  const { quick, runs, values } = parseBenchArgs(argv, { seconds: { type: 'string' } });
  const seconds = Number(values.seconds ?? (quick ? 1 : 5));
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error('--seconds must be > 0');
  const measurements: Measurement[] = [];
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? MODES : [...MODES].reverse();
    for (const workload of WORKLOADS) {
      for (const mode of order) {
        console.log(`run ${r + 1}/${runs}: ${workload}, flush ${mode} (${seconds} s)`);
        measurements.push({ run: r, workload, mode, ...(await measure(workload, mode, seconds)) });
      }
    }
  }

  const rows: string[][] = [];
  for (const workload of WORKLOADS) {
    const of = (mode: Mode) =>
      measurements.filter((m) => m.workload === workload && m.mode === mode);
    const ratios = Array.from({ length: runs }, (_, r) => {
      const [inside] = of('inside the commit').filter((m) => m.run === r);
      const [background] = of('in the background').filter((m) => m.run === r);
      return inside && background ? background.rate / inside.rate : Number.NaN;
    });
    for (const mode of MODES) {
      const ms = of(mode);
      rows.push([
        workload,
        mode,
        formatCount(median(ms.map((m) => m.rate))),
        median(ms.map((m) => m.loopDelayP99Ms)).toFixed(1),
        median(ms.map((m) => m.loopDelayMaxMs)).toFixed(1),
        mode === 'inside the commit'
          ? '1.00x'
          : `${formatRatio(median(ratios))} (${ratios.map(formatRatio).join(', ')})`,
      ]);
    }
  }
  const header = [
    'workload',
    'flush',
    'per second',
    'loop delay p99 ms',
    'loop delay max ms',
    'vs inside the commit',
  ];
  const align = header.map((_, i): 'left' | 'right' => (i >= 2 ? 'right' : 'left'));
  console.log('\n' + formatDocTable({ header, align, rows }));
  const file = await writeResults('sqlite-flush', {
    quick,
    runs,
    bars: [],
    docTables: [
      {
        title: `SQLite at \`synchronous: 'FULL'\`, flush inside each commit vs in the background (medians of ${runs} runs of ${seconds} s; the ratio is the median of each run's own, runs in brackets)`,
        header,
        align,
        rows,
      },
    ],
    settings: { seconds },
    measurements,
  });
  console.log(`\nmedians of ${runs} runs; written to ${file}`);
}

/** One workload on a fresh store, for `seconds`. */
async function measure(
  workload: Workload,
  mode: Mode,
  seconds: number,
): Promise<Omit<Measurement, 'run' | 'workload' | 'mode'>> {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-bench-flush-'));
  const store = SqliteEventStore.open(join(dir, 'events.db'), {
    synchronous: 'FULL',
    backgroundFlush: mode === 'in the background',
  });
  try {
    if (workload === '64 HTTP clients') {
      const server = await createServer({ store, adminUi: false, statsSampleMs: 0 });
      const { url } = await server.listen({ host: '127.0.0.1', port: 0 });
      try {
        const probe = loopProbe();
        const { appendsPerSecond } = await load(url, seconds, CONCURRENCY[workload]);
        const lateness = probe.stop();
        return {
          rate: appendsPerSecond,
          loopDelayP99Ms: percentile(lateness, 0.99),
          loopDelayMaxMs: Math.max(0, ...lateness),
        };
      } finally {
        await server.close();
      }
    }
    const probe = loopProbe();
    let done = 0;
    const deadline = performance.now() + seconds * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY[workload] }, async (_, caller) => {
        for (let n = 0; performance.now() < deadline; n++) {
          const stream = `${caller}-${n}`;
          const event = benchEvent(caller * 1_000_000 + n);
          if (workload === '16 transactions')
            await store.transaction((tx) => tx.append(stream, [event]));
          else await store.append(stream, [event]);
          done++;
        }
      }),
    );
    const lateness = probe.stop();
    const elapsed = (performance.now() - started) / 1000;
    return {
      rate: done / elapsed,
      loopDelayP99Ms: percentile(lateness, 0.99),
      loopDelayMaxMs: Math.max(0, ...lateness),
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A 1 ms interval timer that records how late each of its runs comes, in ms: what any
 * callback of the process (a request, a subscription) waits at that moment. Stopping it
 * counts the stretch since its last run too, so a loop that never got back to its timers is
 * seen.
 */
function loopProbe(): { stop: () => number[] } {
  const lateness: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lateness.push(Math.max(0, now - last - 1));
    last = now;
  }, 1);
  return {
    stop: () => {
      clearInterval(timer);
      lateness.push(Math.max(0, performance.now() - last - 1));
      return lateness;
    },
  };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}
