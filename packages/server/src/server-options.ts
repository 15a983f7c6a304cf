import type { Logger } from 'pino';
import type {
  TransactionalEventStore,
  ScavengeOptions,
  ScavengeReport,
  ProjectionStatus,
  ProjectionBuild,
  ListParkedOptions,
  ParkedEvent,
  ParkedEventStore,
  ParkedSelection,
  SagaQuery,
  SagaCommandAdmin,
  SchemaRegistry,
  AccessGuard,
} from '@causewayjs/core';
import type { CausewayMetrics } from '@causewayjs/core/internals';
import type { HstsOptions } from './hsts.js';

/** What the server needs of a projector (`Projector` is one). */
export interface ServerProjector {
  readonly names: string[];
  status(name: string): Promise<ProjectionStatus>;
  statuses(): Promise<ProjectionStatus[]>;
  rebuild(name: string): Promise<ProjectionBuild>;
  listParked(name: string, options?: ListParkedOptions): Promise<ParkedEvent[]>;
  retryParked(name: string, which: ParkedSelection): Promise<number>;
  skipParked(name: string, which: ParkedSelection): Promise<number>;
}

/**
 * A subscription whose parked events the server lists, retries and skips, and whose lag it
 * reports. A `Subscription` is one; {@link parkedSubscription} makes one from a parked event
 * store and a subscription name, for subscriptions running in another process.
 */
export interface ServerSubscription {
  readonly name: string;
  listParked(options?: ListParkedOptions): Promise<ParkedEvent[]>;
  parkedCount(): Promise<number>;
  retryParked(which: ParkedSelection): Promise<number>;
  skipParked(which: ParkedSelection): Promise<number>;
  /** Where it is, when it runs in this process (lag is reported from `position`). */
  readonly status?: { readonly position: number; readonly state: string } | undefined;
}

/**
 * A {@link ServerSubscription} over a parked event store, for a subscription named `name`
 * that may run elsewhere: a retry marks the events, and the running subscription picks them
 * up (at the latest at its next start).
 */
export function parkedSubscription(
  name: string,
  parked: ParkedEventStore,
  position?: () => number,
): ServerSubscription {
  return {
    name,
    listParked: (options) => parked.list(name, options),
    parkedCount: () => parked.count(name),
    retryParked: (which) => parked.requestRetry(name, which),
    skipParked: (which) => parked.remove(name, which),
    ...(position
      ? {
          get status() {
            return { position: position(), state: 'unknown' };
          },
        }
      : {}),
  };
}

/** How to fold one category of streams into state, for time travel (`GET /streams/:stream/state`). */
export interface AggregateFold {
  initialState: unknown;
  // The state and event types differ by aggregate; the server only passes them through.
  evolve(state: never, event: never): unknown;
}

/** TLS material: PEM text, buffers, or paths of PEM files. */
export interface TlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  /**
   * The event store served (any adapter), or a decorated stack of it (`storeStack`, or a
   * `stackBackend` view's `store`): every route reads and writes through it, so a stack that
   * decrypts, upcasts or validates does so for the JSON API, server-sent events, CloudEvents
   * and the admin UI alike.
   */
  store: TransactionalEventStore;
  /** Projectors whose projections are listed, rebuilt and whose parked events are managed. */
  projectors?: readonly ServerProjector[];
  /** Subscriptions whose parked events are managed and whose lag is reported. */
  subscriptions?: readonly ServerSubscription[];
  /** Saga instances (list, detail, and saga states in the metrics). */
  sagas?: SagaQuery;
  /**
   * What `POST /admin/scavenge` runs: a backend's `scavenge` (which also clears tombstoned
   * streams' snapshots). Default: the served store's own `scavenge`, when it has one.
   */
  scavenge?: (options: ScavengeOptions) => Promise<ScavengeReport>;
  /**
   * Parked saga outbox commands (list, retry, skip under `/saga-commands`): a running
   * `SagaRuntime`'s `parkedCommands`, or a `ParkedSagaCommands` over the saga store.
   */
  sagaCommands?: SagaCommandAdmin;
  /**
   * The schema registry: served under `/schemas`, and every append the server makes (stream
   * appends, CloudEvents, any other route) is validated against it (422 on failure): the
   * server serves `store` under a `withSchemas` layer of it, made once, unless `store` already
   * validates (it stacks `withSchemas`) or `validateAppends` is false. Default: the registry of
   * the store's own `withSchemas` layer, if it has one.
   */
  schemas?: SchemaRegistry;
  /**
   * Validate appended events whose type has a schema. Default true when `schemas` is given;
   * `false` serves `store` as given (which still validates if it stacks `withSchemas`).
   */
  validateAppends?: boolean;
  /**
   * Folds by stream category (the part of the name before the first `-`: `order` for
   * `order-42`), for `GET /streams/:stream/state?revision=N`.
   */
  aggregates?: Readonly<Record<string, AggregateFold>>;
  /** Who may do what. Default `openAccess` (then `listen` keeps to loopback addresses). */
  guard?: AccessGuard;
  /** Allow `listen` on a non-loopback address with `openAccess`. Default false. */
  allowInsecure?: boolean;
  /** Serve HTTPS with this certificate and key. */
  tls?: TlsOptions;
  /**
   * `Strict-Transport-Security` on every response when serving HTTPS (never over plain HTTP).
   * Default `{ maxAgeSeconds: 31536000 }` (one year, this host only); `false` sends none.
   */
  hsts?: HstsOptions | false;
  /** Where request and server logs go (pino). Default: none; `createLogger()` makes one. */
  logger?: Logger;
  /** Prometheus metrics. Default: a new {@link CausewayMetrics} on its own registry. */
  metrics?: CausewayMetrics;
  /** Largest request body, in bytes. Default 4 MiB. */
  bodyLimit?: number;
  /**
   * Extra readiness check for `GET /ready` (besides the store being open and the server not
   * closing). Return false, or throw, for 503.
   */
  ready?: () => boolean | Promise<boolean>;
  /** Serve the admin UI at `/`. Default true. */
  adminUi?: boolean;
  /** Interval of SSE keep-alive comments, in ms. Default 15,000. */
  sseHeartbeatMs?: number;
  /** How often the store is polled for new events when it cannot `watch`, in ms. Default 250. */
  pollIntervalMs?: number;
  /** How many events around an event `GET /events/:position` scans for its causation chain. Default 1,000. */
  causationWindow?: number;
  /** How often the head position is sampled for `/stats`, in ms. Default 1,000; 0 turns it off. */
  statsSampleMs?: number;
  /**
   * The CloudEvents `source` of events answered as CloudEvents (reads and `GET /subscribe`
   * asked with `Accept: application/cloudevents+json`) that did not arrive as CloudEvents.
   * Default `urn:causeway`.
   */
  cloudEventSource?: string;
}
