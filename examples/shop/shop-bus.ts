import { createHash, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { NatsCommandResponder } from '@causewayjs/nats';
import {
  OutboxRelay,
  type Backend as StoreContext,
  InvalidArgumentError,
  type CommandDispatcher,
} from '@causewayjs/core';

/** The shop's events on their way to NATS JetStream. */
export interface ShopBusHandle {
  readonly relay: OutboxRelay;
  stop(): Promise<void>;
}

/**
 * Publishes every committed event of the store to NATS JetStream (stream `CAUSEWAY_SHOP` by
 * default, subjects `causeway.<category>.<type>`) through the outbox relay: in position order, each
 * event once (its id is the broker's deduplication id), checkpointed only after the broker
 * acknowledged. With several processes, one relays at a time (a lease); the others stand by,
 * and resolve as soon as they do.
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
  const { NatsMessageBus } = await import('@causewayjs/nats');
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
    // `start()` resolves once this process holds the lease; a stand-by process must not wait
    // for that, so it is started once the relay runs or stands by (waiting for the lease).
    let off: () => void = () => undefined;
    const standingBy = new Promise<void>((resolve) => {
      off = relay.onStatus((status) => {
        if (status.state === 'waiting-for-lease') resolve();
      });
    });
    const started = relay.start();
    // A failure after standing by is the relay's to log (it does); do not leave it unhandled.
    started.catch(() => undefined);
    try {
      await Promise.race([started, standingBy]);
    } finally {
      off();
    }
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

/**
 * The first token of the shop's command subjects. Not `causeway`: the events' JetStream
 * stream captures `<event prefix>.>` (default `causeway.>`), and a stream capturing a request
 * would store it and answer it with its publish acknowledgement.
 */
export const SHOP_COMMAND_SUBJECT_ROOT = 'causeway-shop-commands';

/** The subject prefix of a shop's commands: `causeway-shop-commands.<namespace>`. */
export function shopCommandPrefix(namespace: string): string {
  return `${SHOP_COMMAND_SUBJECT_ROOT}.${namespace}`;
}

/** How long the saga waits for a command's reply over NATS before trying again (ms). */
export const SHOP_COMMAND_TIMEOUT_MS = 10_000;

/**
 * The namespace of a shop's command subjects, derived from its store: the same for every
 * process on one database (PostgreSQL host, port, database and schema; SQLite file), different
 * for two shops on different stores, so they can share a NATS server. A memory store is its
 * own shop: it gets a random namespace.
 *
 * @example
 * ```ts
 * shopCommandNamespace({ kind: 'sqlite', url: 'sqlite:./data/events.db' }); // e.g. '3f9a0c1d2b4e'
 * ```
 */
export function shopCommandNamespace(context: Pick<StoreContext, 'kind' | 'url'>): string {
  let identity: string;
  if (context.kind === 'postgres') {
    const url = new URL(context.url);
    // Credentials do not change which data it is; the schema does.
    identity = `postgres://${url.hostname.toLowerCase()}:${url.port || '5432'}${url.pathname}#${url.searchParams.get('schema') ?? 'public'}`;
  } else {
    const path = context.url.replace(/^sqlite:/i, '');
    identity =
      context.kind === 'memory' || path === ':memory:'
        ? `memory:${randomBytes(8).toString('hex')}`
        : `sqlite:${resolve(path)}`;
  }
  return createHash('sha256').update(identity).digest('hex').slice(0, 12);
}

/** The shop's commands over NATS request/reply: this process's responder and the saga's dispatcher. */
export interface ShopCommandBusHandle {
  /** Subject prefix: commands travel on `<prefix>.<type>` (e.g. `...inventory.reserve`). */
  readonly prefix: string;
  /** The responders' queue group: each command is handled by one process of the shop. */
  readonly queue: string;
  /** Sends commands to whichever process of the shop takes them (what the saga dispatches to). */
  readonly dispatcher: CommandDispatcher;
  /** This process's responder (its `answered` count). */
  readonly responder: NatsCommandResponder;
  /** Whether its NATS connection is closed (after `stop()`). */
  isClosed(): boolean;
  /** Stops taking commands (those in hand are answered), then closes the connection. */
  stop(): Promise<void>;
}

/**
 * Serves the shop's command handlers (`handlers`) over NATS request/reply in a queue group,
 * on subjects `causeway-shop-commands.<namespace>.<type>`, and returns a dispatcher that sends
 * commands there: with several processes on one database, a command the saga sends in one
 * process may be handled by any of them. The handlers apply a command id once, so the saga
 * resending a command after a timeout (with the same id) does no harm. One NATS connection,
 * closed by `stop()`.
 *
 * @throws {InvalidArgumentError} when `namespace` is not a subject token, `timeoutMs` not a
 * positive integer, or the command subjects fall under `eventPrefix`.
 */
export async function startShopCommandBus(options: {
  url: string;
  /** The shop's in-process handlers (`createShopCommands(...).dispatcher`). */
  handlers: CommandDispatcher;
  /** The shop's namespace (see {@link shopCommandNamespace}): ASCII letters, digits, `_`, `-`. */
  namespace: string;
  /** How long a dispatch waits for the reply (ms, default {@link SHOP_COMMAND_TIMEOUT_MS}). */
  timeoutMs?: number;
  /**
   * The events' subject prefix on the same server (default `causeway`): the command subjects
   * must not fall under it (its stream would capture the requests).
   */
  eventPrefix?: string;
  logger?: Logger;
}): Promise<ShopCommandBusHandle> {
  if (typeof options.namespace !== 'string' || !/^[A-Za-z0-9_-]+$/.test(options.namespace))
    throw new InvalidArgumentError('namespace', 'must be ASCII letters, digits, "_" or "-"');
  const timeoutMs = options.timeoutMs ?? SHOP_COMMAND_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1)
    throw new InvalidArgumentError('timeoutMs', 'must be an integer >= 1');
  const [{ connect }, { NatsCommandDispatcher, serveNatsCommands }] = await Promise.all([
    import('@nats-io/transport-node'),
    import('@causewayjs/nats'),
  ]);
  const prefix = shopCommandPrefix(options.namespace);
  const eventPrefix = options.eventPrefix ?? 'causeway';
  if (prefix === eventPrefix || prefix.startsWith(`${eventPrefix}.`))
    throw new InvalidArgumentError(
      'eventPrefix',
      `the events' subjects (${eventPrefix}.>) must not take in the command subjects (${prefix}.>)`,
    );
  const queue = `causeway-shop-${options.namespace}`;
  const connection = await connect({ servers: options.url, name: 'causeway-shop-commands' });
  try {
    const handlers = options.handlers;
    const responder = serveNatsCommands({
      connection,
      prefix,
      queue,
      handle: (command) => handlers.dispatch(command),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    // Make sure the server has the subscription before anyone dispatches to it.
    await connection.flush();
    const dispatcher = new NatsCommandDispatcher({ connection, prefix, timeoutMs });
    return {
      prefix,
      queue,
      dispatcher,
      responder,
      isClosed: () => connection.isClosed(),
      stop: async () => {
        try {
          await responder.stop();
        } finally {
          await connection.close();
        }
      },
    };
  } catch (error) {
    await connection.close();
    throw error;
  }
}
