/**
 * The sqlite-live benchmark: how soon a SQLite store learns of events that **another
 * process** commits to its file, and what watching costs while nothing happens.
 *
 * - **latency**: a writer process appends single events at a steady 1,000 per second (ticks
 *   of 10 ms) for `--seconds` (after a 0.5 s warm-up); in this process a store on the same
 *   file watches (`store.watch`) and reads what is new (`readAll` from the next position)
 *   each time it is woken. Latency: from just before the writer called `append` to the
 *   reader holding the decoded event, wall clock, p50 and p99. Two ways of being woken, in
 *   turns within each run: `file watch` (the default: `-wal` file watch plus
 *   `PRAGMA data_version` checks) and `poll 100 ms` (`watchFile: false`, the poll alone at
 *   the interval the store polled at before), the baseline.
 * - **idle CPU**: this process's CPU time (user + system) over `--idle-seconds` while the
 *   store is watched and nothing is written, beside the same span with nobody watching, in
 *   turns; the difference is the watcher's cost, in percent of one core.
 *
 * `npm run bench -- sqlite-live [--quick] [--runs N] [--seconds S] [--idle-seconds S]`
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteEventStore, type SqliteEventStoreOptions } from '@causewayjs/sqlite';
import { barResult, formatBars } from './lib/bars.js';
import { parseBenchArgs } from './lib/options.js';
import { machineInfo, writeResults } from './lib/results.js';
import { formatTable } from './lib/table.js';
import { median } from './lib/timing.js';

const WARM_UP_SECONDS = 0.5;
const MODES = {
  'file watch': {},
  'poll 100 ms': { watchFile: false, pollIntervalMs: 100 },
} satisfies Record<string, SqliteEventStoreOptions>;
type Mode = keyof typeof MODES;

interface LatencyRun {
  run: number;
  mode: Mode;
  events: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The writer's appends alone, call to acknowledgement (commit and fsync): the floor. */
  appendP50Ms: number;
  appendP99Ms: number;
  /** Wake-ups the reader got (each followed by one or more reads). */
  wakes: number;
}

interface IdleRun {
  run: number;
  seconds: number;
  /** CPU of this process, percent of one core, while watched (file watch) and not. */
  watchedPercent: number;
  unwatchedPercent: number;
  /** `PRAGMA data_version` checks during the watched span. */
  checks: number;
}

/** The writer process, driven over its stdin. */
class Writer {
  private out = '';
  private err = '';
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(file: string) {
    const script = fileURLToPath(new URL('./sqlite-live-writer.ts', import.meta.url));
    this.child = spawn(process.execPath, ['--import', 'tsx', script, file]);
    this.child.stdout.on('data', (d: Buffer) => (this.out += d.toString()));
    this.child.stderr.on('data', (d: Buffer) => (this.err += d.toString()));
  }

  /** Resolves once the writer printed `line` (after everything it printed before). */
  async waitFor(prefix: string, timeoutMs: number): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const lines = this.out.split('\n');
      const index = lines.findIndex((l) => l.startsWith(prefix));
      if (index >= 0) {
        this.out = lines.slice(index + 1).join('\n');
        return lines[index] as string;
      }
      if (this.child.exitCode !== null || performance.now() > deadline)
        throw new Error(`writer: no "${prefix}" line (stderr: ${this.err.trim()})`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  stop(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

/** One latency measurement: a fresh reader in `mode` follows one burst of the writer. */
async function latency(
  where: { run: number; mode: Mode; file: string; writer: Writer },
  seconds: number,
): Promise<LatencyRun> {
  const { run, mode, file, writer } = where;
  const tag = `${run}-${mode.replaceAll(' ', '-')}`;
  const reader = SqliteEventStore.open(file, MODES[mode]);
  const latencies: number[] = [];
  let next = (await reader.headPosition()) + 1;
  let wakes = 0;
  let reading = false;
  let again = false;
  const read = async () => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    do {
      again = false;
      for await (const event of reader.readAll({ from: next })) {
        const data = event.data as { tag: string; sentAt: number };
        if (data.tag === tag)
          latencies.push(performance.timeOrigin + performance.now() - data.sentAt);
        next = event.position + 1;
      }
    } while (again);
    reading = false;
  };
  const stop = reader.watch(() => {
    wakes += 1;
    void read();
  });
  try {
    const total = Math.round((seconds + WARM_UP_SECONDS) * 1000);
    writer.send(`go ${seconds + WARM_UP_SECONDS} ${tag}`);
    const [, , ackP50, ackP99] = (await writer.waitFor('done', (seconds + 60) * 1000)).split(' ');
    const deadline = performance.now() + 30_000;
    while (latencies.length < total) {
      if (performance.now() > deadline)
        throw new Error(`${mode}: ${latencies.length} of ${total} events read`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // The warm-up's events (the first ones sent) are left out.
    const measured = latencies.slice(Math.round(WARM_UP_SECONDS * 1000)).sort((a, b) => a - b);
    return {
      run,
      mode,
      events: measured.length,
      p50Ms: percentile(measured, 50),
      p99Ms: percentile(measured, 99),
      maxMs: measured[measured.length - 1] ?? Number.NaN,
      appendP50Ms: Number(ackP50),
      appendP99Ms: Number(ackP99),
      wakes,
    };
  } finally {
    stop();
    await reader.close();
  }
}

/** CPU of this process over `seconds`, in percent of one core. */
async function cpuPercent(seconds: number): Promise<number> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const used = process.cpuUsage(cpu);
  return ((used.user + used.system) / 1000 / (performance.now() - start)) * 100;
}

async function idle(run: number, file: string, seconds: number): Promise<IdleRun> {
  const reader = SqliteEventStore.open(file);
  try {
    const unwatchedPercent = await cpuPercent(seconds);
    const stop = reader.watch(() => undefined);
    const before = reader.watchStats.checks;
    const watchedPercent = await cpuPercent(seconds);
    const checks = reader.watchStats.checks - before;
    stop();
    return { run, seconds, watchedPercent, unwatchedPercent, checks };
  } finally {
    await reader.close();
  }
}

export async function run(argv: readonly string[]): Promise<void> {
  const { quick, runs, values } = parseBenchArgs(argv, {
    seconds: { type: 'string' },
    'idle-seconds': { type: 'string' },
  });
  const seconds = Number(values.seconds ?? (quick ? '2' : '8'));
  const idleSeconds = Number(values['idle-seconds'] ?? (quick ? '2' : '5'));
  if (!(seconds >= 1) || !(idleSeconds >= 1))
    throw new Error('--seconds and --idle-seconds must be at least 1');
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const machine = machineInfo();
  console.log(
    `sqlite-live benchmark${quick ? ' (quick)' : ''} on ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; ` +
      `${runs} runs; another process appends 1,000 events/s for ${seconds} s per measurement`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'causeway-bench-live-'));
  const file = join(dir, 'events.db');
  SqliteEventStore.open(file).database.close();
  const writer = new Writer(file);
  const latencyRuns: LatencyRun[] = [];
  const idleRuns: IdleRun[] = [];
  try {
    await writer.waitFor('ready', 120_000);
    for (let r = 1; r <= runs; r++) {
      // The baseline goes first in odd runs and last in even ones.
      const modes = Object.keys(MODES) as Mode[];
      for (const mode of r % 2 === 1 ? modes : [...modes].reverse()) {
        const result = await latency({ run: r, mode, file, writer }, seconds);
        progress(
          `[run ${r}/${runs}] ${mode}: p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, max ${result.maxMs.toFixed(1)} ms, ${result.wakes} wakes; the appends alone: p50 ${result.appendP50Ms.toFixed(2)} ms, p99 ${result.appendP99Ms.toFixed(2)} ms`,
        );
        latencyRuns.push(result);
      }
      const idleRun = await idle(r, file, idleSeconds);
      progress(
        `[run ${r}/${runs}] idle: watched ${idleRun.watchedPercent.toFixed(2)}% of a core, unwatched ${idleRun.unwatchedPercent.toFixed(2)}%, ${idleRun.checks} checks`,
      );
      idleRuns.push(idleRun);
    }
  } finally {
    writer.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const of = (mode: Mode, key: 'p50Ms' | 'p99Ms' | 'maxMs' | 'appendP50Ms' | 'appendP99Ms') =>
    latencyRuns.filter((r) => r.mode === mode).map((r) => r[key]);
  const table = formatTable(
    [
      { header: 'woken by' },
      { header: 'p50 (ms)', align: 'right' },
      { header: 'p99 (ms)', align: 'right' },
      { header: 'max (ms)', align: 'right' },
      { header: 'append alone p50 / p99 (ms)', align: 'right' },
    ],
    (Object.keys(MODES) as Mode[]).map((mode) => [
      mode,
      median(of(mode, 'p50Ms')).toFixed(2),
      median(of(mode, 'p99Ms')).toFixed(2),
      Math.max(...of(mode, 'maxMs')).toFixed(1),
      `${median(of(mode, 'appendP50Ms')).toFixed(2)} / ${median(of(mode, 'appendP99Ms')).toFixed(2)}`,
    ]),
  );
  const idleDelta = idleRuns.map((r) => r.watchedPercent - r.unwatchedPercent);
  const bars = [
    barResult(
      {
        id: 'sqlite.live-other-process-p50',
        label: 'append in another process to reader, p50, at 1,000 events/s',
        adapter: 'sqlite',
        bar: 5,
        comparator: '<=',
        unit: 'ms',
      },
      of('file watch', 'p50Ms'),
    ),
    barResult(
      {
        id: 'sqlite.live-other-process-p99',
        label: 'append in another process to reader, p99, at 1,000 events/s',
        adapter: 'sqlite',
        bar: 20,
        comparator: '<=',
        unit: 'ms',
      },
      of('file watch', 'p99Ms'),
    ),
  ];
  console.log(
    `\nappend (other process) to reader holding the event, medians of ${runs} runs (max of all)\n${table}\n` +
      `idle: a watched store costs ${median(idleDelta).toFixed(2)}% of a core more than an unwatched one ` +
      `(median of ${runs}; ${median(idleRuns.map((r) => r.checks / r.seconds)).toFixed(0)} data_version checks/s)\n\n` +
      `${formatBars(bars, runs)}\n` +
      'note: wall-clock times across two processes on one machine; the result file records the load averages at start and end',
  );
  const written = await writeResults('sqlite-live', {
    quick,
    runs,
    bars,
    seconds,
    idleSeconds,
    latency: latencyRuns,
    idle: idleRuns,
  });
  console.log(`results written to ${written}`);
}
