/**
 * The projections benchmark:
 *
 * - **catch-up**: async projections built from position 1 over a store of 100,000 events, on
 *   SQLite and PostgreSQL, in events per second, each beside a raw pipeline that does the same
 *   work with the driver alone: the same reads (keyset pages of every column an event
 *   carries, as the projection reads whole events; data and metadata JSON-decoded) and the
 *   same upserts, in transactions of 1,000 rows. Two projections: **SQL** (per-customer totals in a
 *   table of the projection's own, one upsert statement per batch through `applyBatch`) and
 *   **documents** (the same totals as JSON documents: `getMany` of the batch's customers, then
 *   one `put` each, which the adapter buffers and writes as multi-row statements). The raw read
 *   alone is measured too, as the floor of any catch-up. Within a run the five go in turns
 *   (raw read, raw SQL pipeline, SQL projection, raw documents pipeline, documents projection).
 * - **live latency**: appends at a steady 1,000 events per second (ticks of 10 ms) while a
 *   live async projection follows; the time from calling `append` to the handler receiving the
 *   event, p50 and p99, on memory, SQLite and PostgreSQL. "same store": the projection reads
 *   the store it is appended to (woken in process); "other connection": a second store object
 *   on the same database, as another process would be (SQLite: its own connection to the file;
 *   PostgreSQL: its own pool, woken by LISTEN/NOTIFY). On PostgreSQL the driver's own live
 *   pipeline runs in the same turns as the floor: each tick's rows in one autocommit statement
 *   doing the store's writes (position counter, stream rows, events) and a NOTIFY, another
 *   connection LISTENing and selecting what is new on each notification.
 *
 * `npm run bench -- projections [--quick] [--adapter sqlite|postgres] [--runs N] [--events N]
 * [--latency-seconds S]`; PostgreSQL comes from `CAUSEWAY_PG_URL`.
 */
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
  fnv1a32,
  newId,
  type DocumentsHandle,
  type EventStore,
  type RecordedEvent,
  Projector,
  defineProjection,
  memoryProjectionStore,
  type ProjectionDefinition,
  type ProjectionStore,
  type StoreTransaction,
} from '@causewayjs/core';
import { barResult, formatBars, type BarResult, type BarSpec } from './lib/bars.js';
import { parseBenchArgs } from './lib/options.js';
import { DEFAULT_POSTGRES_URL, machineInfo, writeResults } from './lib/results.js';
import { formatCount, formatRatio, formatTable, type Column } from './lib/table.js';
import { median } from './lib/timing.js';
import { EVENT_COLUMNS, fillOrders } from './store/event-data.js';
import { postgresTargets, postgresUnreachable, redactUrl, sqliteTargets } from './store/targets.js';

const ENGINES = ['sqlite', 'postgres'] as const;
type Engine = (typeof ENGINES)[number];
const TYPES = ['order.placed', 'order.item-added', 'order.paid', 'order.shipped'];
/** Appends per tick of the steady load, and the tick: 1,000 events per second. */
const TICK_MS = 10;
const PER_TICK = 10;
const WARM_UP_MS = 1000;
/** Rows per page of the raw read, and per transaction of the raw pipelines. */
const RAW_READ_PAGE = 8000;
const PIPELINE_CHUNK = 1000;
/** The bars. */
const CATCH_UP_BAR = 0.6;
const PG_P99_BAR_MS = 5;
const SQLITE_P50_BAR_MS = 5;
const SQLITE_P99_BAR_MS = 20;

interface Item {
  customerId: string;
  quantity: number;
  unitPriceCents: number;
}

interface Totals {
  items: number;
  cents: number;
}

/** One engine's way to open stores and run the raw baselines. */
interface EngineKit<Tx extends StoreTransaction, RM> {
  open(): Promise<{ store: EventStore; projections: ProjectionStore<Tx, RM> }>;
  /** A second store object on the same database, with its projection store. */
  openOther(): Promise<{ store: EventStore; projections: ProjectionStore<Tx, RM> }>;
  /** Reads every event row with the driver alone, decoding the JSON; returns the count. */
  rawRead(): Promise<number>;
  /** The raw pipeline of `totals`: the same reads and upserts; returns the count. */
  rawSqlPipeline(run: number): Promise<number>;
  /** The raw pipeline of `documents`: the same reads, document reads and upserts. */
  rawDocumentsPipeline(run: number): Promise<number>;
  /** The SQL projection: per-customer totals, one upsert statement per batch. */
  totals(name: string): ProjectionDefinition<RM>;
  /** A projection calling `seen` with each event it is handed. */
  probe(name: string, seen: (event: RecordedEvent) => void): ProjectionDefinition<RM>;
  /**
   * The raw live pipeline, where the engine has one: each tick's rows written with the driver
   * alone, a second connection handed each row as soon as it is told of the commit.
   */
  rawLive?(run: number): Promise<RawLive>;
  /** Run once the store is filled, before anything is measured. */
  afterFill(): Promise<void>;
  close(): Promise<void>;
}

interface CatchUpRun {
  run: number;
  rawReadEventsPerSecond: number;
  rawSqlPipelineEventsPerSecond: number;
  sqlProjectionEventsPerSecond: number;
  rawDocumentsPipelineEventsPerSecond: number;
  documentsProjectionEventsPerSecond: number;
  /** SQL projection / raw SQL pipeline. */
  sqlRatio: number;
  /** Documents projection / raw documents pipeline. */
  documentsRatio: number;
  /** SQL projection / raw read alone (the figure of earlier versions of this benchmark). */
  sqlVsRawRead: number;
}

/**
 * A live pipeline under the steady load: `send` writes one tick's events (sequence numbers
 * `from` to `to` - 1), and the receiving side stamps `received[seq]` when it is handed each.
 */
interface LivePipeline {
  received: number[];
  send(from: number, to: number): Promise<unknown>;
  /** Resolves once every event sent so far has been received. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** The raw live pipeline: a {@link LivePipeline} with the driver alone. */
type RawLive = LivePipeline;

interface LatencyResult {
  run: number;
  adapter: string;
  wiring: 'same store' | 'other connection' | 'raw driver';
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

/** Per-customer sums of a batch: an upsert may touch each row once per statement. */
function totalsOf(items: readonly Item[]): Map<string, [items: number, cents: number]> {
  const totals = new Map<string, [number, number]>();
  for (const d of items) {
    const t = totals.get(d.customerId) ?? [0, 0];
    t[0] += d.quantity;
    t[1] += d.quantity * d.unitPriceCents;
    totals.set(d.customerId, t);
  }
  return totals;
}

/** Adds an item to a customer's totals document (the documents projection's fold). */
function addItem(current: Totals | undefined, d: Item): Totals {
  return {
    items: (current?.items ?? 0) + d.quantity,
    cents: (current?.cents ?? 0) + d.quantity * d.unitPriceCents,
  };
}

/**
 * The documents projection, the same on both engines: per batch, one `getMany` of the
 * customers it touches, then one `put` per customer.
 */
function documentsProjection<RM extends DocumentsHandle>(name: string): ProjectionDefinition<RM> {
  return defineProjection<RM>({
    name,
    version: 1,
    handles: TYPES,
    setup: () => undefined,
    apply: async (event, rm) => {
      const docs = rm.documents<Totals>('totals');
      const d = event.data as Item;
      await docs.put(d.customerId, addItem(await docs.get(d.customerId), d));
    },
    applyBatch: async (events, rm) => {
      const docs = rm.documents<Totals>('totals');
      const items = events.map((e) => e.data as Item);
      const ids = [...new Set(items.map((d) => d.customerId))];
      const found = await docs.getMany(ids);
      const current = new Map<string, Totals | undefined>(ids.map((id, i) => [id, found[i]]));
      for (const d of items) current.set(d.customerId, addItem(current.get(d.customerId), d));
      for (const [id, totals] of current) if (totals) await docs.put(id, totals);
    },
  });
}

const SQLITE_UPSERT = (table: string) =>
  `INSERT INTO ${table} (customer, items, cents) VALUES (?, ?, ?)
     ON CONFLICT (customer) DO UPDATE SET items = items + excluded.items, cents = cents + excluded.cents`;

function upsertTotals(rm: SqliteReadModel) {
  return rm.prepare<[string, number, number], unknown>(SQLITE_UPSERT(rm.table()));
}

const PG_UPSERT = (table: string) =>
  `INSERT INTO ${table} AS t (customer, items, cents)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
   ON CONFLICT (customer) DO UPDATE SET items = t.items + EXCLUDED.items, cents = t.cents + EXCLUDED.cents`;

function totalsParams(totals: Map<string, [number, number]>): [string[], number[], number[]] {
  const sums = [...totals.values()];
  return [[...totals.keys()], sums.map((s) => s[0]), sums.map((s) => s[1])];
}

/** A row of {@link EVENT_COLUMNS}, as the drivers hand it out in array mode. */
type EventColumns = [
  position: number | string,
  id: string,
  stream: string,
  revision: number | string,
  type: string,
  data: unknown,
  metadata: unknown,
  schemaVersion: number,
  recordedAt: unknown,
];

/**
 * Reads `file`'s events in keyset pages of `page` rows, chunk by chunk: every column the
 * store's events carry (the projection reads whole events), data and metadata JSON-decoded.
 */
function* sqliteChunks(db: Database.Database, page: number): Generator<Item[]> {
  const select = db
    .prepare<[number, number], EventColumns>(
      `SELECT ${EVENT_COLUMNS} FROM causeway_events WHERE position > ? ORDER BY position LIMIT ?`,
    )
    .raw(true);
  let after = 0;
  for (;;) {
    const rows = select.all(after, page);
    const last = rows[rows.length - 1];
    if (!last) return;
    const items: Item[] = [];
    for (const row of rows) {
      const data = JSON.parse(row[5] as string) as Item;
      JSON.parse(row[6] as string);
      if (TYPES.includes(row[4])) items.push(data);
    }
    after = last[0] as number;
    yield items;
  }
}

function sqliteKit(file: string): EngineKit<SqliteTransaction, SqliteReadModel> {
  const opened: SqliteBackend[] = [];
  const open = async () => {
    const backend = openSqliteBackend(file);
    opened.push(backend);
    return { store: backend.store, projections: await backend.projectionStore() };
  };
  /** Runs `work` on a connection of its own, in WAL mode as the adapter's. */
  const withDb = <T>(work: (db: Database.Database) => T): T => {
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      // The store's own default durability: the projection's commits wait for the WAL's
      // fsync, so the raw pipeline's do too.
      db.pragma('synchronous = FULL');
      return work(db);
    } finally {
      db.close();
    }
  };
  return {
    open,
    openOther: open,
    rawRead: () =>
      Promise.resolve(
        withDb((db) => {
          let count = 0;
          for (const chunk of sqliteChunks(db, RAW_READ_PAGE)) count += chunk.length;
          return count;
        }),
      ),
    rawSqlPipeline: (run) =>
      Promise.resolve(
        withDb((db) => {
          const table = `raw_totals_${run}`;
          db.exec(
            `CREATE TABLE ${table} (customer TEXT PRIMARY KEY, items INTEGER NOT NULL, cents INTEGER NOT NULL)`,
          );
          const upsert = db.prepare(SQLITE_UPSERT(table));
          const chunk = db.transaction((items: Item[]) => {
            for (const d of items)
              upsert.run(d.customerId, d.quantity, d.quantity * d.unitPriceCents);
          });
          let count = 0;
          for (const items of sqliteChunks(db, PIPELINE_CHUNK)) {
            chunk(items);
            count += items.length;
          }
          return count;
        }),
      ),
    rawDocumentsPipeline: (run) =>
      Promise.resolve(
        withDb((db) => {
          const table = `raw_documents_${run}`;
          db.exec(
            `CREATE TABLE ${table} (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL CHECK (json_valid(doc)))`,
          );
          const get = db.prepare<[string], { id: string; doc: string }>(
            `SELECT id, doc FROM ${table} WHERE id IN (SELECT value FROM json_each(?))`,
          );
          const put = db.prepare(
            `INSERT INTO ${table} (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`,
          );
          const chunk = db.transaction((items: Item[]) => {
            const ids = [...new Set(items.map((d) => d.customerId))];
            const current = new Map<string, Totals | undefined>();
            for (const row of get.all(JSON.stringify(ids)))
              current.set(row.id, JSON.parse(row.doc) as Totals);
            for (const d of items) current.set(d.customerId, addItem(current.get(d.customerId), d));
            for (const [id, totals] of current) put.run(id, JSON.stringify(totals));
          });
          let count = 0;
          for (const items of sqliteChunks(db, PIPELINE_CHUNK)) {
            chunk(items);
            count += items.length;
          }
          return count;
        }),
      ),
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
        // Statements run in process on SQLite: a cached statement in a loop is the batch form.
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
    // SQLite gathers no statistics unless asked (ANALYZE), and its plans do not need them here.
    afterFill: () => Promise.resolve(),
    close: async () => {
      for (const store of opened) await store.close();
    },
  };
}

/** Reads the events in keyset pages with `client`, handing each page's items to `chunk`. */
async function postgresChunks(
  client: pg.Client,
  schema: string,
  page: number,
  chunk: (items: Item[]) => Promise<void>,
): Promise<number> {
  let after = 0;
  let count = 0;
  for (;;) {
    // Every column of an event, as the adapter reads them; data and metadata arrive
    // JSON-decoded by the driver.
    const { rows } = await client.query<EventColumns>({
      text: `SELECT ${EVENT_COLUMNS} FROM ${schema}.causeway_events WHERE position > $1 ORDER BY position LIMIT $2`,
      values: [after, page],
      rowMode: 'array',
    });
    const last = rows[rows.length - 1];
    if (!last) return count;
    const items = rows.filter((r) => TYPES.includes(r[4])).map((r) => r[5] as Item);
    await chunk(items);
    count += items.length;
    after = Number(last[0]);
  }
}

/**
 * The raw live pipeline on PostgreSQL, the floor of the live-latency bars: each tick's rows go
 * in as one autocommit statement that does the writes an append must (advance a position
 * counter, upsert the stream rows, insert the events into a table LIKE the store's, indexes
 * and all) and NOTIFYs, as the store's group commit makes one transaction of the appends that
 * arrive together; a second connection LISTENs and, on each notification, selects the rows
 * after the last it read (JSON decoded), as a live reader does. One writer, so positions commit
 * in order.
 */
async function postgresRawLive(url: string, schema: string, run: number): Promise<RawLive> {
  const events = `${schema}.raw_live_events_${run}`;
  const streams = `${schema}.raw_live_streams_${run}`;
  const log = `${schema}.raw_live_log_${run}`;
  const channel = `raw_live_${run}`;
  const writer = new pg.Client({ connectionString: url });
  const listener = new pg.Client({ connectionString: url });
  let failure: Error | undefined;
  const fail = (error: unknown) => {
    failure ??= error instanceof Error ? error : new Error(String(error));
  };
  // A connection that drops fails the run (at the next send or drain), not the process.
  writer.on('error', fail);
  listener.on('error', fail);
  const close = async () => {
    await Promise.allSettled([writer.end(), listener.end()]);
  };
  try {
    await writer.connect();
    await listener.connect();
    for (const [table, like] of [
      [events, 'causeway_events'],
      [streams, 'causeway_streams'],
      [log, 'causeway_log'],
    ] as const)
      await writer.query(`CREATE TABLE ${table} (LIKE ${schema}.${like} INCLUDING ALL)`);
    await writer.query(`INSERT INTO ${log} (id, position) VALUES (1, 0)`);
  } catch (error) {
    await close();
    throw error;
  }
  const received: number[] = [];
  let after = 0;
  let reading: Promise<void> | undefined;
  let again = false;
  let sentUpTo = 0;
  const readOnce = async () => {
    for (;;) {
      const { rows } = await listener.query<[string, string, string, string, string]>({
        name: 'bench.raw_live_read',
        text: `SELECT position, stream, type, data::text, metadata::text FROM ${events}
               WHERE position > $1 ORDER BY position LIMIT 1000`,
        values: [after],
        rowMode: 'array',
      });
      const now = performance.now();
      for (const row of rows) {
        const { seq } = JSON.parse(row[3]) as { seq: number };
        JSON.parse(row[4]);
        received[seq] ??= now;
      }
      const last = rows[rows.length - 1];
      if (!last) return;
      after = Number(last[0]);
      if (rows.length < 1000) return;
    }
  };
  /** Reads what is new; a notification during a read makes it read again after. */
  const read = (): Promise<void> => {
    if (reading) {
      again = true;
      return reading;
    }
    reading = (async () => {
      try {
        do {
          again = false;
          await readOnce();
        } while (again);
      } catch (error) {
        fail(error);
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  };
  listener.on('notification', () => void read());
  try {
    await listener.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
  } catch (error) {
    await close();
    throw error;
  }
  const write = {
    name: 'bench.raw_live_write',
    text: `WITH alloc AS (
             UPDATE ${log} SET position = position + $1 WHERE id = 1 RETURNING position - $1 AS base
           ), upsert AS (
             INSERT INTO ${streams} AS s (name, revision)
             SELECT * FROM unnest($2::text[], $3::bigint[])
             ON CONFLICT (name) DO UPDATE SET revision = EXCLUDED.revision
           ), ins AS (
             INSERT INTO ${events} (position, id, stream, revision, type, data, metadata,
                                    schema_version, stream_hash, recorded_at)
             SELECT alloc.base + e.n, e.id, e.stream, e.revision, e.type, e.data, e.metadata, 1,
                    e.hash, now()
             FROM alloc, unnest($4::uuid[], $5::text[], $6::bigint[], $7::text[], $8::json[],
                                $9::json[], $10::bigint[]) WITH ORDINALITY
                  AS e(id, stream, revision, type, data, metadata, hash, n)
             RETURNING position)
           SELECT pg_notify($11, max(position)::text) FROM ins`,
  };
  /** Each stream's last revision: one writer, so it knows them. */
  const revisions = new Map<string, number>();
  return {
    received,
    send: async (from, to) => {
      if (failure) throw failure;
      const rows = { id: [] as string[], stream: [] as string[], revision: [] as number[] };
      const data: string[] = [];
      const hashes: number[] = [];
      const last = new Map<string, number>();
      for (let seq = from; seq < to; seq++) {
        const stream = `latency-${seq % 100}`;
        const revision = (last.get(stream) ?? revisions.get(stream) ?? -1) + 1;
        last.set(stream, revision);
        rows.id.push(newId());
        rows.stream.push(stream);
        rows.revision.push(revision);
        data.push(JSON.stringify({ run, seq }));
        hashes.push(fnv1a32(stream));
      }
      sentUpTo = Math.max(sentUpTo, to);
      await writer.query({
        ...write,
        values: [
          to - from,
          [...last.keys()],
          [...last.values()],
          rows.id,
          rows.stream,
          rows.revision,
          rows.stream.map(() => 'order.placed'),
          data,
          data.map(() => '{}'),
          hashes,
          channel,
        ],
      });
      for (const [stream, revision] of last) revisions.set(stream, revision);
    },
    drain: async () => {
      const deadline = performance.now() + 60_000;
      for (;;) {
        await read();
        if (failure) throw failure;
        let missing = false;
        for (let seq = 0; seq < sentUpTo && !missing; seq++) missing = received[seq] === undefined;
        if (!missing) return;
        if (performance.now() > deadline) throw new Error('the raw live reader fell behind');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    close,
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
  const withClient = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  const inTransaction = async (client: pg.Client, work: () => Promise<void>) => {
    await client.query('BEGIN');
    try {
      await work();
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  };
  return {
    open,
    openOther: open,
    rawRead: () => withClient((client) => postgresChunks(client, s, RAW_READ_PAGE, async () => {})),
    rawLive: (run) => postgresRawLive(url, s, run),
    rawSqlPipeline: (run) =>
      withClient(async (client) => {
        const table = `${s}.raw_totals_${run}`;
        await client.query(
          `CREATE TABLE ${table} (customer text PRIMARY KEY, items bigint NOT NULL, cents bigint NOT NULL)`,
        );
        return postgresChunks(client, s, PIPELINE_CHUNK, (items) =>
          inTransaction(client, async () => {
            await client.query(PG_UPSERT(table), totalsParams(totalsOf(items)));
          }),
        );
      }),
    rawDocumentsPipeline: (run) =>
      withClient(async (client) => {
        const table = `${s}.raw_documents_${run}`;
        await client.query(
          `CREATE TABLE ${table} (id text COLLATE "C" PRIMARY KEY, doc jsonb NOT NULL)`,
        );
        return postgresChunks(client, s, PIPELINE_CHUNK, (items) =>
          inTransaction(client, async () => {
            const ids = [...new Set(items.map((d) => d.customerId))];
            const { rows } = await client.query<{ id: string; doc: Totals }>(
              `SELECT id, doc FROM ${table} WHERE id = ANY($1::text[])`,
              [ids],
            );
            const current = new Map<string, Totals | undefined>(rows.map((r) => [r.id, r.doc]));
            for (const d of items) current.set(d.customerId, addItem(current.get(d.customerId), d));
            await client.query(
              `INSERT INTO ${table} (id, doc) SELECT * FROM unnest($1::text[], $2::jsonb[])
               ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc`,
              [[...current.keys()], [...current.values()].map((t) => JSON.stringify(t))],
            );
          }),
        );
      }),
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
          await rm.client.query(PG_UPSERT(rm.table()), [
            [d.customerId],
            [d.quantity],
            [d.quantity * d.unitPriceCents],
          ]);
        },
        // One statement per batch: one round trip instead of one per event.
        applyBatch: async (events, rm) => {
          await rm.client.query(
            PG_UPSERT(rm.table()),
            totalsParams(totalsOf(events.map((e) => e.data as Item))),
          );
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
    // A table that has just taken 100,000 rows has no planner statistics until autovacuum
    // analyzes it (by default after about 10% of its rows changed, within a minute or so).
    // Without them, the planner reads the projection's type filter as selective and plans a
    // bitmap scan of every later row plus a sort for each batch (about 8 times slower at
    // 100,000 events). Measured as a table in service is: analyzed.
    afterFill: () =>
      withClient(async (client) => {
        await client.query(`ANALYZE ${s}.causeway_events`);
      }),
    close: async () => {
      for (const store of opened) await store.close();
    },
  };
}

/** Events per second of `work`, checking that it saw `expected` events. */
async function timed(expected: number, work: () => Promise<number>): Promise<number> {
  const start = performance.now();
  const seen = await work();
  const ms = performance.now() - start;
  if (seen !== expected) throw new Error(`saw ${seen} events, not ${expected}`);
  return (seen * 1000) / ms;
}

/** Builds `definition` from position 1 to `head`; events per second. */
async function project<Tx extends StoreTransaction, RM>(
  projections: ProjectionStore<Tx, RM>,
  definition: ProjectionDefinition<RM>,
  head: number,
): Promise<number> {
  const projector = new Projector<Tx, RM>({ store: projections, projections: [definition] });
  const start = performance.now();
  await projector.start();
  await projector.waitFor(definition.name, head, { timeoutMs: 600_000 });
  const ms = performance.now() - start;
  await projector.stop();
  return (head * 1000) / ms;
}

/** Catch-up of fresh projections over `events` events, in turns with the raw baselines. */
async function catchUp<Tx extends StoreTransaction, RM extends DocumentsHandle>(
  kit: EngineKit<Tx, RM>,
  events: number,
  runs: number,
  progress: (line: string) => void,
): Promise<CatchUpRun[]> {
  const { store, projections } = await kit.open();
  await fillOrders(store, events);
  await kit.afterFill();
  const head = await store.headPosition();
  const results: CatchUpRun[] = [];
  for (let run = 1; run <= runs; run++) {
    const rawRead = await timed(head, () => kit.rawRead());
    const rawSql = await timed(head, () => kit.rawSqlPipeline(run));
    const sql = await project(projections, kit.totals(`sql-${run}`), head);
    const rawDocuments = await timed(head, () => kit.rawDocumentsPipeline(run));
    const documents = await project(projections, documentsProjection<RM>(`documents-${run}`), head);
    const result: CatchUpRun = {
      run,
      rawReadEventsPerSecond: rawRead,
      rawSqlPipelineEventsPerSecond: rawSql,
      sqlProjectionEventsPerSecond: sql,
      rawDocumentsPipelineEventsPerSecond: rawDocuments,
      documentsProjectionEventsPerSecond: documents,
      sqlRatio: sql / rawSql,
      documentsRatio: documents / rawDocuments,
      sqlVsRawRead: sql / rawRead,
    };
    progress(
      `   run ${run}: raw read ${formatCount(rawRead)}/s; SQL: raw pipeline ${formatCount(rawSql)}/s, ` +
        `projection ${formatCount(sql)}/s (${formatRatio(result.sqlRatio)}); documents: raw pipeline ` +
        `${formatCount(rawDocuments)}/s, projection ${formatCount(documents)}/s (${formatRatio(result.documentsRatio)})`,
    );
    results.push(result);
  }
  return results;
}

/** Appends at a steady 1,000 events/s and measures append-to-handler latency. */
async function latency<Tx extends StoreTransaction, RM>(
  where: { run: number; adapter: string; wiring: LatencyResult['wiring'] },
  writer: EventStore,
  reader: { projections: ProjectionStore<Tx, RM> },
  probe: (name: string, seen: (event: RecordedEvent) => void) => ProjectionDefinition<RM>,
  seconds: number,
): Promise<LatencyResult> {
  const received: number[] = [];
  const name = `latency-${where.run}`;
  const projector = new Projector<Tx, RM>({
    store: reader.projections,
    projections: [
      probe(name, (event) => {
        // Earlier runs' events (on the same store) are read too, and left out.
        const { run, seq } = event.data as { run: number; seq: number };
        if (run === where.run) received[seq] ??= performance.now();
      }),
    ],
  });
  await projector.start();
  // Caught up on earlier runs first, so that every event measured is met live.
  try {
    await projector.waitFor(name, await writer.headPosition(), { timeoutMs: 60_000 });
  } catch (error) {
    await projector.stop();
    throw error;
  }
  return steadyLoad(where, seconds, {
    received,
    send: (from, to) => {
      const appends: Promise<unknown>[] = [];
      for (let seq = from; seq < to; seq++)
        appends.push(
          writer.append(`latency-${seq % 100}`, [
            { type: 'order.placed', data: { run: where.run, seq } },
          ]),
        );
      return Promise.all(appends);
    },
    drain: async () => {
      await projector.waitFor(name, await writer.headPosition(), { timeoutMs: 60_000 });
    },
    close: () => projector.stop(),
  });
}

/**
 * Drives `pipeline` at a steady 1,000 events/s (ticks of {@link PER_TICK} events every
 * {@link TICK_MS} ms, after a warm-up) and measures each event's send-to-receipt latency.
 */
async function steadyLoad(
  where: { run: number; adapter: string; wiring: LatencyResult['wiring'] },
  seconds: number,
  pipeline: LivePipeline,
): Promise<LatencyResult> {
  const sent: number[] = [];
  const { received } = pipeline;
  const total = Math.round(((WARM_UP_MS + seconds * 1000) * PER_TICK) / TICK_MS);
  const warmUp = Math.round((WARM_UP_MS * PER_TICK) / TICK_MS);
  const sends: Promise<unknown>[] = [];
  let failed: Error | undefined;
  const start = performance.now();
  let seq = 0;
  try {
    while (seq < total) {
      const due = Math.min(
        total,
        Math.floor(((performance.now() - start) / TICK_MS + 1) * PER_TICK),
      );
      if (due > seq) {
        const now = performance.now();
        for (let i = seq; i < due; i++) sent[i] = now;
        // Handled at once, so a failed send ends the run instead of going unhandled.
        sends.push(
          pipeline.send(seq, due).catch((error: unknown) => {
            failed ??= error instanceof Error ? error : new Error(String(error));
          }),
        );
        seq = due;
      }
      if (failed !== undefined) throw failed;
      const next = start + (seq / PER_TICK) * TICK_MS;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
    }
    const elapsed = (performance.now() - start) / 1000;
    await Promise.all(sends);
    if (failed !== undefined) throw failed;
    await pipeline.drain();
    const latencies: number[] = [];
    for (let i = warmUp; i < total; i++) {
      const r = received[i];
      const s = sent[i];
      if (r === undefined || s === undefined) throw new Error(`event ${i} was never handled`);
      latencies.push(r - s);
    }
    latencies.sort((a, b) => a - b);
    return {
      ...where,
      events: latencies.length,
      seconds,
      achievedPerSecond: total / elapsed,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies[latencies.length - 1] ?? Number.NaN,
    };
  } finally {
    await pipeline.close();
  }
}

type EngineOutcome =
  | { engine: Engine; status: 'skipped'; reason: string }
  | { engine: Engine; status: 'ok'; catchUp: CatchUpRun[]; latency: LatencyResult[] };

interface Settings {
  runs: number;
  events: number;
  seconds: number;
  postgresUrl: string;
}

async function runEngine(
  engine: Engine,
  options: Settings,
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

async function measureEngine<Tx extends StoreTransaction, RM extends DocumentsHandle>(
  engine: Engine,
  options: Settings,
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
  // Each wiring on a database of its own (opened once), the wirings in turn within each run.
  const wirings: {
    wiring: LatencyResult['wiring'];
    kit: EngineKit<Tx, RM>;
    writer: { store: EventStore; projections: ProjectionStore<Tx, RM> };
    reader: { projections: ProjectionStore<Tx, RM> };
  }[] = [];
  try {
    for (const wiring of ['same store', 'other connection'] as const) {
      const kit = await kitFor(`latency ${wiring}`);
      const writer = await kit.open().catch(async (error: unknown) => {
        await kit.close();
        throw error;
      });
      const reader =
        wiring === 'same store'
          ? writer
          : await kit.openOther().catch(async (error: unknown) => {
              await kit.close();
              throw error;
            });
      wirings.push({ wiring, kit, writer, reader });
    }
    const rawLive = wirings[0]?.kit.rawLive?.bind(wirings[0].kit);
    for (let run = 1; run <= options.runs; run++) {
      for (const { wiring, kit, writer, reader } of wirings) {
        const result = await latency(
          { run, adapter: engine, wiring },
          writer.store,
          reader,
          (name, seen) => kit.probe(name, seen),
          options.seconds,
        );
        progress(
          `   latency run ${run}, ${wiring}: p50 ${formatMs(result.p50Ms)} ms, p99 ${formatMs(result.p99Ms)} ms`,
        );
        results.push(result);
      }
      if (rawLive) {
        const result = await steadyLoad(
          { run, adapter: engine, wiring: 'raw driver' },
          options.seconds,
          await rawLive(run),
        );
        progress(
          `   latency run ${run}, raw driver: p50 ${formatMs(result.p50Ms)} ms, p99 ${formatMs(result.p99Ms)} ms`,
        );
        results.push(result);
      }
    }
  } finally {
    for (const { kit } of wirings) await kit.close();
  }
  return { catchUp: catchUpRuns, latency: results };
}

async function memoryLatency(runs: number, seconds: number): Promise<LatencyResult[]> {
  const store = new MemoryEventStore();
  const results: LatencyResult[] = [];
  try {
    for (let run = 1; run <= runs; run++)
      results.push(
        await latency(
          { run, adapter: 'memory', wiring: 'same store' },
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
        ),
      );
    return results;
  } finally {
    await store.close();
  }
}

function formatMs(ms: number): string {
  return Number.isFinite(ms) ? (ms >= 10 ? ms.toFixed(0) : ms.toFixed(2)) : '-';
}

/** The bars, from the runs (their medians are what is compared). */
function barsOf(outcomes: readonly EngineOutcome[]): BarResult[] {
  const bars: BarResult[] = [];
  for (const o of outcomes) {
    if (o.status !== 'ok') continue;
    const spec = (
      id: string,
      label: string,
      rest: Pick<BarSpec, 'bar' | 'comparator' | 'unit'>,
    ) => ({
      id: `${o.engine}.${id}`,
      label,
      adapter: o.engine,
      ...rest,
    });
    bars.push(
      barResult(
        spec(
          'catch-up-sql-vs-raw-pipeline',
          'async SQL projection catch-up vs raw pipeline (same reads and upserts, transactions of 1,000)',
          { bar: CATCH_UP_BAR, comparator: '>=', unit: 'x' },
        ),
        o.catchUp.map((r) => r.sqlRatio),
      ),
      barResult(
        spec(
          'catch-up-documents-vs-raw-pipeline',
          'async documents projection catch-up vs raw pipeline (same reads and upserts, transactions of 1,000)',
          { bar: CATCH_UP_BAR, comparator: '>=', unit: 'x' },
        ),
        o.catchUp.map((r) => r.documentsRatio),
      ),
    );
    const runsOf = (wiring: LatencyResult['wiring'], key: 'p50Ms' | 'p99Ms') =>
      o.latency.filter((l) => l.wiring === wiring).map((l) => l[key]);
    if (o.engine === 'postgres') {
      // The floor the same machine gives in the same runs: the raw driver's live pipeline.
      const raw = runsOf('raw driver', 'p99Ms');
      const floor =
        raw.length === 0
          ? undefined
          : `the raw driver's live pipeline (each tick's rows in one autocommit statement doing the store's writes, counter, stream rows and events, and a NOTIFY; another connection LISTENing and selecting them) has p99 ${formatMs(median(raw))} ms in the same runs (${raw.map(formatMs).join(', ')} ms)`;
      for (const wiring of ['same store', 'other connection'] as const)
        bars.push(
          barResult(
            spec(
              `live-latency-p99-${wiring.replace(' ', '-')}`,
              `live append-to-projection latency p99 at 1,000 events/s, ${wiring}`,
              { bar: PG_P99_BAR_MS, comparator: '<=', unit: 'ms' },
            ),
            runsOf(wiring, 'p99Ms'),
            floor,
          ),
        );
    } else {
      bars.push(
        barResult(
          spec(
            'live-latency-p50-other-connection',
            'live append-to-projection latency p50 at 1,000 events/s, other connection',
            { bar: SQLITE_P50_BAR_MS, comparator: '<=', unit: 'ms' },
          ),
          runsOf('other connection', 'p50Ms'),
        ),
        barResult(
          spec(
            'live-latency-p99-other-connection',
            'live append-to-projection latency p99 at 1,000 events/s, other connection',
            { bar: SQLITE_P99_BAR_MS, comparator: '<=', unit: 'ms' },
          ),
          runsOf('other connection', 'p99Ms'),
        ),
      );
    }
  }
  return bars;
}

export async function run(argv: readonly string[]): Promise<void> {
  const { quick, runs, values } = parseBenchArgs(argv, {
    adapter: { type: 'string' },
    events: { type: 'string' },
    'latency-seconds': { type: 'string' },
  });
  const engines = values.adapter === undefined ? [...ENGINES] : [values.adapter];
  for (const e of engines) {
    if (!(ENGINES as readonly string[]).includes(e))
      throw new Error(`--adapter must be one of ${ENGINES.join(', ')}, not "${e}"`);
  }
  const events = Number(values.events ?? (quick ? '10000' : '100000'));
  const seconds = Number(values['latency-seconds'] ?? (quick ? '2' : '8'));
  if (!Number.isSafeInteger(events) || events < 1000 || events % 1000 !== 0)
    throw new Error('--events must be a multiple of 1,000');
  if (!Number.isSafeInteger(seconds) || seconds < 1)
    throw new Error('--latency-seconds must be an integer >= 1');
  const postgresUrl = process.env.CAUSEWAY_PG_URL ?? DEFAULT_POSTGRES_URL;
  const progress = (line: string) => process.stderr.write(`${line}\n`);

  const machine = machineInfo();
  console.log(
    `projections benchmark${quick ? ' (quick)' : ''} on ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; ` +
      `catch-up over ${formatCount(events)} events, ${runs} run${runs === 1 ? '' : 's'}; ` +
      `latency at 1,000 events/s for ${seconds} s per run`,
  );
  const started = performance.now();
  const outcomes: EngineOutcome[] = [];
  for (const engine of engines as Engine[]) {
    const outcome = await runEngine(engine, { runs, events, seconds, postgresUrl }, progress);
    if (outcome.status === 'skipped') progress(`!! ${engine} SKIPPED: ${outcome.reason}`);
    outcomes.push(outcome);
  }
  progress(`memory: live latency, same store, ${seconds} s at 1,000 events/s`);
  const memory = await memoryLatency(runs, seconds);
  const elapsed = (performance.now() - started) / 1000;

  const ok = outcomes.filter((o) => o.status === 'ok');
  const m = (o: (typeof ok)[number], key: keyof CatchUpRun) => median(o.catchUp.map((r) => r[key]));
  const catchUpTable = formatTable(
    [
      { header: 'adapter' },
      { header: 'read model' },
      { header: 'raw read (ev/s)', align: 'right' },
      { header: 'raw pipeline (ev/s)', align: 'right' },
      { header: 'projection (ev/s)', align: 'right' },
      { header: 'projection / pipeline', align: 'right' },
    ],
    ok.flatMap((o) => [
      [
        o.engine,
        'SQL table',
        formatCount(m(o, 'rawReadEventsPerSecond')),
        formatCount(m(o, 'rawSqlPipelineEventsPerSecond')),
        formatCount(m(o, 'sqlProjectionEventsPerSecond')),
        formatRatio(m(o, 'sqlRatio')),
      ],
      [
        o.engine,
        'documents',
        '',
        formatCount(m(o, 'rawDocumentsPipelineEventsPerSecond')),
        formatCount(m(o, 'documentsProjectionEventsPerSecond')),
        formatRatio(m(o, 'documentsRatio')),
      ],
    ]),
  );
  const latencies = [...memory, ...ok.flatMap((o) => o.latency)];
  const groups = new Map<string, LatencyResult[]>();
  for (const l of latencies) {
    const key = `${l.adapter}\u0000${l.wiring}`;
    groups.set(key, [...(groups.get(key) ?? []), l]);
  }
  const latencyColumns: Column[] = [
    { header: 'adapter' },
    { header: 'projection reads' },
    { header: 'events/run', align: 'right' },
    { header: 'rate (/s)', align: 'right' },
    { header: 'p50 (ms)', align: 'right' },
    { header: 'p99 (ms)', align: 'right' },
    { header: 'max (ms)', align: 'right' },
  ];
  const latencyRows = [...groups.values()].map((g) => [
    g[0]!.adapter,
    g[0]!.wiring,
    formatCount(median(g.map((l) => l.events))),
    formatCount(median(g.map((l) => l.achievedPerSecond))),
    formatMs(median(g.map((l) => l.p50Ms))),
    formatMs(median(g.map((l) => l.p99Ms))),
    formatMs(Math.max(...g.map((l) => l.maxMs))),
  ]);
  const latencyTable = formatTable(latencyColumns, latencyRows);
  const bars = barsOf(outcomes);
  console.log(
    `\ncatch-up of async projections (medians of ${runs} runs; pipelines: same reads and upserts, transactions of ${formatCount(PIPELINE_CHUNK)})\n${catchUpTable}\n` +
      `\nappend-to-handler latency of a live async projection (medians of ${runs} runs; max of all)\n${latencyTable}\n` +
      `\nbars\n${formatBars(bars, runs)}\n`,
  );
  const path = await writeResults('projections', {
    quick,
    runs,
    options: { runs, events, latencySeconds: seconds, engines, pipelineChunk: PIPELINE_CHUNK },
    bars,
    catchUp: outcomes.map((o) =>
      o.status === 'skipped'
        ? o
        : {
            engine: o.engine,
            status: o.status,
            median: {
              rawReadEventsPerSecond: m(o, 'rawReadEventsPerSecond'),
              rawSqlPipelineEventsPerSecond: m(o, 'rawSqlPipelineEventsPerSecond'),
              sqlProjectionEventsPerSecond: m(o, 'sqlProjectionEventsPerSecond'),
              rawDocumentsPipelineEventsPerSecond: m(o, 'rawDocumentsPipelineEventsPerSecond'),
              documentsProjectionEventsPerSecond: m(o, 'documentsProjectionEventsPerSecond'),
              sqlRatio: m(o, 'sqlRatio'),
              documentsRatio: m(o, 'documentsRatio'),
              sqlVsRawRead: m(o, 'sqlVsRawRead'),
            },
            runs: o.catchUp,
          },
    ),
    latency: latencies,
    docTables: [
      {
        title: `Append-to-handler latency at 1,000 events/s (medians of ${runs} runs; max of all; "raw driver" is the driver's own live pipeline, the floor)`,
        header: latencyColumns.map((c) => c.header),
        align: latencyColumns.map((c) => c.align ?? 'left'),
        rows: latencyRows,
      },
    ],
    durationSeconds: elapsed,
  });
  console.log(`results written to ${path} (${elapsed.toFixed(0)} s)`);
}
