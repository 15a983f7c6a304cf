/**
 * Shop analytics on the event stream, built with Causeway's stream processing:
 *
 * - **sales per category per minute**: a tumbling window over order lines, enriched with
 *   the product's category (from `product.added`, in keyed state);
 * - **live top products**: units sold per product in a 10-minute window sliding every
 *   minute, the best five of each window;
 * - **customer sessions**: orders of a customer closer than 30 minutes form a session;
 * - **fraud rules as patterns**: three declined payments for one customer within a minute,
 *   and an order placed but not paid (`order.paid` or `payment.authorised`) within the
 *   payment timeout (an absence, established when event time passes the timeout: the jobs
 *   advance their watermark on idleness, by the clock, so a quiet shop still raises it).
 *
 * `startShopAnalytics({ store })` runs the four jobs over a store and keeps their current
 * results in memory; with `checkpoints` they resume where they were after a restart, and
 * with `writeAlerts` the fraud alerts are also appended to the `fraud-alerts` stream, in the
 * same transaction as the job's checkpoint.
 */
import {
  Pattern,
  StreamJob,
  count,
  minutes,
  session,
  sliding,
  storeSink,
  storeSource,
  sum,
  tumbling,
  type Clock,
  type EventStore,
  type PatternMatch,
  type RecordedEvent,
  type StreamJobStatus,
  type StreamStateStore,
  type TimeWindow,
  type WindowResult,
} from '@causewayjs/core';
import { orderIdOf, type OrderLine } from './order-decider.js';

/** The event types the analytics read (as the shop's deciders write them). */
export const ShopEventTypes = {
  orderPlaced: 'order.placed',
  orderPaid: 'order.paid',
  paymentAuthorised: 'payment.authorised',
  paymentDeclined: 'payment.declined',
  productAdded: 'product.added',
} as const;

/** Sales of one category in one minute. */
export interface CategorySales {
  category: string;
  window: TimeWindow;
  /** Revenue in cents. */
  revenue: number;
  /** True when it corrects an earlier figure for the same minute. */
  update: boolean;
}

/** The best-selling products of one sliding window. */
export interface TopProducts {
  window: TimeWindow;
  products: { sku: string; units: number }[];
}

/** One customer's shopping session. */
export interface CustomerSession {
  customerId: string;
  window: TimeWindow;
  orders: number;
}

/** A fraud rule that matched. */
export type FraudAlert =
  | { rule: 'repeated-declines'; customerId: string; orderIds: string[]; at: number }
  | { rule: 'unpaid-order'; orderId: string; customerId: string; placedAt: number; at: number };

/** Options of {@link startShopAnalytics}. */
export interface ShopAnalyticsOptions {
  store: EventStore;
  /** Drives idleness (and so absence alerts in a quiet shop). Default: the system clock. */
  clock?: Clock;
  /** Checkpoint storage: the jobs resume after a restart with their state. */
  checkpoints?: StreamStateStore;
  /** Also append fraud alerts to the `fraud-alerts` stream (exactly once, with checkpoints). */
  writeAlerts?: boolean;
  /** How long an order may stay unpaid (ms, default 15 minutes). */
  paymentTimeoutMs?: number;
  /** Declined payments of one customer that raise an alert (default 3)... */
  declines?: number;
  /** ...within this long (ms, default one minute). */
  declineWindowMs?: number;
  /** Gap that ends a customer session (ms, default 30 minutes). */
  sessionGapMs?: number;
  /** Out-of-orderness allowed to events (ms, default 2,000). */
  outOfOrdernessMs?: number;
  /** Idle time after which event time follows the clock (ms, default 5,000). */
  idleTimeoutMs?: number;
  /** How many products the board shows (default 5). */
  topN?: number;
}

/** The running analytics: their jobs and current results. */
export interface ShopAnalytics {
  /** Each job's status: watermark, lag, state size, late count... */
  status(): Record<'sales' | 'topProducts' | 'sessions' | 'fraud', StreamJobStatus>;
  /** Latest revenue per category and minute (updates replace earlier figures). */
  salesPerCategory(): CategorySales[];
  /** The board of the most recent complete window. */
  topProducts(): TopProducts | undefined;
  /** Closed customer sessions, oldest first. */
  sessions(): CustomerSession[];
  /** Fraud alerts, oldest first. */
  alerts(): FraudAlert[];
  /** Checks idleness on every job now (the jobs also do so every second). */
  tick(): Promise<void>;
  /** Resolves once every job has committed the store position `position`. */
  waitForPosition(position: number, options?: { timeoutMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

type PlacedData = { orderId?: string; customerId: string; lines: OrderLine[] };

const orderIdFrom = (e: RecordedEvent): string =>
  (e.data as { orderId?: string }).orderId ?? orderIdOf(e.stream) ?? e.stream;

/**
 * Starts the shop's analytics jobs over `store` (reading its log live).
 *
 * @example
 * ```ts
 * const analytics = await startShopAnalytics({ store });
 * console.log(analytics.topProducts(), analytics.alerts());
 * await analytics.stop();
 * ```
 */
export async function startShopAnalytics(options: ShopAnalyticsOptions): Promise<ShopAnalytics> {
  const { store, clock, checkpoints } = options;
  const common = {
    timestamp: (e: RecordedEvent) => e.recordedAt,
    watermark: {
      outOfOrdernessMs: options.outOfOrdernessMs ?? 2000,
      idleTimeoutMs: options.idleTimeoutMs ?? 5000,
    },
    clock,
    checkpoints,
  };
  const source = (types: string[]) => storeSource(store, { filter: { types } });

  // Sales per category per minute.
  const sales = new StreamJob<RecordedEvent>({
    name: 'shop-sales-per-category',
    source: source([ShopEventTypes.productAdded, ShopEventTypes.orderPlaced]),
    ...common,
  });
  type Line = { sku: string; revenue: number; category?: string };
  const salesNow = new Map<string, CategorySales>();
  sales.input
    .flatMap((e): Line[] =>
      e.type === ShopEventTypes.productAdded
        ? [
            {
              sku: (e.data as { sku: string }).sku,
              revenue: 0,
              category: (e.data as { category: string }).category,
            },
          ]
        : (e.data as PlacedData).lines.map((l) => ({
            sku: l.sku,
            revenue: l.quantity * l.unitPrice,
          })),
    )
    .keyBy((l) => l.sku)
    .process<string, { category: string; revenue: number }>((category, line, ctx) => {
      if (line.category !== undefined) return line.category;
      ctx.emit({ category: category ?? 'uncategorised', revenue: line.revenue });
      return category;
    })
    .keyBy((l) => l.category)
    .window(tumbling({ size: minutes(1) }), { allowedLatenessMs: minutes(1) })
    .aggregate(sum((l) => l.revenue))
    .to({
      committed: (items) => {
        for (const r of items)
          salesNow.set(`${r.key}@${r.window.start}`, {
            category: r.key,
            window: r.window,
            revenue: r.value,
            update: r.update,
          });
      },
    });

  // Live top products: units per product over 10 minutes, sliding every minute.
  const top = new StreamJob<RecordedEvent>({
    name: 'shop-top-products',
    source: source([ShopEventTypes.orderPlaced]),
    ...common,
  });
  const topN = options.topN ?? 5;
  let board: TopProducts | undefined;
  top.input
    .flatMap((e) => (e.data as PlacedData).lines)
    .keyBy((l) => l.sku)
    .window(sliding({ size: minutes(10), slide: minutes(1) }))
    .aggregate(sum((l: OrderLine) => l.quantity))
    .keyBy((r) => r.window.start)
    .window(tumbling({ size: minutes(1) }))
    .aggregate({
      create: (): { window: TimeWindow | null; products: { sku: string; units: number }[] } => ({
        window: null,
        products: [],
      }),
      add: (acc, r: WindowResult<string, number>) => {
        acc.window = r.window;
        acc.products.push({ sku: r.key, units: r.value });
        acc.products.sort((a, b) => b.units - a.units || (a.sku < b.sku ? -1 : 1));
        if (acc.products.length > topN) acc.products.length = topN;
        return acc;
      },
      result: (acc) => ({ window: acc.window as TimeWindow, products: acc.products }),
    })
    .to({
      committed: (items) => {
        for (const r of items)
          if (!board || r.value.window.start >= board.window.start) board = r.value;
      },
    });

  // Customer sessions.
  const sessionsJob = new StreamJob<RecordedEvent>({
    name: 'shop-customer-sessions',
    source: source([ShopEventTypes.orderPlaced]),
    ...common,
  });
  const closedSessions: CustomerSession[] = [];
  sessionsJob.input
    .keyBy((e) => (e.data as PlacedData).customerId)
    .window(session({ gap: options.sessionGapMs ?? minutes(30) }))
    .aggregate(count())
    .to({
      committed: (items) => {
        for (const r of items)
          closedSessions.push({ customerId: r.key, window: r.window, orders: r.value });
      },
    });

  // Fraud rules.
  const fraud = new StreamJob<RecordedEvent>({
    name: 'shop-fraud-rules',
    source: source([
      ShopEventTypes.orderPlaced,
      ShopEventTypes.orderPaid,
      ShopEventTypes.paymentAuthorised,
      ShopEventTypes.paymentDeclined,
    ]),
    ...common,
  });
  const alerts: FraudAlert[] = [];
  // Payments know their order, not their customer: keyed state per order remembers it.
  type Tagged = { event: RecordedEvent; orderId: string; customerId: string };
  const byOrder = fraud.input
    .keyBy(orderIdFrom)
    .process<string, Tagged>((customerId, event, ctx) => {
      const known =
        event.type === ShopEventTypes.orderPlaced
          ? (event.data as PlacedData).customerId
          : customerId;
      ctx.emit({ event, orderId: String(ctx.key), customerId: known ?? 'unknown' });
      return known;
    });
  const declines = options.declines ?? 3;
  const repeatedDeclines = Pattern.begin<Tagged>('declined', { skip: 'skip-past-last-event' })
    .where((t) => t.event.type === ShopEventTypes.paymentDeclined)
    .times(declines)
    .within(options.declineWindowMs ?? minutes(1));
  const declineAlerts = byOrder
    .keyBy((t) => t.customerId)
    .pattern(repeatedDeclines, { name: 'repeated-declines' })
    .map((m: PatternMatch<Tagged, string>): FraudAlert => ({
      rule: 'repeated-declines',
      customerId: m.key,
      orderIds: (m.events.declined ?? []).map((t) => t.orderId),
      at: m.end,
    }));
  const isPayment = (t: Tagged) =>
    t.event.type === ShopEventTypes.orderPaid || t.event.type === ShopEventTypes.paymentAuthorised;
  const unpaid = Pattern.begin<Tagged>('placed')
    .where((t) => t.event.type === ShopEventTypes.orderPlaced)
    .notFollowedBy('paid')
    .where(isPayment)
    .within(options.paymentTimeoutMs ?? minutes(15));
  const unpaidAlerts = byOrder
    .keyBy((t) => t.orderId)
    .pattern(unpaid, { name: 'unpaid-order' })
    .map((m: PatternMatch<Tagged, string>): FraudAlert => {
      const placed = (m.events.placed ?? [])[0] as Tagged;
      return {
        rule: 'unpaid-order',
        orderId: m.key,
        customerId: placed.customerId,
        placedAt: m.start,
        at: m.end,
      };
    });
  const allAlerts = declineAlerts.union(unpaidAlerts);
  allAlerts.to({ committed: (items) => alerts.push(...items) });
  if (options.writeAlerts)
    allAlerts.to(
      storeSink({
        store,
        stream: () => 'fraud-alerts',
        event: (a) => ({ type: 'fraud.alert-raised', data: a }),
      }),
    );

  const jobs = { sales, topProducts: top, sessions: sessionsJob, fraud };
  const started: StreamJob<RecordedEvent>[] = [];
  try {
    for (const job of Object.values(jobs)) {
      await job.start();
      started.push(job);
    }
  } catch (error) {
    for (const job of started) await job.stop();
    throw error;
  }
  return {
    status: () => ({
      sales: sales.status(),
      topProducts: top.status(),
      sessions: sessionsJob.status(),
      fraud: fraud.status(),
    }),
    salesPerCategory: () =>
      [...salesNow.values()].sort(
        (a, b) => a.window.start - b.window.start || (a.category < b.category ? -1 : 1),
      ),
    topProducts: () => board,
    sessions: () => closedSessions.slice(),
    alerts: () => alerts.slice(),
    tick: async () => {
      for (const job of Object.values(jobs)) await job.tick();
    },
    waitForPosition: async (position, opts) => {
      for (const job of Object.values(jobs)) await job.waitForPosition(position, opts);
    },
    stop: async () => {
      for (const job of Object.values(jobs)) await job.stop();
    },
  };
}
