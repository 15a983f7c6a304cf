/**
 * The subscriptions benchmark: catch-up of a bare `Subscription` (a handler that does nothing,
 * every option at its default, the lease included) over a store of 100,000 stored events of
 * about 200 bytes, on a SQLite file and on PostgreSQL, beside the raw driver selecting the
 * same rows (every envelope column, keyset pages of 8,000, `data` and `metadata` decoded from
 * JSON): the floor of any catch-up. For reference, each run also times the store's own
 * `readAll` of the same events with nothing else done (the ceiling of a catch-up through the
 * store). The three run one after another, their order rotating run by run, and every run's
 * figures are kept.
 *
 * `npm run bench -- subscriptions [--quick] [--adapter sqlite|postgres] [--runs N]
 * [--events N]`; PostgreSQL comes from `CAUSEWAY_PG_URL` and is skipped with a note when
 * unreachable. `--quick` uses 30,000 events (the bar is for 100,000).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  Subscription,
  type StoreTransaction,
  type SubscriptionStorage,
  type TransactionalEventStore,
} from '@causewayjs/core';
import {
  PostgresEventStore,
  postgresSubscriptionStorage,
  type PostgresTransaction,
} from '@causewayjs/postgres';
import {
  SqliteEventStore,
  sqliteSubscriptionStorage,
  type SqliteTransaction,
} from '@causewayjs/sqlite';
import { barResult, formatBars, type BarResult, type BarSpec } from './lib/bars.js';
import { parseBenchArgs } from './lib/options.js';
import { DEFAULT_POSTGRES_URL, writeResults } from './lib/results.js';
import { formatCount, formatDocTable, formatRatio } from './lib/table.js';
import { measure, median, perSecond, type Sample } from './lib/timing.js';
import { EVENT_COLUMNS, fillOrders } from './store/event-data.js';
import { postgresUnreachable, redactUrl } from './store/targets.js';

const ADAPTERS = ['sqlite', 'postgres'] as const;
type Adapter = (typeof ADAPTERS)[number];
/** Rows per raw keyset page: the store's largest read page. */
const PAGE = 8000;
/** The bar: catch-up at least 0.9× the raw read. */
const BAR = 0.9;

/** One adapter's store, its subscription storage, and a raw read of its rows. */
interface Kit<Tx extends StoreTransaction> {
  store: TransactionalEventStore<Tx>;
  storage: SubscriptionStorage<Tx>;
  /** Selects every event row with the driver alone, decoding the JSON; returns the count. */
  rawRead(): Promise<number>;
  close(): Promise<void>;
}

/** One run's figures, every side in events per second. */
interface Run {
  rawPerSecond: number;
  subscriptionPerSecond: number;
  /** The store's own `readAll` of the same events, nothing else: the ceiling of a catch-up. */
  readAllPerSecond: number;
  ratio: number;
  /** `readAll` against the raw read: how much of the gap is the read itself. */
  readAllRatio: number;
  /** The order the three ran in this run. */
  order: string[];
}

interface AdapterOutcome {
  adapter: Adapter;
  events: number;
  runs: Run[];
  /** Why the adapter was not measured. */
  skipped?: string;
}

async function sqliteKit(file: string): Promise<Kit<SqliteTransaction>> {
  const store = SqliteEventStore.open(file);
  const storage = await sqliteSubscriptionStorage(store);
  const db = new Database(file, { readonly: true });
  const page = db
    .prepare<[number, number], unknown[]>(
      `SELECT ${EVENT_COLUMNS} FROM causeway_events WHERE position > ? ORDER BY position LIMIT ?`,
    )
    .raw(true);
  return {
    store,
    storage,
    rawRead: () => {
      let after = 0;
      let count = 0;
      for (;;) {
        const rows = page.all(after, PAGE);
        for (const row of rows) {
          JSON.parse(row[5] as string);
          JSON.parse(row[6] as string);
        }
        count += rows.length;
        const last = rows[rows.length - 1];
        if (!last) return Promise.resolve(count);
        after = last[0] as number;
      }
    },
    close: async () => {
      db.close();
      await store.close();
    },
  };
}

async function postgresKit(url: string, schema: string): Promise<Kit<PostgresTransaction>> {
  const store = await PostgresEventStore.open(url, { schema });
  const storage = await postgresSubscriptionStorage(store);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const table = `${pg.escapeIdentifier(schema)}.causeway_events`;
  return {
    store,
    storage,
    // The json columns come back decoded by pg's type parser: JSON.parse, as the store does.
    rawRead: async () => {
      let after = 0;
      let count = 0;
      for (;;) {
        const { rows } = await client.query<unknown[]>({
          name: 'bench.subscriptions.raw_page',
          text: `SELECT ${EVENT_COLUMNS} FROM ${table} WHERE position > $1 ORDER BY position LIMIT $2`,
          values: [after, PAGE],
          rowMode: 'array',
        });
        count += rows.length;
        const last = rows[rows.length - 1];
        if (!last) return count;
        after = Number(last[0]);
      }
    },
    close: async () => {
      await client.end();
      await store.close();
    },
  };
}

/** The three sides of a run in the order they run, rotating run by run. */
const ROTATIONS = [
  ['raw', 'subscription', 'readAll'],
  ['subscription', 'readAll', 'raw'],
  ['readAll', 'raw', 'subscription'],
] as const;

/** The store's `readAll` of every event, iterated and dropped: what any catch-up must do. */
async function readAll(store: TransactionalEventStore): Promise<number> {
  let count = 0;
  for await (const event of store.readAll()) if (event.position > 0) count += 1;
  return count;
}

/** Catch-up of a fresh bare subscription with default options, to the head. */
async function catchUp<Tx extends StoreTransaction>(
  kit: Kit<Tx>,
  name: string,
  head: number,
): Promise<number> {
  let handled = 0;
  const subscription = new Subscription<Tx>({
    name,
    storage: kit.storage,
    handler: () => {
      handled += 1;
    },
  });
  await subscription.start();
  await subscription.waitForPosition(head, { timeoutMs: 600_000 });
  await subscription.stop();
  if (handled !== head) throw new Error(`the subscription handled ${handled} of ${head} events`);
  return handled;
}

async function measureAdapter<Tx extends StoreTransaction>(
  adapter: Adapter,
  kit: Kit<Tx>,
  options: { events: number; runs: number },
): Promise<AdapterOutcome> {
  await fillOrders(kit.store, options.events);
  const head = await kit.store.headPosition();
  // One of each first, untimed: the JIT and the caches warm on both paths alike.
  await kit.rawRead();
  await catchUp(kit, 'bench-warm-up', head);
  const runs: Run[] = [];
  for (let run = 0; run < options.runs; run++) {
    const sides = {
      raw: () => measure(() => kit.rawRead()),
      subscription: () => measure(() => catchUp(kit, `bench-${run}`, head)),
      readAll: () => measure(() => readAll(kit.store)),
    };
    // Each side goes first, second and third in turn, so none always meets the warmest state.
    const order = ROTATIONS[run % ROTATIONS.length] as readonly (keyof typeof sides)[];
    const samples: Partial<Record<keyof typeof sides, Sample>> = {};
    for (const side of order) samples[side] = await sides[side]();
    const { raw, subscription, readAll: all } = samples as Record<keyof typeof sides, Sample>;
    if (raw.items !== head || all.items !== head)
      throw new Error(`read ${raw.items} (raw) and ${all.items} (readAll) of ${head} rows`);
    const rawPerSecond = perSecond(raw);
    const subscriptionPerSecond = perSecond(subscription);
    const readAllPerSecond = perSecond(all);
    runs.push({
      rawPerSecond,
      subscriptionPerSecond,
      readAllPerSecond,
      ratio: subscriptionPerSecond / rawPerSecond,
      readAllRatio: readAllPerSecond / rawPerSecond,
      order: [...order],
    });
    process.stdout.write(
      `  ${adapter} run ${run + 1}: raw ${formatCount(rawPerSecond)}/s, subscription ${formatCount(subscriptionPerSecond)}/s (${formatRatio(subscriptionPerSecond / rawPerSecond)}), readAll alone ${formatCount(readAllPerSecond)}/s (${formatRatio(readAllPerSecond / rawPerSecond)})\n`,
    );
  }
  return { adapter, events: head, runs };
}

function barSpec(adapter: Adapter, events: number): BarSpec {
  return {
    id: `${adapter}.catch-up-vs-raw-select`,
    label: `bare subscription catch-up, default options, ${formatCount(events)} events, vs raw SELECT`,
    adapter,
    bar: BAR,
    comparator: '>=',
    unit: 'x',
  };
}

/** Runs the benchmark (see the module comment). */
export async function run(argv: readonly string[]): Promise<void> {
  const { quick, runs, values } = parseBenchArgs(argv, {
    adapter: { type: 'string' },
    events: { type: 'string' },
  });
  const adapters: readonly Adapter[] =
    values.adapter === undefined
      ? ADAPTERS
      : ADAPTERS.filter((a) => a === values.adapter).length > 0
        ? [values.adapter as Adapter]
        : [];
  if (adapters.length === 0)
    throw new Error(`--adapter must be sqlite or postgres, not "${values.adapter}"`);
  const events = values.events === undefined ? (quick ? 30_000 : 100_000) : Number(values.events);
  if (!Number.isSafeInteger(events) || events < 1000 || events % 1000 !== 0)
    throw new Error('--events must be a multiple of 1,000');
  const url = process.env.CAUSEWAY_PG_URL ?? DEFAULT_POSTGRES_URL;
  process.stdout.write(
    `subscriptions: catch-up of ${formatCount(events)} events, ${runs} runs${quick ? ' (quick)' : ''}\n`,
  );
  const outcomes: AdapterOutcome[] = [];
  for (const adapter of adapters) {
    if (adapter === 'sqlite') {
      const dir = await mkdtemp(join(tmpdir(), 'causeway-bench-subscriptions-'));
      const kit = await sqliteKit(join(dir, 'events.db'));
      try {
        outcomes.push(await measureAdapter(adapter, kit, { events, runs }));
      } finally {
        await kit.close();
        await rm(dir, { recursive: true, force: true });
      }
    } else {
      const unreachable = await postgresUnreachable(url);
      if (unreachable !== undefined) {
        process.stdout.write(`!! PostgreSQL at ${redactUrl(url)} skipped: ${unreachable}\n`);
        outcomes.push({ adapter, events, runs: [], skipped: unreachable });
        continue;
      }
      const schema = `bench_subscriptions_${process.pid}`;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      await admin.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
      const kit = await postgresKit(url, schema);
      try {
        outcomes.push(await measureAdapter(adapter, kit, { events, runs }));
      } finally {
        await kit.close();
        await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
        await admin.end();
      }
    }
  }
  const bars: BarResult[] = outcomes.map((o) =>
    barResult(
      barSpec(o.adapter, o.events),
      o.runs.map((r) => r.ratio),
      o.skipped === undefined
        ? events < 100_000
          ? `measured on ${formatCount(events)} events (--quick or --events); the bar is for 100,000`
          : undefined
        : `not measured: ${o.skipped}`,
    ),
  );
  const header = [
    'adapter',
    'raw SELECT events/s',
    'subscription events/s',
    'ratio',
    'readAll alone events/s',
    'readAll ratio',
    'subscription vs readAll',
  ];
  const align: ('left' | 'right')[] = [
    'left',
    'right',
    'right',
    'right',
    'right',
    'right',
    'right',
  ];
  const measured = outcomes.filter((o) => o.runs.length > 0);
  const rows = measured.map((o) => [
    o.adapter,
    formatCount(median(o.runs.map((r) => r.rawPerSecond))),
    formatCount(median(o.runs.map((r) => r.subscriptionPerSecond))),
    formatRatio(median(o.runs.map((r) => r.ratio))),
    formatCount(median(o.runs.map((r) => r.readAllPerSecond))),
    formatRatio(median(o.runs.map((r) => r.readAllRatio))),
    formatRatio(median(o.runs.map((r) => r.subscriptionPerSecond / r.readAllPerSecond))),
  ]);
  process.stdout.write(
    `\n${formatDocTable({ header, align, rows })}\n\n${formatBars(bars, runs)}\n`,
  );
  const file = await writeResults('subscriptions', {
    quick,
    runs,
    events,
    bars,
    docTables: [
      {
        title: `Catch-up of ${formatCount(events)} events beside the raw read and the store's own \`readAll\` with nothing else done, medians of ${runs} runs; ratios are medians of each run's own`,
        header,
        align,
        rows,
      },
    ],
    adapters: outcomes,
  });
  process.stdout.write(`results: ${file}\n`);
}
