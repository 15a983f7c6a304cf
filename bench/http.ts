/**
 * The HTTP benchmark: appends over HTTP (`POST /streams/:stream`, one event each) by 64
 * concurrent connections with autocannon, beside the same appends made in process on the
 * same store by 64 concurrent callers, measured in the same run. The ratio is what the HTTP
 * layer (parsing, validation, routing, JSON, the socket) costs on top of the store.
 *
 * `npm run bench -- http [--adapter sqlite|postgres|all] [--seconds S] [--runs N]
 * [--connections C] [--quick]`; PostgreSQL comes from `CAUSEWAY_PG_URL`. Each run uses a
 * fresh store, and the two ways take turns first from run to run; the table shows medians of
 * the runs, and the bar (issue 15: HTTP at >= 0.5x of in process, per engine) is the median
 * of each run's own ratio. autocannon (keep-alive connections, one request in flight on
 * each) runs in a worker thread of this process, sharing the cores with the server, as a
 * client on the same machine would.
 */
import autocannon from 'autocannon';
import { PostgresEventStore } from '@causewayjs/postgres';
import { SqliteEventStore } from '@causewayjs/sqlite';
import type { TransactionalEventStore } from '@causewayjs/core';
import { createServer } from '@causewayjs/server';
import { barResult, formatBars } from './lib/bars.js';
import { parseBenchArgs } from './lib/options.js';
import { writeResults } from './lib/results.js';
import { formatCount, formatRatio, formatTable } from './lib/table.js';
import { median } from './lib/timing.js';
import { benchEvent } from './store/event-data.js';
import { postgresTargets, postgresUnreachable, redactUrl, sqliteTargets } from './store/targets.js';

const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
const ENGINES = ['sqlite', 'postgres'] as const;
type Engine = (typeof ENGINES)[number];

/** One measurement: appends per second and the 99th percentile of latency. */
interface Measurement {
  appendsPerSecond: number;
  p99Ms: number;
  errors: number;
}

interface EngineResult {
  engine: Engine;
  runs: { inProcess: Measurement; http: Measurement }[];
  median: { inProcess: Measurement; http: Measurement; ratio: number };
}

export async function run(argv: readonly string[]): Promise<void> {
  const { quick, runs, values } = parseBenchArgs(argv, {
    adapter: { type: 'string', default: 'all' },
    seconds: { type: 'string' },
    connections: { type: 'string', default: '64' },
  });
  const engines: Engine[] =
    values.adapter === 'all' ? [...ENGINES] : ENGINES.filter((e) => e === values.adapter);
  if (engines.length === 0) throw new Error(`--adapter must be sqlite, postgres or all`);
  const seconds = Number(values.seconds ?? (quick ? 3 : 10));
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error('--seconds must be > 0');
  const connections = Number(values.connections);
  if (!Number.isSafeInteger(connections) || connections < 1)
    throw new Error('--connections must be an integer >= 1');
  const skipped: string[] = [];
  const pgUrl = process.env.CAUSEWAY_PG_URL ?? DEFAULT_POSTGRES_URL;

  const results: EngineResult[] = [];
  for (const engine of engines) {
    if (engine === 'postgres') {
      const reason = await postgresUnreachable(pgUrl);
      if (reason !== undefined) {
        console.log(`skipping postgres: ${redactUrl(pgUrl)} is unreachable (${reason})`);
        skipped.push(`postgres: ${redactUrl(pgUrl)} is unreachable (${reason})`);
        continue;
      }
    }
    const perRun: EngineResult['runs'] = [];
    for (let r = 0; r < runs; r++) {
      console.log(`${engine}: run ${r + 1}/${runs} (${seconds} s each, ${connections} clients)`);
      perRun.push(await oneRun(engine, pgUrl, seconds, connections, r));
    }
    const inProcess = medianOf(perRun.map((p) => p.inProcess));
    const http = medianOf(perRun.map((p) => p.http));
    results.push({
      engine,
      runs: perRun,
      median: { inProcess, http, ratio: http.appendsPerSecond / inProcess.appendsPerSecond },
    });
  }

  const rows = results.flatMap((r) => [
    [
      r.engine,
      'in process',
      formatCount(r.median.inProcess.appendsPerSecond),
      r.median.inProcess.p99Ms.toFixed(1),
      '1.00x',
    ],
    [
      r.engine,
      'HTTP',
      formatCount(r.median.http.appendsPerSecond),
      r.median.http.p99Ms.toFixed(1),
      formatRatio(r.median.ratio),
    ],
  ]);
  console.log(
    '\n' +
      formatTable(
        [
          { header: 'store' },
          { header: 'appends via' },
          { header: 'appends/s', align: 'right' },
          { header: 'p99 ms', align: 'right' },
          { header: 'vs in process', align: 'right' },
        ],
        rows,
      ),
  );
  const bars = results.map((r) =>
    barResult(
      {
        id: `${r.engine}.http-vs-in-process`,
        label: `appends over HTTP (${connections} clients) vs the same appends in process`,
        adapter: r.engine,
        bar: 0.5,
        comparator: '>=',
        unit: 'x',
      },
      r.runs.map((run) => run.http.appendsPerSecond / run.inProcess.appendsPerSecond),
    ),
  );
  console.log(`\n${formatBars(bars, runs)}`);
  const file = await writeResults('http', {
    quick,
    runs,
    bars,
    settings: { seconds, runs, connections, eventsPerAppend: 1 },
    results,
    skipped,
  });
  console.log(`\nmedians of ${runs} runs; written to ${file}`);
}

async function oneRun(
  engine: Engine,
  pgUrl: string,
  seconds: number,
  connections: number,
  runIndex: number,
): Promise<{ inProcess: Measurement; http: Measurement }> {
  const targets =
    engine === 'sqlite'
      ? await sqliteTargets()
      : await postgresTargets(pgUrl, `causeway_bench_http_${runIndex}`);
  try {
    const target = await targets.forStore('http');
    const store: TransactionalEventStore =
      target.kind === 'sqlite'
        ? SqliteEventStore.open(target.file)
        : await PostgresEventStore.open(target.url, { schema: target.schema });
    try {
      // Alternate which goes first between runs, so neither always meets a warmer store.
      if (runIndex % 2 === 0) {
        const inProcess = await inProcessAppends(store, seconds, connections);
        const http = await httpAppends(store, seconds, connections);
        return { inProcess, http };
      }
      const http = await httpAppends(store, seconds, connections);
      const inProcess = await inProcessAppends(store, seconds, connections);
      return { inProcess, http };
    } finally {
      await store.close();
    }
  } finally {
    await targets.cleanup();
  }
}

/** `connections` callers appending one event at a time, each to a new stream, for `seconds`. */
async function inProcessAppends(
  store: TransactionalEventStore,
  seconds: number,
  connections: number,
): Promise<Measurement> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async (_, client) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const begin = performance.now();
        try {
          await store.append(`inproc-${client}-${n}`, [benchEvent(n)]);
          latencies.push(performance.now() - begin);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    appendsPerSecond: latencies.length / elapsed,
    p99Ms: percentile(latencies, 0.99),
    errors,
  };
}

/** autocannon with `connections` connections posting one event each, each to a new stream. */
async function httpAppends(
  store: TransactionalEventStore,
  seconds: number,
  connections: number,
): Promise<Measurement> {
  const server = await createServer({ store, adminUi: false, statsSampleMs: 0 });
  const { url } = await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    const result = await autocannon({
      url,
      connections,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          path: '/streams/http-[<id>]',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ events: [benchEvent(1)] }),
        },
      ],
      idReplacement: true,
      // The client in a thread of its own, so it does not share the server's event loop.
      workers: 1,
    });
    const ok = result['2xx'];
    return {
      appendsPerSecond: ok / (result.duration || seconds),
      p99Ms: result.latency.p99,
      errors: result.errors + result.non2xx,
    };
  } finally {
    await server.close();
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function medianOf(measurements: readonly Measurement[]): Measurement {
  return {
    appendsPerSecond: median(measurements.map((m) => m.appendsPerSecond)),
    p99Ms: median(measurements.map((m) => m.p99Ms)),
    errors: measurements.reduce((n, m) => n + m.errors, 0),
  };
}
