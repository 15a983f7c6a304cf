import type { Logger } from 'pino';
import { OutboxRelay } from '../../src/bus/outbox-relay.js';
import type { StoreContext } from '../../src/cli/store-context.js';

/** The shop's events on their way to NATS JetStream. */
export interface ShopBusHandle {
  readonly relay: OutboxRelay;
  stop(): Promise<void>;
}

/**
 * Publishes every committed event of the store to NATS JetStream (stream `CAUSEWAY_SHOP` by
 * default, subjects `causeway.<category>.<type>`) through the outbox relay: in position order, each
 * event once (its id is the broker's deduplication id), checkpointed only after the broker
 * acknowledged. With several processes, one relays at a time (a lease); the others stand by.
 */
export async function startShopBus(options: {
  context: StoreContext;
  url: string;
  /** The JetStream stream (default `CAUSEWAY_SHOP`). */
  stream?: string;
  /** The first token of its subjects (default `causeway`); streams' subjects must not overlap. */
  prefix?: string;
  logger?: Logger;
}): Promise<ShopBusHandle> {
  const { NatsMessageBus } = await import('../../src/adapters/nats/nats-message-bus.js');
  const bus = await NatsMessageBus.connect(options.url, {
    stream: options.stream ?? 'CAUSEWAY_SHOP',
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  try {
    const relay = new OutboxRelay({
      name: 'shop-outbox',
      storage: await options.context.subscriptionStorage(),
      bus,
      lease: { wait: true, ttlMs: 10_000, retryIntervalMs: 500 },
      ...(options.logger ? { logger: options.logger } : {}),
    });
    await relay.start();
    return {
      relay,
      stop: async () => {
        await relay.stop();
        await bus.close();
      },
    };
  } catch (error) {
    await bus.close();
    throw error;
  }
}
