import type { Logger } from 'pino';
import {
  Projector,
  type ConsumerGroup,
  type DocumentsHandle,
  type StoreTransaction,
  type SagaQuery,
  type Backend as StoreContext,
} from '@causewayjs/core';
import { productStream } from './catalog-decider.js';
import { inventoryStream } from './inventory-decider.js';
import { createOrderNotifier } from './order-notifier.js';
import { declineAtRate } from './payment-failures.js';
import { INITIAL_STOCK, SHOP_PRODUCTS } from './shop-catalog.js';
import { createShopCommands, type ShopCommands } from './shop-commands.js';
import { shopProjections } from './shop-projections.js';
import { orderHistory } from './order-history-projection.js';
import { TrafficGenerator, type TrafficStats } from './traffic-generator.js';
import { startFulfilment, type FulfilmentHandle } from './shop-fulfilment.js';
import { FULFILMENT_SAGA } from './fulfilment-saga.js';
import {
  shopCommandNamespace,
  startShopBus,
  startShopCommandBus,
  type ShopBusHandle,
  type ShopCommandBusHandle,
} from './shop-bus.js';
import { startShopAnalytics, type ShopAnalytics } from './analytics.js';
import { startShopServer, type ShopServerHandle } from './shop-server.js';
import {
  CausewayMetrics,
  instrumentEventStore,
  isInstrumented,
  consumerGroupSource,
  sagaRuntimeSource,
  streamJobSource,
} from '@causewayjs/server';

/** Options of {@link startShop}. */
export interface StartShopOptions {
  /** The store and its components (see `openStoreContext`). */
  context: StoreContext;
  /** Serve the HTTP API and admin UI on this port (0: any free port; omit: no server). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Generate traffic: orders per second (omit or 0: none). */
  rate?: number;
  /** Stop the traffic after this many orders. */
  orders?: number;
  /** Stop the traffic after this many milliseconds. */
  durationMs?: number;
  /** Share of payment authorisations the simulated provider declines (0 to 1, default 0.1). */
  paymentFailureRate?: number;
  /** How long the saga waits for a payment answer before compensating (ms, default 30,000). */
  paymentTimeoutMs?: number;
  /** Seed of the traffic's random choices. */
  seed?: number;
  /** Add the catalog and stock first (default true; idempotent). */
  seedCatalog?: boolean;
  /** This process's id in the consumer groups (default: host, pid, random). */
  memberId?: string;
  /**
   * NATS URL: publish the store's events to JetStream through the outbox relay, and run the
   * command side over NATS request/reply (every process serves the handlers in a queue group,
   * the saga dispatches through NATS).
   */
  bus?: string;
  /** The JetStream stream the events go to (default `CAUSEWAY_SHOP`)... */
  busStream?: string;
  /** ...and the first token of its subjects (default `causeway`). */
  busPrefix?: string;
  /**
   * The namespace of the command subjects, `causeway-shop-commands.<namespace>.<type>`
   * (default: derived from the store, see `shopCommandNamespace`): the processes of one shop
   * share it, two shops on one NATS server must not.
   */
  busCommandNamespace?: string;
  /** With `bus`: how long the saga waits for a command's reply before trying again (ms, default 10,000). */
  commandTimeoutMs?: number;
  logger?: Logger;
}

/** Orders by status, from the order-history read model. */
export interface OrderCounts {
  /** Placed and not yet confirmed. */
  placed: number;
  completed: number;
  cancelled: number;
  /** Every order, whatever its status. */
  total: number;
  /** The position the read model had reached. */
  position: number;
}

/** A running shop: its parts, and `stop()`. */
export interface ShopHandle {
  /** The admin UI's address, when a server runs. */
  readonly url: string | undefined;
  readonly commands: ShopCommands;
  readonly projector: Projector<StoreTransaction, DocumentsHandle>;
  readonly traffic: TrafficGenerator | undefined;
  /** This process's member of the order notifier's consumer group. */
  readonly notifier: ConsumerGroup;
  /** The analytics jobs: sales per category, top products, sessions, fraud alerts. */
  readonly analytics: ShopAnalytics;
  /** The outbox relay to NATS, with `bus`. */
  readonly bus: ShopBusHandle | undefined;
  /** The command side over NATS (responder and the saga's dispatcher), with `bus`. */
  readonly commandBus: ShopCommandBusHandle | undefined;
  /** Saga instances, when the fulfilment saga runs. */
  readonly sagas: SagaQuery | undefined;
  /** What is running and what is missing (a part whose module is not there). */
  readonly parts: Record<string, 'running' | 'missing' | 'off'>;
  /**
   * The shop's metrics (served at `/metrics` with `port`): every append made through the
   * shop's store is counted in them.
   */
  readonly metrics: CausewayMetrics;
  /** Orders by status (from the order-history projection). */
  orderCounts(): Promise<OrderCounts>;
  trafficStats(): TrafficStats | undefined;
  /** Stops everything started here, in reverse order. The store is left open. */
  stop(): Promise<void>;
}

/**
 * Starts the shop example on a store: command handlers for the deciders, the projections
 * (order history, catalog with stock, customer profiles), the order notifier (a consumer
 * group), the fulfilment saga, the analytics jobs (in memory, over the live log), the
 * HTTP server with the admin UI (with `port`), and a traffic generator (with `rate`). With
 * `bus`, events are relayed to NATS JetStream and the saga's commands travel over NATS
 * request/reply to the handlers of any process of the shop.
 *
 * Several processes may run it on one PostgreSQL database: the projections run in one of
 * them at a time (the others stand by), the notifier's partitions are shared among them.
 */
export async function startShop(options: StartShopOptions): Promise<ShopHandle> {
  // Every append of the shop (commands, saga, notifier, HTTP) is counted in these metrics: the
  // store's instrumented layer measures them, whoever makes them.
  const metrics = new CausewayMetrics();
  const context = isInstrumented(options.context.store)
    ? options.context
    : options.context.withStore(instrumentEventStore(options.context.store));
  instrumentEventStore(context.store, { metrics });
  const store = context.store;
  const stops: (() => Promise<void>)[] = [];
  const parts: Record<string, 'running' | 'missing' | 'off'> = {};
  const stopAll = async () => {
    for (const stop of stops.reverse()) {
      await stop().catch((error: unknown) =>
        options.logger?.error({ err: error }, 'stopping a part of the shop failed'),
      );
    }
    stops.length = 0;
  };
  try {
    const commands = createShopCommands({
      store,
      decline: declineAtRate(options.paymentFailureRate ?? 0.1),
    });
    parts.commands = 'running';

    // With a bus, commands travel over NATS: this process serves its handlers to the shop's
    // queue group, and the saga's commands go to whichever process takes them.
    let commandBus: ShopCommandBusHandle | undefined;
    if (options.bus !== undefined) {
      const served = await startShopCommandBus({
        url: options.bus,
        handlers: commands.dispatcher,
        namespace: options.busCommandNamespace ?? shopCommandNamespace(context),
        ...(options.busPrefix === undefined ? {} : { eventPrefix: options.busPrefix }),
        ...(options.commandTimeoutMs === undefined ? {} : { timeoutMs: options.commandTimeoutMs }),
        ...(options.logger ? { logger: options.logger } : {}),
      });
      commandBus = served;
      // Stopped after the saga (stops run in reverse): its last commands still get answers.
      stops.push(() => served.stop());
      parts.commandBus = 'running';
    } else parts.commandBus = 'off';

    const projector = new Projector({
      store: await context.projectionStore(),
      projections: shopProjections,
      subscription: { lease: { wait: true, ttlMs: 10_000, retryIntervalMs: 500 } },
      ...(options.logger ? { logger: options.logger } : {}),
    });
    await projector.start();
    stops.push(() => projector.stop());
    parts.projections = 'running';

    const notifier = createOrderNotifier({
      storage: await context.subscriptionStorage(),
      membership: await context.groupMembership(),
      ...(options.memberId === undefined ? {} : { memberId: options.memberId }),
    });
    await notifier.start();
    stops.push(() => notifier.stop());
    parts.notifier = 'running';

    const fulfilment: FulfilmentHandle = await startFulfilment({
      context,
      dispatcher: commandBus?.dispatcher ?? commands.dispatcher,
      paymentTimeoutMs: options.paymentTimeoutMs ?? 30_000,
      ...(options.logger ? { logger: options.logger } : {}),
    });
    parts.fulfilment = 'running';
    stops.push(() => fulfilment.stop());

    const analytics = await startShopAnalytics({
      store,
      paymentTimeoutMs: options.paymentTimeoutMs ?? 30_000,
    });
    stops.push(() => analytics.stop());
    parts.analytics = 'running';

    let bus: ShopBusHandle | undefined;
    if (options.bus !== undefined) {
      const relay = await startShopBus({
        context,
        url: options.bus,
        ...(options.busStream === undefined ? {} : { stream: options.busStream }),
        ...(options.busPrefix === undefined ? {} : { prefix: options.busPrefix }),
        ...(options.logger ? { logger: options.logger } : {}),
      });
      bus = relay;
      stops.push(() => relay.stop());
      parts.bus = 'running';
    } else parts.bus = 'off';

    if (options.seedCatalog !== false) await addCatalog(context, commands);

    let server: ShopServerHandle | undefined;
    if (options.port !== undefined) {
      server = await startShopServer({
        context,
        metrics,
        projector,
        sagas: fulfilment.sagas,
        sagaRuntime: fulfilment.runtime,
        ...(bus ? { relay: bus.relay } : {}),
        runtime: [
          sagaRuntimeSource(fulfilment.runtime),
          consumerGroupSource(notifier),
          ...(['sales', 'topProducts', 'sessions', 'fraud'] as const).map((job) =>
            streamJobSource({ status: () => analytics.status()[job] }),
          ),
        ],
        subscriptions: [
          `saga:${FULFILMENT_SAGA}`,
          ...Array.from({ length: notifier.partitions }, (_, i) => notifier.partitionName(i)),
        ],
        port: options.port,
        host: options.host ?? '127.0.0.1',
        ...(options.logger ? { logger: options.logger } : {}),
      });
      parts.server = 'running';
      const s = server;
      stops.push(() => s.close());
    } else parts.server = 'off';

    let traffic: TrafficGenerator | undefined;
    if (options.rate !== undefined && options.rate > 0) {
      traffic = new TrafficGenerator({
        send: commands.send,
        rate: options.rate,
        ...(options.orders === undefined ? {} : { orders: options.orders }),
        ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
        ...(options.seed === undefined ? {} : { seed: options.seed }),
        onError: (error) => options.logger?.warn({ err: error }, 'traffic: an order failed'),
      });
      traffic.start();
      const t = traffic;
      stops.push(() => t.stop());
      parts.traffic = 'running';
    } else parts.traffic = 'off';

    return {
      url: server?.url,
      commands,
      projector,
      traffic,
      notifier,
      analytics,
      bus,
      commandBus,
      sagas: fulfilment.sagas,
      metrics,
      parts,
      orderCounts: () => orderCounts(projector),
      trafficStats: () => traffic?.stats,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Adds the catalog's products and their first stock, once (the commands are idempotent). */
async function addCatalog(context: StoreContext, commands: ShopCommands): Promise<void> {
  for (const product of SHOP_PRODUCTS) {
    const info = await context.store.streamInfo(productStream(product.sku));
    if (info.exists) continue;
    await commands.send('catalog.add-product', product, { actor: 'catalog-seed' });
    const stock = await context.store.streamInfo(inventoryStream(product.sku));
    if (!stock.exists)
      await commands.send(
        'inventory.restock',
        { sku: product.sku, quantity: INITIAL_STOCK },
        { actor: 'catalog-seed' },
      );
  }
}

async function orderCounts(
  projector: Projector<StoreTransaction, DocumentsHandle>,
): Promise<OrderCounts> {
  const { data, position } = await projector.query('order-history', async (rm) => {
    const orders = orderHistory(rm);
    const [placed, completed, cancelled, total] = await Promise.all([
      orders.count({ status: 'placed' }),
      orders.count({ status: 'completed' }),
      orders.count({ status: 'cancelled' }),
      orders.count(),
    ]);
    return { placed, completed, cancelled, total };
  });
  return { ...data, position };
}
