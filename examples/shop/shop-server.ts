import type { Logger } from 'pino';
import type {
  DocumentsHandle,
  Projector,
  StoreTransaction,
  SagaQuery,
  SagaRuntime,
  OutboxRelay,
  Backend as StoreContext,
} from '@causewayjs/core';
import {
  CausewayMetrics,
  type RuntimeSource,
  createServer,
  parkedSubscription,
} from '@causewayjs/server';
import { catalogDecider } from './catalog-decider.js';
import { inventoryDecider } from './inventory-decider.js';
import { orderDecider } from './order-decider.js';
import { paymentDecider } from './payment-decider.js';
import { shippingDecider } from './shipping-decider.js';

/** The shop's HTTP server. */
export interface ShopServerHandle {
  /** The admin UI's address. */
  readonly url: string;
  close(): Promise<void>;
}

/** Options of {@link startShopServer}. */
export interface ShopServerOptions {
  context: StoreContext;
  projector: Projector<StoreTransaction, DocumentsHandle>;
  /** Subscriptions (by name) whose parked events the admin UI manages, besides projections'. */
  subscriptions?: readonly string[];
  sagas?: SagaQuery;
  /**
   * The saga runtime run here: its outcomes and outbox backlog go to `/metrics`, and its
   * parked commands are served under `/saga-commands`.
   */
  sagaRuntime?: SagaRuntime;
  /** The outbox relay run here (with `--bus`): its progress and state go to `/metrics`. */
  relay?: OutboxRelay;
  /**
   * The components running here (saga runner, notifier partitions, stream jobs): their live
   * state, position and lag go to `/metrics`, `/stats` and the admin UI.
   */
  runtime?: readonly RuntimeSource[];
  /** The metrics to serve (default: new ones). */
  metrics?: CausewayMetrics;
  port: number;
  host: string;
  logger?: Logger;
}

/**
 * Serves the HTTP API and the admin UI for the shop: its projections, the parked events of
 * its subscriptions, the fulfilment saga's instances and parked commands (with its runtime's
 * and the outbox relay's metrics), and time travel over its aggregates
 * (`order-`, `product-`, `inventory-`, `payment-`, `shipment-` streams).
 */
export async function startShopServer(options: ShopServerOptions): Promise<ShopServerHandle> {
  const storage = await options.context.subscriptionStorage();
  const metrics = options.metrics ?? new CausewayMetrics();
  if (options.sagaRuntime) metrics.trackSagaRuntime(options.sagaRuntime);
  if (options.relay) metrics.trackRelay(options.relay);
  for (const source of options.runtime ?? []) metrics.runtime.add(source);
  const server = await createServer({
    metrics,
    store: options.context.store,
    projectors: [options.projector],
    subscriptions: (options.subscriptions ?? []).map((name) =>
      parkedSubscription(name, storage.parked),
    ),
    ...(options.sagas ? { sagas: options.sagas } : {}),
    ...(options.sagaRuntime ? { sagaCommands: options.sagaRuntime.parkedCommands } : {}),
    aggregates: {
      order: orderDecider,
      product: catalogDecider,
      inventory: inventoryDecider,
      payment: paymentDecider,
      shipment: shippingDecider,
    },
    ...(options.logger ? { logger: options.logger } : {}),
  });
  try {
    const address = await server.listen({ host: options.host, port: options.port });
    return { url: `${address.url}/`, close: () => server.close() };
  } catch (error) {
    await server.close();
    throw error;
  }
}
