import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEventStore, type EventInput } from '@causewayjs/core';
import { benchEvent } from './event-data.js';
import type { ProbeReport } from './memory-probe.js';

/** Events per append while generating. */
const GENERATE_BATCH = 1000;

/** The outcome of the bounded-memory read. */
export interface ReadMemoryResult {
  events: number;
  /** Size of the SQLite file (with its WAL): what reading it all into memory would cost. */
  databaseBytes: number;
  generateMs: number;
  readMs: number;
  readEventsPerSecond: number;
  rssBeforeBytes: number;
  rssPeakBytes: number;
  /** Peak RSS during the read minus RSS before it. */
  rssGrowthBytes: number;
  /** RSS after each tenth of the read. */
  rssByTenthBytes: number[];
  /** V8 heap in use after a full collection, after each tenth of a second read. */
  liveHeapByTenthBytes: number[];
}

/**
 * Fills a fresh SQLite store with `count` events (appends of 1,000), then reads it whole
 * with `readAll` in a child process and reports that process's peak RSS growth.
 */
export async function measureReadMemory(
  count: number,
  progress: (line: string) => void,
): Promise<ReadMemoryResult> {
  const dir = await mkdtemp(join(tmpdir(), 'causeway-bench-memory-'));
  try {
    const file = join(dir, 'events.db');
    const generateStart = performance.now();
    const store = await openEventStore(`sqlite:${file}`, { synchronous: 'FULL' });
    try {
      for (let written = 0, i = 0; written < count; i++) {
        const size = Math.min(GENERATE_BATCH, count - written);
        const events: EventInput[] = Array.from({ length: size }, (_, k) =>
          benchEvent(written + k),
        );
        await store.append(`memory-${i}`, events, { expectedRevision: 'no_stream' });
        written += size;
      }
    } finally {
      await store.close();
    }
    const generateMs = performance.now() - generateStart;
    progress(
      `generated ${count.toLocaleString('en-US')} events in ${(generateMs / 1000).toFixed(1)} s`,
    );
    const databaseBytes = await fileSize(file);
    // First as an application would run it; then with a full collection after each tenth,
    // to tell garbage V8 has not collected yet from memory the read really holds on to.
    const report = await runProbe(file, count, false);
    const collected = await runProbe(file, count, true);
    for (const r of [report, collected])
      if (r.events !== count) throw new Error(`read ${r.events} events, expected ${count}`);
    const rssPeakBytes = Math.max(report.rssPeak, report.maxRssAfter);
    return {
      events: report.events,
      databaseBytes,
      generateMs,
      readMs: report.ms,
      readEventsPerSecond: (report.events * 1000) / report.ms,
      rssBeforeBytes: report.rssBefore,
      rssPeakBytes,
      rssGrowthBytes: rssPeakBytes - report.rssBefore,
      rssByTenthBytes: report.rssByTenth,
      liveHeapByTenthBytes: collected.heapByTenth,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function fileSize(file: string): Promise<number> {
  let total = 0;
  for (const f of [file, `${file}-wal`])
    total += await stat(f).then(
      (s) => s.size,
      () => 0,
    );
  return total;
}

/** Runs the probe under the same loader as this process (tsx), and parses its report. */
function runProbe(file: string, count: number, collect: boolean): Promise<ProbeReport> {
  const script = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));
  const loader = process.execArgv.length > 0 ? process.execArgv : ['--import', 'tsx'];
  const args = collect
    ? ['--expose-gc', ...loader, script, file, String(count), 'gc']
    : [...loader, script, file, String(count)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`memory probe exited with code ${code}`));
      try {
        resolve(JSON.parse(out) as ProbeReport);
      } catch {
        reject(new Error(`memory probe printed no report: ${out.slice(0, 200)}`));
      }
    });
  });
}
