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
 *
 * Two floors are measured in the same runs, on the same store, with the same client: the
 * least any Node.js HTTP server must do for such an append (`node:http`: parse the request,
 * `JSON.parse` the body, `store.append`, write the JSON result) and a bare Fastify route doing
 * the same (the framework the server is built on, with none of the server's validation,
 * access checks, metrics or tracing). They show how much of the gap to in process is the
 * HTTP stack and the client sharing the machine, which no server code can remove, and how
 * much is the server's own.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { PostgresEventStore } from '@causewayjs/postgres';
import { SqliteEventStore } from '@causewayjs/sqlite';
import type { EventInput, TransactionalEventStore } from '@causewayjs/core';
import { createServer } from '@causewayjs/server';
import { barResult, formatBars } from './lib/bars.js';
import { parseBenchArgs } from './lib/options.js';
import { writeResults } from './lib/results.js';
import { formatCount, formatDocTable, formatRatio } from './lib/table.js';
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

/** The ways the same appends are made: in process, through the server, and the two floors. */
const WAYS = ['inProcess', 'http', 'nodeHttp', 'fastify'] as const;
type Way = (typeof WAYS)[number];
const WAY_LABELS: Record<Way, string> = {
  inProcess: 'in process',
  http: 'HTTP (Causeway server)',
  nodeHttp: 'HTTP floor: node:http',
  fastify: 'HTTP floor: bare Fastify route',
};
type RunResult = Record<Way, Measurement>;

interface EngineResult {
  engine: Engine;
  runs: RunResult[];
  median: RunResult & {
    /** The bar's ratio: the server over in process (median of each run's own). */
    ratio: number;
    /** The node:http floor over in process: the most any server reached on this machine. */
    floorRatio: number;
    /** The server over the node:http floor: the share of the floor the server keeps. */
    vsFloor: number;
  };
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
    const ratioOf = (way: Way, base: Way) =>
      median(perRun.map((p) => p[way].appendsPerSecond / p[base].appendsPerSecond));
    results.push({
      engine,
      runs: perRun,
      median: {
        ...(Object.fromEntries(
          WAYS.map((way) => [way, medianOf(perRun.map((p) => p[way]))]),
        ) as RunResult),
        ratio: ratioOf('http', 'inProcess'),
        floorRatio: ratioOf('nodeHttp', 'inProcess'),
        vsFloor: ratioOf('http', 'nodeHttp'),
      },
    });
  }

  const header = ['store', 'appends via', 'appends/s', 'p99 ms', 'vs in process', 'vs node:http'];
  const rows = results.flatMap((r) =>
    WAYS.map((way) => [
      r.engine,
      WAY_LABELS[way],
      formatCount(r.median[way].appendsPerSecond),
      r.median[way].p99Ms.toFixed(1),
      formatRatio(
        median(r.runs.map((p) => p[way].appendsPerSecond / p.inProcess.appendsPerSecond)),
      ),
      way === 'inProcess'
        ? ''
        : formatRatio(
            median(r.runs.map((p) => p[way].appendsPerSecond / p.nodeHttp.appendsPerSecond)),
          ),
    ]),
  );
  const align = header.map((_, i): 'left' | 'right' => (i >= 2 ? 'right' : 'left'));
  console.log('\n' + formatDocTable({ header, align, rows }));
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
      `the node:http floor reached ${formatRatio(r.median.floorRatio)} of in process in the same runs; the server ${formatRatio(r.median.vsFloor)} of that floor`,
    ),
  );
  console.log(`\n${formatBars(bars, runs)}`);
  const file = await writeResults('http', {
    quick,
    runs,
    bars,
    docTables: [
      {
        title: `Single-event appends by ${connections} concurrent clients, each way on the same store in the same runs (medians of ${runs} runs of ${seconds} s; ratios are medians of each run's own)`,
        header,
        align,
        rows,
      },
    ],
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
): Promise<RunResult> {
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
      const measure: Record<Way, () => Promise<Measurement>> = {
        inProcess: () => inProcessAppends(store, seconds, connections),
        http: () => httpAppends(store, seconds, connections),
        nodeHttp: () => floorAppends('nodeHttp', store, seconds, connections),
        fastify: () => floorAppends('fastify', store, seconds, connections),
      };
      // Reverse the order between runs, so no way always meets a warmer (or fuller) store.
      const order = runIndex % 2 === 0 ? WAYS : [...WAYS].reverse();
      const result: Partial<RunResult> = {};
      for (const way of order) result[way] = await measure[way]();
      return result as RunResult;
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
    return await load(url, seconds, connections);
  } finally {
    await server.close();
  }
}

/**
 * The same appends through a floor: a `node:http` server doing only what any server must
 * (route by path, `JSON.parse` the body, append, write the JSON result), or a bare Fastify
 * route doing the same; neither validates, checks access, measures or traces anything.
 */
async function floorAppends(
  floor: 'nodeHttp' | 'fastify',
  store: TransactionalEventStore,
  seconds: number,
  connections: number,
): Promise<Measurement> {
  const prefix = '/streams/';
  if (floor === 'fastify') {
    const app = Fastify({ logger: false });
    app.post<{ Params: { stream: string }; Body: { events: EventInput[] } }>(
      `${prefix}:stream`,
      async (request, reply) => {
        const result = await store.append(request.params.stream, request.body.events);
        void reply.code(201);
        return result;
      },
    );
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      return await load(
        `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
        seconds,
        connections,
      );
    } finally {
      await app.close();
    }
  }
  const server: Server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answer = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      const url = request.url ?? '';
      if (request.method !== 'POST' || !url.startsWith(prefix)) return answer(404, {});
      let body: { events: EventInput[] };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events: EventInput[] };
      } catch {
        return answer(400, {});
      }
      store.append(decodeURIComponent(url.slice(prefix.length)), body.events).then(
        (result) => answer(201, result),
        (error: unknown) => answer(500, { error: String(error) }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await load(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      seconds,
      connections,
    );
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** autocannon against `url` for `seconds`: `connections` clients posting one event each. */
export async function load(
  url: string,
  seconds: number,
  connections: number,
): Promise<Measurement> {
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
