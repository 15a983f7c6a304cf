/**
 * The event-store benchmark: five workloads (sequential appends, appends of 100, concurrent
 * writers, readAll, readStream) on each adapter, against the raw driver writing and reading
 * the same rows into an identical table, and against peer event stores, in the same run.
 * Optionally, the peak memory of reading a million events on SQLite.
 *
 * `npm run bench -- store [--quick] [--adapter sqlite|postgres] [--runs N] [--no-peers]
 * [--no-memory]`; PostgreSQL comes from `CAUSEWAY_PG_URL`.
 */
import { formatBars, type BarResult } from './lib/bars.js';
import { parseBenchArgs } from './lib/options.js';
import { DEFAULT_POSTGRES_URL, machineInfo, writeResults, type DocTable } from './lib/results.js';
import { formatMiB } from './lib/table.js';
import { benchEvent } from './store/event-data.js';
import { buildPlan } from './store/plan.js';
import { measureReadMemory, type ReadMemoryResult } from './store/read-memory.js';
import {
  type EngineSummary,
  formatEngine,
  formatMemory,
  storeBars,
  storeDocTable,
  storeFloors,
  summarize,
} from './store/report.js';
import { runEngine, type EngineOutcome } from './store/run-engine.js';
import { fullSizes, quickSizes } from './store/sizes.js';

const ENGINES = ['sqlite', 'postgres'] as const;

/** Runs the store benchmark with command-line arguments (after the name). */
export async function run(argv: readonly string[]): Promise<void> {
  const { quick, runs, values } = parseBenchArgs(argv, {
    adapter: { type: 'string' },
    'no-peers': { type: 'boolean', default: false },
    'no-memory': { type: 'boolean', default: false },
  });
  const engines = values.adapter === undefined ? [...ENGINES] : [values.adapter];
  for (const e of engines) {
    if (!(ENGINES as readonly string[]).includes(e))
      throw new Error(`--adapter must be one of ${ENGINES.join(', ')}, not "${e}"`);
  }
  const sizes = quick ? quickSizes : fullSizes;
  const peers = !values['no-peers'];
  const memory = engines.includes('sqlite') && !values['no-memory'];
  const postgresUrl = process.env.CAUSEWAY_PG_URL ?? DEFAULT_POSTGRES_URL;
  const progress = (line: string) => process.stderr.write(`${line}\n`);

  const machine = machineInfo();
  console.log(
    `store benchmark${quick ? ' (--quick: smaller sizes, not for quoting)' : ''} on ${machine.cpuModel}, ` +
      `${machine.cores} cores, Node ${machine.node}`,
  );
  const started = performance.now();
  const plan = buildPlan(sizes);
  const outcomes: EngineOutcome[] = [];
  for (const engine of engines as (typeof ENGINES)[number][]) {
    const outcome = await runEngine({ engine, plan, runs, peers, postgresUrl, progress });
    if (outcome.status === 'skipped') progress(`!! ${engine} SKIPPED: ${outcome.reason}`);
    outcomes.push(outcome);
  }
  let memoryResult: ReadMemoryResult | undefined;
  if (memory) {
    progress(`[memory] generating ${sizes.memoryEvents.toLocaleString('en-US')} events on SQLite`);
    memoryResult = await measureReadMemory(sizes.memoryEvents, (line) =>
      progress(`[memory] ${line}`),
    );
  }
  const seconds = (performance.now() - started) / 1000;

  console.log('');
  for (const outcome of outcomes) console.log(`${formatEngine(outcome, plan)}\n`);
  if (memoryResult) console.log(`${formatMemory(memoryResult)}\n`);

  const ran = outcomes.flatMap((o) => (o.status === 'ran' ? [o] : []));
  const summaries = ran.map((o) => summarize(o, plan));
  const bars: BarResult[] = summaries.flatMap(storeBars);
  console.log(`${formatBars(bars, runs)}\n`);

  const sample = Array.from({ length: 1000 }, (_, i) => JSON.stringify(benchEvent(i).data).length);
  const path = await writeResults('store', {
    quick,
    runs,
    bars,
    // Informational, not bars: Causeway over raw measurements that do work it cannot skip.
    floors: summaries.flatMap(storeFloors),
    docTables: [
      ...ran.map((o, i) => storeDocTable(summaries[i] as EngineSummary, o)),
      ...(memoryResult ? [memoryDocTable(memoryResult)] : []),
    ],
    options: { engines, peers, memory },
    sizes,
    eventDataBytes: sample.reduce((a, b) => a + b, 0) / sample.length,
    engines: outcomes.map((o) =>
      o.status === 'skipped'
        ? o
        : {
            engine: o.engine,
            status: o.status,
            runs: o.runs,
            stores: o.stores,
            rawDriver: o.rawDriver,
            notes: o.notes,
            unavailablePeers: o.unavailablePeers,
            summary: summaries.find((s) => s.engine === o.engine),
            perRun: o.results,
          },
    ),
    memory: memoryResult
      ? { ...memoryResult, rssGrowth: formatMiB(memoryResult.rssGrowthBytes) }
      : { skipped: memory ? 'failed' : 'not requested (--no-memory or no sqlite)' },
    durationSeconds: seconds,
  });
  console.log(`results written to ${path} (${seconds.toFixed(0)} s)`);
}

/** The bounded-memory read as a table for `docs/benchmarks.md`. */
function memoryDocTable(result: ReadMemoryResult): DocTable {
  return {
    title: `SQLite: readAll of ${result.events.toLocaleString('en-US')} events in a fresh process`,
    header: ['database', 'RSS growth', 'live heap after a full GC at each tenth', 'events/s'],
    align: ['right', 'right', 'left', 'right'],
    rows: [
      [
        formatMiB(result.databaseBytes),
        formatMiB(result.rssGrowthBytes),
        `${result.liveHeapByTenthBytes.map((b) => (b / 1024 / 1024).toFixed(0)).join(', ')} MiB`,
        Math.round(result.readEventsPerSecond).toLocaleString('en-US'),
      ],
    ],
  };
}
