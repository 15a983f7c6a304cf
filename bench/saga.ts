/**
 * The saga benchmark: completed order-fulfilment sagas per second, end to end, on SQLite and
 * PostgreSQL.
 *
 * - **direct commands** (the baseline): each order's commands (place, reserve, authorise,
 *   confirm, ship, capture, commit, complete) handled one after another by the same command
 *   handlers, orders side by side as many at once as the saga runtime dispatches, with no
 *   saga: the cost of the work itself;
 * - **saga, in process**: orders placed, the fulfilment saga reacting to their events through
 *   its subscription (instance, history, outbox and timers written with its checkpoint), the
 *   outbox dispatching to the in-process dispatcher, until every instance has completed;
 * - **saga, over NATS**: the same with commands sent by NATS request/reply to a responder
 *   serving the same handlers (skipped with a note when no NATS server answers).
 *
 * Each mode's CPU time per order (the whole process, every thread) is reported beside its rate:
 * where the rates' ratio follows the inverse of the CPU ratio, a mode is bound by its own work,
 * not by waiting for flushes. An untimed warm-up run of each in-process mode comes first.
 *
 * With NATS reachable it also reports the outbox relay (store → NATS JetStream, events/s)
 * beside a raw JetStream publish of the same messages (`measureRelay` of `bench/relay.ts`).
 *
 * `npm run bench -- saga [--quick] [--adapter sqlite|postgres|all] [--orders N] [--runs N] [--no-nats]
 * [--synchronous FULL|NORMAL|OFF]` (`--synchronous`: SQLite's setting, both ways; default FULL)
 * (`--quick`: 100 orders, a shorter relay);
 * PostgreSQL comes from `CAUSEWAY_PG_URL`, NATS from `CAUSEWAY_NATS_URL`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { NatsCommandDispatcher, serveNatsCommands } from '@causewayjs/nats';
import {
  SagaRuntime,
  newId,
  openBackend,
  type CommandDispatcher,
  type CommandEnvelope,
  type SagaStore,
  type SubscriptionStorage,
  type TransactionalEventStore,
} from '@causewayjs/core';
import { createFulfilmentSaga, createShopDispatcher } from '../examples/shop/fulfilment-saga.js';
import { measureRelay, type RelayRow } from './relay.js';
import { barResult, formatBars, type BarResult } from './lib/bars.js';
import { parseBenchArgs } from './lib/options.js';
import { DEFAULT_POSTGRES_URL, writeResults } from './lib/results.js';
import { formatCount, formatDocTable, formatRatio, formatTable } from './lib/table.js';
import { measure, median, perSecond, summarizeRates, type RateSummary } from './lib/timing.js';
import { postgresUnreachable, redactUrl } from './store/targets.js';

const SKUS = Array.from({ length: 20 }, (_, i) => `sku-${i}`);
/** Store transactions per order of each saga run (in the order run), a diagnostic. */
const transactionsPerOrder: number[] = [];
/** Orders dispatched side by side: the runtime's outbox concurrency, and the baseline's. */
const CONCURRENCY = 16;

type Engine = 'sqlite' | 'postgres';
/** SQLite's `synchronous` settings (`--synchronous`; the store's default is FULL). */
const SYNCHRONOUS = ['FULL', 'NORMAL', 'OFF'] as const;
type Synchronous = (typeof SYNCHRONOUS)[number];

function isSynchronous(value: string): value is Synchronous {
  return (SYNCHRONOUS as readonly string[]).includes(value);
}
type Mode = 'direct commands' | 'saga, in process' | 'saga, over NATS';

interface Opened {
  store: TransactionalEventStore;
  storage: SubscriptionStorage;
  sagaStore: SagaStore;
  close(): Promise<void>;
}

/** A fresh database of `engine`. */
async function open(
  engine: Engine,
  pgUrl: string,
  dir: string,
  name: string,
  synchronous: Synchronous,
): Promise<Opened> {
  if (engine === 'sqlite') {
    const backend = await openBackend(`sqlite:${join(dir, `${name}.db`)}`, { synchronous });
    return {
      store: backend.store,
      storage: await backend.subscriptionStorage(),
      sagaStore: await backend.sagaStore(),
      close: () => backend.close(),
    };
  }
  const schema = `causeway_bench_saga_${name.replace(/[^a-z0-9]/g, '_')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  const backend = await openBackend(pgUrl, { schema, maxConnections: 8 });
  return {
    store: backend.store,
    storage: await backend.subscriptionStorage(),
    sagaStore: await backend.sagaStore(),
    async close() {
      await backend.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      await admin.end();
    },
  };
}

const command = (type: string, data: unknown): CommandEnvelope => ({
  id: newId(),
  type,
  data,
  metadata: {},
});

function orderLines(i: number) {
  return [
    { sku: SKUS[i % SKUS.length] as string, quantity: 1, unitPrice: 450 },
    { sku: SKUS[(i * 7 + 3) % SKUS.length] as string, quantity: 2, unitPrice: 1200 },
  ];
}

async function restock(dispatcher: CommandDispatcher, orders: number): Promise<void> {
  for (const sku of SKUS)
    await dispatcher.dispatch(command('inventory.restock', { sku, quantity: orders * 4 }));
}

/** Runs `work(i)` for i in [0, count), `concurrency` at a time. */
async function pool(
  count: number,
  concurrency: number,
  work: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await work(i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

async function check(reply: Promise<{ status: string }>, what: string): Promise<void> {
  const r = await reply;
  if (r.status !== 'accepted') throw new Error(`${what} was not accepted: ${JSON.stringify(r)}`);
}

/** What one measured run of a mode gives. */
interface ModeFigures {
  ordersPerSecond: number;
  /**
   * CPU time of this process (every thread: the event loop, and the flushes on libuv's pool)
   * per completed order. Over NATS the broker's CPU is not in it.
   */
  cpuMsPerOrder: number;
}

/** Runs `work` (which completes `orders` orders) and measures its rate and its CPU per order. */
async function timed(orders: number, work: () => Promise<void>): Promise<ModeFigures> {
  const cpu = process.cpuUsage();
  const sample = await measure(async () => {
    await work();
    return orders;
  });
  const used = process.cpuUsage(cpu);
  return {
    ordersPerSecond: perSecond(sample),
    cpuMsPerOrder: (used.user + used.system) / 1000 / orders,
  };
}

/** The baseline: every order's commands handled directly, no saga. */
async function direct(db: Opened, orders: number): Promise<ModeFigures> {
  const d = createShopDispatcher(db.store);
  await restock(d, orders);
  return timed(orders, () =>
    pool(orders, CONCURRENCY, async (i) => {
      const orderId = `o${i}`;
      const lines = orderLines(i);
      await check(
        d.dispatch(command('order.place', { orderId, customerId: `c${i}`, lines })),
        'place',
      );
      const skus = [...new Set(lines.map((l) => l.sku))];
      for (const sku of skus) {
        const quantity = lines.filter((l) => l.sku === sku).reduce((n, l) => n + l.quantity, 0);
        await check(
          d.dispatch(command('inventory.reserve', { sku, quantity, orderId })),
          'reserve',
        );
      }
      const amount = lines.reduce((n, l) => n + l.quantity * l.unitPrice, 0);
      await check(d.dispatch(command('payment.authorise', { orderId, amount })), 'authorise');
      await check(d.dispatch(command('order.confirm', { orderId })), 'confirm');
      await check(
        d.dispatch(
          command('shipping.create-shipment', {
            orderId,
            lines: skus.map((sku) => ({ sku, quantity: 1 })),
          }),
        ),
        'ship',
      );
      await check(d.dispatch(command('payment.capture', { orderId })), 'capture');
      for (const sku of skus)
        await check(d.dispatch(command('inventory.commit', { sku, orderId })), 'commit');
      await check(
        d.dispatch(command('order.complete', { orderId, trackingNumber: `TRK-${orderId}` })),
        'complete',
      );
    }),
  );
}

/** The saga end to end; `dispatcher` wraps the shop's (in process, or over NATS). */
async function saga(
  db: Opened,
  orders: number,
  dispatcherFor: (
    shop: CommandDispatcher,
  ) => Promise<{ dispatcher: CommandDispatcher; close(): Promise<void> }>,
): Promise<ModeFigures> {
  const shop = createShopDispatcher(db.store);
  await restock(shop, orders);
  const via = await dispatcherFor(shop);
  const runtime = new SagaRuntime({
    storage: db.storage,
    sagaStore: db.sagaStore,
    sagas: [createFulfilmentSaga()],
    dispatcher: via.dispatcher,
    lease: false,
    from: 'end',
    outbox: { concurrency: CONCURRENCY, pollIntervalMs: 50 },
  });
  await runtime.start();
  // Diagnostic: the store transactions (saga steps, outbox settles, timers) the saga commits
  // per order, besides the commands' own appends. Counting is one increment per transaction.
  const txStore = db.storage.store;
  const own = Object.getOwnPropertyDescriptor(txStore, 'transaction');
  const transaction = txStore.transaction.bind(txStore);
  let transactions = 0;
  txStore.transaction = (work) => {
    transactions += 1;
    return transaction(work);
  };
  try {
    const figures = await timed(orders, async () => {
      await pool(orders, CONCURRENCY, async (i) => {
        await check(
          shop.dispatch(
            command('order.place', { orderId: `o${i}`, customerId: `c${i}`, lines: orderLines(i) }),
          ),
          'place',
        );
      });
      await runtime.runUntilIdle({ timeoutMs: 600_000 });
    });
    const completed = await db.sagaStore.listInstances({ status: 'completed', limit: 1000 });
    const total = (await db.sagaStore.listInstances({ limit: 1000 })).length;
    if (total !== Math.min(orders, 1000) || completed.length !== total)
      throw new Error(`only ${completed.length} of ${orders} sagas completed`);
    transactionsPerOrder.push(transactions / orders);
    return figures;
  } finally {
    if (own) Object.defineProperty(txStore, 'transaction', own);
    else delete (txStore as { transaction?: unknown }).transaction;
    await runtime.stop();
    await via.close();
  }
}

export async function run(argv: readonly string[]): Promise<void> {
  const { quick, runs, values } = parseBenchArgs(argv, {
    adapter: { type: 'string' },
    orders: { type: 'string' },
    'no-nats': { type: 'boolean' },
    synchronous: { type: 'string' },
  });
  const synchronous = (values.synchronous ?? 'FULL').toUpperCase();
  if (!isSynchronous(synchronous))
    throw new Error(
      `--synchronous must be ${SYNCHRONOUS.join(', ')} (any case), not "${values.synchronous}"`,
    );
  const adapter = values.adapter ?? 'all';
  if (!['sqlite', 'postgres', 'all'].includes(adapter))
    throw new Error('--adapter must be sqlite, postgres or all');
  if (synchronous !== 'FULL' && adapter === 'postgres')
    throw new Error('--synchronous is a SQLite setting: it needs --adapter sqlite or all');
  const orders = values.orders === undefined ? (quick ? 100 : 300) : Number(values.orders);
  if (!Number.isSafeInteger(orders) || orders < 1 || orders > 1000)
    throw new Error('--orders must be 1..1000');
  const pgUrl = process.env.CAUSEWAY_PG_URL ?? DEFAULT_POSTGRES_URL;
  const natsUrl = process.env.CAUSEWAY_NATS_URL ?? 'nats://127.0.0.1:4222';
  const notes: string[] = [];
  const engines: Engine[] = adapter === 'all' ? ['sqlite', 'postgres'] : [adapter as Engine];
  const why = engines.includes('postgres') ? await postgresUnreachable(pgUrl) : undefined;
  if (why) {
    notes.push(`PostgreSQL at ${redactUrl(pgUrl)} unreachable (${why}): skipped`);
    engines.splice(engines.indexOf('postgres'), 1);
  }
  let nc: NatsConnection | undefined;
  if (!values['no-nats']) {
    try {
      nc = await connect({ servers: natsUrl, timeout: 3000 });
    } catch (error) {
      notes.push(`NATS at ${natsUrl} unreachable (${(error as Error).message}): NATS rows skipped`);
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'causeway-bench-saga-'));
  const results: {
    engine: Engine;
    mode: Mode;
    ordersPerSecond: RateSummary;
    /** The median of each run's orders/s against the same run's direct path. */
    ratio: number;
    /** Median CPU ms per order (see `ModeFigures.cpuMsPerOrder`). */
    cpuMsPerOrder: number;
    /** The median of each run's CPU per order against the same run's direct path's. */
    cpuRatio: number;
  }[] = [];
  const bars: BarResult[] = [];
  const perRun: {
    engine: Engine;
    run: number;
    ordersPerSecond: Partial<Record<Mode, number>>;
    cpuMsPerOrder: Partial<Record<Mode, number>>;
    /** Store transactions (steps, settles, timers) per order of the saga runs: a diagnostic. */
    sagaTransactionsPerOrder: Partial<Record<Mode, number>>;
  }[] = [];
  const sagaTransactions: Record<string, number[]> = {};
  let relay: RelayRow[] = [];
  try {
    for (const engine of engines) {
      const rates: Record<Mode, number[]> = {
        'direct commands': [],
        'saga, in process': [],
        'saga, over NATS': [],
      };
      const cpu: Record<Mode, number[]> = {
        'direct commands': [],
        'saga, in process': [],
        'saga, over NATS': [],
      };
      // One untimed run of each in-process mode first, so that no measured run is the
      // process's first of its mode (cold code, a young heap): the first measured run is
      // still often the slowest, but no longer by as much.
      for (const mode of ['direct commands', 'saga, in process'] as const) {
        const db = await open(
          engine,
          pgUrl,
          dir,
          `${engine}-warm-up-${mode.replace(/\W+/g, '-')}`,
          synchronous,
        );
        try {
          await measureMode(db, mode, orders, nc);
          if (mode === 'saga, in process') transactionsPerOrder.pop();
        } finally {
          await db.close();
        }
      }
      for (let r = 0; r < runs; r++) {
        // Run by run, interleaved; which goes first alternates, so drift does not favour one.
        const order: Mode[] =
          r % 2 === 0
            ? ['direct commands', 'saga, in process']
            : ['saga, in process', 'direct commands'];
        if (nc) order.push('saga, over NATS');
        const figures: Partial<Record<Mode, number>> = {};
        const cpuPerOrder: Partial<Record<Mode, number>> = {};
        const transactions: Partial<Record<Mode, number>> = {};
        for (const mode of order) {
          const db = await open(
            engine,
            pgUrl,
            dir,
            `${engine}-${r}-${mode.replace(/\W+/g, '-')}`,
            synchronous,
          );
          try {
            const measured = await measureMode(db, mode, orders, nc);
            figures[mode] = measured.ordersPerSecond;
            cpuPerOrder[mode] = measured.cpuMsPerOrder;
            rates[mode].push(measured.ordersPerSecond);
            cpu[mode].push(measured.cpuMsPerOrder);
            const perOrder = transactionsPerOrder.pop();
            if (perOrder !== undefined) {
              transactions[mode] = perOrder;
              (sagaTransactions[`${engine}, ${mode}`] ??= []).push(perOrder);
            }
          } finally {
            await db.close();
          }
        }
        perRun.push({
          engine,
          run: r + 1,
          ordersPerSecond: figures,
          cpuMsPerOrder: cpuPerOrder,
          sagaTransactionsPerOrder: transactions,
        });
      }
      // Ratios are medians of each run's own (its mode against the same run's direct path),
      // as the bar's is.
      const perRunRatio = (of: number[], to: number[]) =>
        median(of.map((x, i) => x / (to[i] ?? Number.NaN)));
      for (const mode of Object.keys(rates) as Mode[]) {
        if (rates[mode].length === 0) continue;
        results.push({
          engine,
          mode,
          ordersPerSecond: summarizeRates(rates[mode]),
          ratio: perRunRatio(rates[mode], rates['direct commands']),
          cpuMsPerOrder: median(cpu[mode]),
          cpuRatio: perRunRatio(cpu[mode], cpu['direct commands']),
        });
      }
      // The bar: each run's saga rate over the direct rate of the same run, the median of those.
      bars.push(
        barResult(
          {
            id: `${engine}.saga-vs-direct`,
            label: 'in-process saga, completed orders vs the same commands sent directly',
            adapter: engine,
            bar: 0.6,
            comparator: '>=',
            unit: 'x',
          },
          rates['saga, in process'].map((rate, i) => rate / (rates['direct commands'][i] ?? NaN)),
        ),
      );
    }
    // The relay runs at the store's default setting: at another one it is left out.
    if (nc && synchronous === 'FULL')
      relay = await measureRelay({ events: quick ? 2_000 : 10_000, runs, natsUrl });
    else if (nc) notes.push(`relay not measured at --synchronous ${synchronous}`);
  } finally {
    await nc?.close();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    `saga: ${formatCount(orders)} orders per run, ${runs} runs, ${CONCURRENCY} orders at once${quick ? ' (quick)' : ''}\n`,
  );
  const header = [
    'store',
    'mode',
    'orders/s (median)',
    'runs',
    'vs direct',
    'CPU ms per order',
    'CPU vs direct',
  ];
  const align: ('left' | 'right')[] = ['left', 'left', 'right', 'right', 'right', 'right', 'right'];
  const rows = results.map((row) => [
    row.engine,
    row.mode,
    formatCount(row.ordersPerSecond.median),
    row.ordersPerSecond.runs.map((x) => formatCount(x)).join(' / '),
    formatRatio(row.ratio),
    row.cpuMsPerOrder.toFixed(2),
    formatRatio(row.cpuRatio),
  ]);
  console.log(formatDocTable({ header, align, rows }));
  if (relay.length > 0) {
    console.log('\nrelay (store → NATS JetStream):\n');
    console.log(
      formatTable(
        [
          { header: 'target' },
          { header: 'events/s (median)', align: 'right' },
          { header: 'vs raw', align: 'right' },
        ],
        relay.map((r) => [r.name, formatCount(r.eventsPerSecond.median), formatRatio(r.ratio)]),
      ),
    );
  }
  const perOrder = Object.entries(sagaTransactions).map(
    ([name, values]) => `${name} ${median(values).toFixed(2)}`,
  );
  if (perOrder.length > 0)
    console.log(`\nsaga store transactions per order (median): ${perOrder.join('; ')}`);
  console.log(`\n${formatBars(bars, runs)}`);
  for (const note of notes) console.log(`note: ${note}`);
  // A run at another setting is a check, not the record: it goes to a file of its own.
  const name = synchronous === 'FULL' ? 'saga' : `saga.${synchronous.toLowerCase()}`;
  const file = await writeResults(name, {
    quick,
    runs,
    bars,
    docTables: [
      {
        title: `Completed orders per second and this process's CPU time per order (every thread), ${formatCount(orders)} orders per run, ${CONCURRENCY} orders at once (medians of ${runs} runs, after an untimed run of each in-process mode; ratios are medians of each run's own)`,
        header,
        align,
        rows,
      },
    ],
    options: { orders, concurrency: CONCURRENCY, adapter, sqliteSynchronous: synchronous },
    perRun,
    results,
    relay,
    notes,
  });
  console.log(`\nwrote ${file}`);
}

/** One measurement of `mode` on a fresh database: orders completed per second. */
async function measureMode(
  db: Opened,
  mode: Mode,
  orders: number,
  nc: NatsConnection | undefined,
): Promise<ModeFigures> {
  if (mode === 'direct commands') return direct(db, orders);
  if (mode === 'saga, in process')
    return saga(db, orders, (shop) =>
      Promise.resolve({ dispatcher: shop, close: () => Promise.resolve() }),
    );
  const connection = nc as NatsConnection;
  const prefix = `bench.saga.${newId().slice(-12)}`;
  return saga(db, orders, (shop) => {
    const responder = serveNatsCommands({ connection, prefix, handle: (c) => shop.dispatch(c) });
    return Promise.resolve({
      dispatcher: new NatsCommandDispatcher({ connection, prefix, timeoutMs: 10_000 }),
      close: () => responder.stop(),
    });
  });
}
