/**
 * The projections benchmark:
 *
 * - **catch-up**: an async SQL projection (an upsert of per-customer totals, one statement per
 *   batch through `applyBatch`) built from position 1 over a store of 100,000 events, on
 *   SQLite and PostgreSQL, in
 *   events per second, beside the raw driver reading the same rows (keyset pages, JSON parsed):
 *   the floor of any catch-up. Raw read and projection alternate, run after run.
 * - **live latency**: appends at a steady 1,000 events per second (ticks of 10 ms) while a
 *   live async projection follows; the time from calling `append` to the handler receiving the
 *   event, p50 and p99, on memory, SQLite and PostgreSQL. "same store": the projection reads
 *   the store it is appended to (woken in process); "other connection": a second store object
 *   on the same database, as another process would be (SQLite: polling the head every 100 ms
 *   by default; PostgreSQL: LISTEN/NOTIFY).
 *
 * `npm run bench -- projections [--adapter sqlite|postgres] [--runs N] [--events N]
 * [--latency-seconds S]`; PostgreSQL comes from `CAUSEWAY_PG_URL`. About two minutes in all.
 */
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  openPostgresBackend,
  type PostgresBackend,
  type PostgresTransaction,
  type PostgresReadModel,
} from '@causewayjs/postgres';
import {
  openSqliteBackend,
  type SqliteBackend,
  type SqliteTransaction,
  type SqliteReadModel,
} from '@causewayjs/sqlite';
import {
  MemoryEventStore,
  type EventStore,
  type RecordedEvent,
  Projector,
  defineProjection,
  memoryProjectionStore,
  type ProjectionDefinition,
  type ProjectionStore,
  type StoreTransaction,
} from '@causewayjs/core';
import { machineInfo, writeResults } from './lib/results.js';
import { formatCount, formatRatio, formatTable } from './lib/table.js';
import { median } from './lib/timing.js';
import { benchEvent } from './store/event-data.js';
import { postgresTargets, postgresUnreachable, redactUrl, sqliteTargets } from './store/targets.js';

const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
const ENGINES = ['sqlite', 'postgres'] as const;
type Engine = (typeof ENGINES)[number];
const TYPES = ['order.placed', 'order.item-added', 'order.paid', 'order.shipped'];
/** Appends per tick of the steady load, and the tick: 1,000 events per second. */
const TICK_MS = 10;
const PER_TICK = 10;
const WARM_UP_MS = 1000;
const PAGE = 8000;

interface Item {
  customerId: string;
  quantity: number;
  unitPriceCents: number;
}

/** One engine's way to open stores and read the raw rows. */
interface EngineKit<Tx extends StoreTransaction, RM> {
  open(): Promise<{ store: EventStore; projections: ProjectionStore<Tx, RM> }>;
  /** A second store object on the same database, with its projection store. */
  openOther(): Promise<{ store: EventStore; projections: ProjectionStore<Tx, RM> }>;
  /** Reads every event row with the driver alone, parsing the JSON; returns the count. */
  rawRead(): Promise<number>;
  /** The catch-up projection: per-customer totals. */
  totals(name: string): ProjectionDefinition<RM>;
  /** A projection calling `seen` with each event it is handed. */
  probe(name: string, seen: (event: RecordedEvent) => void): ProjectionDefinition<RM>;
  close(): Promise<void>;
}

interface CatchUpRun {
  rawEventsPerSecond: number;
  projectionEventsPerSecond: number;
  ratio: number;
}

interface LatencyResult {
  adapter: string;
  wiring: 'same store' | 'other connection';
  events: number;
  seconds: number;
  achievedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

async function fill(store: EventStore, events: number): Promise<void> {
  for (let n = 0; n < events; n += 1000) {
    const size = Math.min(1000, events - n);
    await store.appendMany(
      Array.from({ length: size / 10 }, (_, i) => ({
        stream: `order-${(n / 10 + i) % 5000}`,
        events: Array.from({ length: 10 }, (_, j) => benchEvent(n + i * 10 + j)),
      })),
    );
  }
}

/** Per-customer sums of a batch: an upsert may touch each row once per statement. */
function totalsOf(events: readonly RecordedEvent[]): Map<string, [items: number, cents: number]> {
  const totals = new Map<string, [number, number]>();
  for (const event of events) {
    const d = event.data as Item;
    const t = totals.get(d.customerId) ?? [0, 0];
    t[0] += d.quantity;
    t[1] += d.quantity * d.unitPriceCents;
    totals.set(d.customerId, t);
  }
  return totals;
}

function upsertTotals(rm: SqliteReadModel) {
  return rm.prepare<[string, number, number], unknown>(
    `INSERT INTO ${rm.table()} (customer, items, cents) VALUES (?, ?, ?)
       ON CONFLICT (customer) DO UPDATE SET items = items + excluded.items, cents = cents + excluded.cents`,
  );
}

async function upsertTotalsPg(
  rm: PostgresReadModel,
  totals: Map<string, [items: number, cents: number]>,
): Promise<void> {
  const customers = [...totals.keys()];
  const sums = [...totals.values()];
  await rm.client.query(
    `INSERT INTO ${rm.table()} AS t (customer, items, cents)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
     ON CONFLICT (customer) DO UPDATE SET items = t.items + EXCLUDED.items, cents = t.cents + EXCLUDED.cents`,
    [customers, sums.map((s) => s[0]), sums.map((s) => s[1])],
  );
}

function sqliteKit(file: string): EngineKit<SqliteTransaction, SqliteReadModel> {
  const opened: SqliteBackend[] = [];
  const open = async () => {
    const backend = openSqliteBackend(file);
    opened.push(backend);
    return { store: backend.store, projections: await backend.projectionStore() };
  };
  return {
    open,
    openOther: open,
    rawRead: () => {
      const db = new Database(file, { readonly: true });
      try {
        const page = db
          .prepare<[number, number], [number, string, string]>(
            'SELECT position, data, metadata FROM causeway_events WHERE position > ? ORDER BY position LIMIT ?',
          )
          .raw(true);
        let after = 0;
        let count = 0;
        for (;;) {
          const rows = page.all(after, PAGE);
          for (const row of rows) {
            JSON.parse(row[1]);
            JSON.parse(row[2]);
          }
          count += rows.length;
          const last = rows[rows.length - 1];
          if (!last) return Promise.resolve(count);
          after = last[0];
        }
      } finally {
        db.close();
      }
    },
    totals: (name) =>
      defineProjection<SqliteReadModel>({
        name,
        version: 1,
        handles: TYPES,
        setup: (rm) =>
          rm.database.exec(`CREATE TABLE ${rm.table()} (
            customer TEXT PRIMARY KEY, items INTEGER NOT NULL, cents INTEGER NOT NULL)`),
        apply: (event, rm) => {
          const d = event.data as Item;
          upsertTotals(rm).run(d.customerId, d.quantity, d.quantity * d.unitPriceCents);
        },
        // Statements run in process on SQLite: the batch form only saves the per-call overhead.
        applyBatch: (events, rm) => {
          const upsert = upsertTotals(rm);
          for (const event of events) {
            const d = event.data as Item;
            upsert.run(d.customerId, d.quantity, d.quantity * d.unitPriceCents);
          }
        },
      }),
    probe: (name, seen) =>
      defineProjection<SqliteReadModel>({
        name,
        version: 1,
        handles: TYPES,
        setup: () => undefined,
        apply: (event) => seen(event),
      }),
    close: async () => {
      for (const store of opened) await store.close();
    },
  };
}

function postgresKit(
  url: string,
  schema: string,
): EngineKit<PostgresTransaction, PostgresReadModel> {
  const opened: PostgresBackend[] = [];
  const open = async () => {
    const backend = await openPostgresBackend(url, { schema, maxConnections: 4 });
    opened.push(backend);
    return { store: backend.store, projections: await backend.projectionStore() };
  };
  const s = pg.escapeIdentifier(schema);
  return {
    open,
    openOther: open,
    rawRead: async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        let after = 0;
        let count = 0;
        for (;;) {
          // As the adapter reads them: data and metadata arrive parsed by the driver.
          const { rows } = await client.query<[string, unknown, unknown]>({
            text: `SELECT position, data, metadata FROM ${s}.causeway_events WHERE position > $1 ORDER BY position LIMIT $2`,
            values: [after, PAGE],
            rowMode: 'array',
          });
          count += rows.length;
          const last = rows[rows.length - 1];
          if (!last) return count;
          after = Number(last[0]);
        }
      } finally {
        await client.end();
      }
    },
    totals: (name) =>
      defineProjection<PostgresReadModel>({
        name,
        version: 1,
        handles: TYPES,
        setup: async (rm) => {
          await rm.client.query(`CREATE TABLE ${rm.table()} (
            customer text PRIMARY KEY, items bigint NOT NULL, cents bigint NOT NULL)`);
        },
        apply: async (event, rm) => {
          const d = event.data as Item;
          await rm.client.query(
            `INSERT INTO ${rm.table()} AS t (customer, items, cents) VALUES ($1, $2, $3)
             ON CONFLICT (customer) DO UPDATE SET items = t.items + EXCLUDED.items, cents = t.cents + EXCLUDED.cents`,
            [d.customerId, d.quantity, d.quantity * d.unitPriceCents],
          );
        },
        // One statement per batch: one round trip instead of one per event.
        applyBatch: async (events, rm) => {
          await upsertTotalsPg(rm, totalsOf(events));
        },
      }),
    probe: (name, seen) =>
      defineProjection<PostgresReadModel>({
        name,
        version: 1,
        handles: TYPES,
        setup: () => undefined,
        apply: (event) => seen(event),
      }),
    close: async () => {
      for (const store of opened) await store.close();
    },
  };
}

/** Catch-up of a fresh projection over `events` events, alternating with raw reads. */
async function catchUp<Tx extends StoreTransaction, RM>(
  kit: EngineKit<Tx, RM>,
  events: number,
  runs: number,
  progress: (line: string) => void,
): Promise<CatchUpRun[]> {
  const { store, projections } = await kit.open();
  await fill(store, events);
  const head = await store.headPosition();
  const results: CatchUpRun[] = [];
  for (let run = 1; run <= runs; run++) {
    let start = performance.now();
    const read = await kit.rawRead();
    const rawMs = performance.now() - start;
    if (read !== head) throw new Error(`raw read saw ${read} rows, not ${head}`);
    const projector = new Projector<Tx, RM>({
      store: projections,
      projections: [kit.totals(`catch-up-${run}`)],
    });
    start = performance.now();
    await projector.start();
    await projector.waitFor(`catch-up-${run}`, head, { timeoutMs: 600_000 });
    const projectionMs = performance.now() - start;
    await projector.stop();
    const result = {
      rawEventsPerSecond: (head * 1000) / rawMs,
      projectionEventsPerSecond: (head * 1000) / projectionMs,
      ratio: rawMs / projectionMs,
    };
    progress(
      `   run ${run}: raw read ${formatCount(result.rawEventsPerSecond)}/s, projection ${formatCount(result.projectionEventsPerSecond)}/s`,
    );
    results.push(result);
  }
  return results;
}

/** Appends at a steady 1,000 events/s and measures append-to-handler latency. */
async function latency<Tx extends StoreTransaction, RM>(
  adapter: string,
  wiring: LatencyResult['wiring'],
  writer: EventStore,
  reader: { projections: ProjectionStore<Tx, RM> },
  probe: (name: string, seen: (event: RecordedEvent) => void) => ProjectionDefinition<RM>,
  seconds: number,
): Promise<LatencyResult> {
  const sent: number[] = [];
  const received: number[] = [];
  const projector = new Projector<Tx, RM>({
    store: reader.projections,
    projections: [
      probe('latency', (event) => {
        const seq = (event.data as { seq: number }).seq;
        received[seq] ??= performance.now();
      }),
    ],
  });
  await projector.start();
  const total = Math.round(((WARM_UP_MS + seconds * 1000) * PER_TICK) / TICK_MS);
  const warmUp = Math.round((WARM_UP_MS * PER_TICK) / TICK_MS);
  const appends: Promise<unknown>[] = [];
  const start = performance.now();
  let seq = 0;
  while (seq < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / TICK_MS + 1) * PER_TICK));
    for (; seq < due; seq++) {
      sent[seq] = performance.now();
      appends.push(
        writer.append(`latency-${seq % 100}`, [{ type: 'order.placed', data: { seq } }]),
      );
    }
    const next = start + (seq / PER_TICK) * TICK_MS;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  const elapsed = (performance.now() - start) / 1000;
  await Promise.all(appends);
  await projector.waitFor('latency', await writer.headPosition(), { timeoutMs: 60_000 });
  await projector.stop();
  const latencies: number[] = [];
  for (let i = warmUp; i < total; i++) {
    const r = received[i];
    const s = sent[i];
    if (r === undefined || s === undefined) throw new Error(`event ${i} was never handled`);
    latencies.push(r - s);
  }
  latencies.sort((a, b) => a - b);
  return {
    adapter,
    wiring,
    events: latencies.length,
    seconds,
    achievedPerSecond: total / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? Number.NaN,
  };
}

type EngineOutcome =
  | { engine: Engine; status: 'skipped'; reason: string }
  | { engine: Engine; status: 'ok'; catchUp: CatchUpRun[]; latency: LatencyResult[] };

async function runEngine(
  engine: Engine,
  options: { runs: number; events: number; seconds: number; postgresUrl: string },
  progress: (line: string) => void,
): Promise<EngineOutcome> {
  if (engine === 'postgres') {
    const unreachable = await postgresUnreachable(options.postgresUrl);
    if (unreachable)
      return {
        engine,
        status: 'skipped',
        reason: `PostgreSQL at ${redactUrl(options.postgresUrl)} is unreachable (${unreachable})`,
      };
  }
  const targets =
    engine === 'sqlite'
      ? await sqliteTargets()
      : await postgresTargets(options.postgresUrl, 'causeway_bench_projections');
  try {
    const measured =
      engine === 'sqlite'
        ? await measureEngine(engine, options, progress, async (name) => {
            const target = await targets.forStore(name);
            if (target.kind !== 'sqlite') throw new Error('internal: not a SQLite target');
            return sqliteKit(target.file);
          })
        : await measureEngine(engine, options, progress, async (name) => {
            const target = await targets.forStore(name);
            if (target.kind !== 'postgres') throw new Error('internal: not a PostgreSQL target');
            return postgresKit(options.postgresUrl, target.schema);
          });
    return { engine, status: 'ok', ...measured };
  } finally {
    await targets.cleanup();
  }
}

async function measureEngine<Tx extends StoreTransaction, RM>(
  engine: Engine,
  options: { runs: number; events: number; seconds: number },
  progress: (line: string) => void,
  kitFor: (name: string) => Promise<EngineKit<Tx, RM>>,
): Promise<{ catchUp: CatchUpRun[]; latency: LatencyResult[] }> {
  progress(`${engine}: catch-up over ${formatCount(options.events)} events`);
  const catchKit = await kitFor('catch-up');
  let catchUpRuns: CatchUpRun[];
  try {
    catchUpRuns = await catchUp(catchKit, options.events, options.runs, progress);
  } finally {
    await catchKit.close();
  }
  const results: LatencyResult[] = [];
  for (const wiring of ['same store', 'other connection'] as const) {
    progress(`${engine}: live latency, ${wiring}, ${options.seconds} s at 1,000 events/s`);
    const kit = await kitFor(`latency ${wiring}`);
    try {
      const writer = await kit.open();
      const reader = wiring === 'same store' ? writer : await kit.openOther();
      results.push(
        await latency(
          engine,
          wiring,
          writer.store,
          reader,
          (name, seen) => kit.probe(name, seen),
          options.seconds,
        ),
      );
    } finally {
      await kit.close();
    }
  }
  return { catchUp: catchUpRuns, latency: results };
}

async function memoryLatency(seconds: number): Promise<LatencyResult> {
  const store = new MemoryEventStore();
  try {
    return await latency(
      'memory',
      'same store',
      store,
      { projections: memoryProjectionStore(store) },
      (name, seen) =>
        defineProjection({
          name,
          version: 1,
          handles: TYPES,
          setup: () => undefined,
          apply: (event) => seen(event),
        }),
      seconds,
    );
  } finally {
    await store.close();
  }
}

function formatMs(ms: number): string {
  return Number.isFinite(ms) ? (ms >= 10 ? ms.toFixed(0) : ms.toFixed(2)) : '-';
}

export async function run(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      adapter: { type: 'string' },
      runs: { type: 'string', default: '3' },
      events: { type: 'string', default: '100000' },
      'latency-seconds': { type: 'string', default: '8' },
    },
    strict: true,
  });
  const engines = values.adapter === undefined ? [...ENGINES] : [values.adapter];
  for (const e of engines) {
    if (!(ENGINES as readonly string[]).includes(e))
      throw new Error(`--adapter must be one of ${ENGINES.join(', ')}, not "${e}"`);
  }
  const runs = Number(values.runs);
  const events = Number(values.events);
  const seconds = Number(values['latency-seconds']);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error('--runs must be an integer >= 1');
  if (!Number.isSafeInteger(events) || events < 1000 || events % 1000 !== 0)
    throw new Error('--events must be a multiple of 1,000');
  if (!Number.isSafeInteger(seconds) || seconds < 1)
    throw new Error('--latency-seconds must be an integer >= 1');
  const postgresUrl = process.env.CAUSEWAY_PG_URL ?? DEFAULT_POSTGRES_URL;
  const progress = (line: string) => process.stderr.write(`${line}\n`);

  const machine = machineInfo();
  console.log(
    `projections benchmark on ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; ` +
      `catch-up over ${formatCount(events)} events, ${runs} run${runs === 1 ? '' : 's'}; ` +
      `latency at 1,000 events/s for ${seconds} s`,
  );
  const started = performance.now();
  const outcomes: EngineOutcome[] = [];
  for (const engine of engines as Engine[]) {
    const outcome = await runEngine(engine, { runs, events, seconds, postgresUrl }, progress);
    if (outcome.status === 'skipped') progress(`!! ${engine} SKIPPED: ${outcome.reason}`);
    outcomes.push(outcome);
  }
  progress(`memory: live latency, same store, ${seconds} s at 1,000 events/s`);
  const memory = await memoryLatency(seconds);
  const elapsed = (performance.now() - started) / 1000;

  const ok = outcomes.filter((o) => o.status === 'ok');
  const catchUpTable = formatTable(
    [
      { header: 'adapter' },
      { header: 'raw read (events/s)', align: 'right' },
      { header: 'projection catch-up (events/s)', align: 'right' },
      { header: 'catch-up / raw', align: 'right' },
    ],
    ok.map((o) => [
      o.engine,
      formatCount(median(o.catchUp.map((r) => r.rawEventsPerSecond))),
      formatCount(median(o.catchUp.map((r) => r.projectionEventsPerSecond))),
      formatRatio(median(o.catchUp.map((r) => r.ratio))),
    ]),
  );
  const latencies = [memory, ...ok.flatMap((o) => o.latency)];
  const latencyTable = formatTable(
    [
      { header: 'adapter' },
      { header: 'projection reads' },
      { header: 'events', align: 'right' },
      { header: 'rate (/s)', align: 'right' },
      { header: 'p50 (ms)', align: 'right' },
      { header: 'p99 (ms)', align: 'right' },
      { header: 'max (ms)', align: 'right' },
    ],
    latencies.map((l) => [
      l.adapter,
      l.wiring,
      formatCount(l.events),
      formatCount(l.achievedPerSecond),
      formatMs(l.p50Ms),
      formatMs(l.p99Ms),
      formatMs(l.maxMs),
    ]),
  );
  console.log(
    `\ncatch-up of an async SQL projection (medians of ${runs} runs)\n${catchUpTable}\n` +
      `\nappend-to-handler latency of a live async projection\n${latencyTable}\n`,
  );
  const path = await writeResults('projections', {
    options: { runs, events, latencySeconds: seconds, engines, batchSize: 100 },
    catchUp: outcomes.map((o) =>
      o.status === 'skipped'
        ? o
        : {
            engine: o.engine,
            status: o.status,
            median: {
              rawEventsPerSecond: median(o.catchUp.map((r) => r.rawEventsPerSecond)),
              projectionEventsPerSecond: median(o.catchUp.map((r) => r.projectionEventsPerSecond)),
              ratio: median(o.catchUp.map((r) => r.ratio)),
            },
            runs: o.catchUp,
          },
    ),
    latency: latencies,
    durationSeconds: elapsed,
  });
  console.log(`results written to ${path} (${elapsed.toFixed(0)} s)`);
}
