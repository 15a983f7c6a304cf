import { hostname } from 'node:os';
import { type Clock, systemClock } from '../core/clock.js';
import type { RecordedEvent } from '../core/envelope.js';
import { InvalidArgumentError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { resolveBackoff, type BackoffOptions, type ResolvedBackoff } from '../core/backoff.js';
import type {
  CommitListener,
  EventStore,
  ReadAllFilter,
  StoreTransaction,
} from '../store/event-store.js';
import { PAGE_SIZE } from '../store/reading.js';
import type { BatchHandler, EventHandler } from './event-handler.js';
import type { SubscriptionStorage } from './subscription-storage.js';
import { assertMilliseconds, assertName, assertPosition } from './validation.js';

/** Where a subscription without a checkpoint begins. */
export type SubscriptionStart =
  /** With the first event of the log. */
  | 'start'
  /** With the first event committed after it first starts (that point is saved at once). */
  | 'end'
  /** With the first event after this position. */
  | { after: number };

/** A logger the subscription reports to (pino's shape: `logger.warn(fields, message)`). */
export interface SubscriptionLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** How a subscription makes sure it runs in one process at a time. */
export interface SubscriptionLeaseOptions {
  /** How long a lease lasts unless renewed, in ms (default 30,000); renewed every third of it. */
  ttlMs?: number;
  /**
   * When another process holds the lease: `false` (default) makes `start()` fail with
   * `SubscriptionLeasedError`; `true` makes it wait (state `'waiting-for-lease'`) and take
   * over once the lease is released or expires.
   */
  wait?: boolean;
  /** While waiting, how often to try for the lease, in ms (default 1,000). */
  retryIntervalMs?: number;
}

/**
 * The bounds of a catch-up batch (see {@link SubscriptionOptions.catchUp}). A batch is read
 * whole before it is handled, so `maxBatchSize` also bounds the events held in memory.
 */
export interface SubscriptionCatchUpOptions {
  /**
   * Most events per read and per transaction while behind the head of the log, from
   * `batchSize` to 100,000 (default 5,000, or `batchSize` if that is larger).
   */
  maxBatchSize?: number;
  /**
   * Once the handler calls of one transaction have taken this long (in ms, default 250) and it
   * holds at least `batchSize` events, it commits there and the rest of the batch goes on in
   * the next one; the next read is no larger than what fitted. It keeps one transaction (and,
   * on SQLite, the store's write lock) from being held for long by a slow handler.
   */
  maxBatchMs?: number;
}

/** Most events a catch-up batch may hold. */
export const MAX_CATCH_UP_BATCH_SIZE = 100_000;

/** The catch-up bounds of a subscription whose `batchSize` is left out. */
export const CATCH_UP_DEFAULTS = { maxBatchSize: 5000, maxBatchMs: 250 } as const;

/** Options of {@link Subscription}. */
export interface SubscriptionOptions<Tx extends StoreTransaction = StoreTransaction> {
  /** Names the subscription's checkpoint, lease and parked events. */
  name: string;
  /** Where checkpoints, parked events and leases live, and whose store is read. */
  storage: SubscriptionStorage<Tx>;
  /** Handles each event (see {@link EventHandler}). */
  handler: EventHandler<Tx>;
  /**
   * Handles a batch of two or more events in one call, tried first on each batch (see
   * {@link BatchHandler}); when it does not acknowledge, the batch goes to `handler`.
   */
  batchHandler?: BatchHandler<Tx>;
  /**
   * The store to read events from: by default `storage.store`. Give a wrapper of that same
   * store here (one that upcasts, say) to receive what it reads.
   */
  source?: EventStore;
  /**
   * Stands between the subscription and the commit notifications it wakes on (see
   * {@link WakeGate}). Default: none, the store's notifications wake it at once.
   */
  wakeGate?: WakeGate;
  /** Where to begin when there is no checkpoint (default `'start'`). */
  from?: SubscriptionStart;
  /** Only events of these types / streams, filtered by the store. */
  filter?: ReadAllFilter;
  /**
   * Only events for which this returns true, filtered in process after reading (consumer
   * groups use it to pick a partition). Events it rejects still move the checkpoint on.
   */
  where?: (event: RecordedEvent) => boolean;
  /**
   * Events read per batch, at most 1,000 (default 100). A batch is handled in one
   * transaction when every handler call succeeds, event by event otherwise. It bounds memory:
   * nothing more is read until the batch is done. Given without `catchUp`, every batch keeps
   * this size, catching up or live; left out, it is the size of live batches and of the first
   * batch of a catch-up, and batches grow while behind (see `catchUp`).
   */
  batchSize?: number;
  /**
   * How batches grow while the subscription is behind the head of the log: each full read
   * doubles the next one, up to `maxBatchSize` events, and a transaction commits once its
   * handler calls have taken `maxBatchMs`; at the head of the log batches are `batchSize`
   * again. Default: `{ maxBatchSize: 5000, maxBatchMs: 250 }` when `batchSize` is left out,
   * `false` (every batch `batchSize`) when it is given. See {@link SubscriptionCatchUpOptions}.
   */
  catchUp?: SubscriptionCatchUpOptions | false;
  /**
   * Retries of a failing event (`attempts` in all, default 5, with exponential backoff and
   * full jitter from `baseDelayMs` 100 to `maxDelayMs` 30,000) before it is parked. Also how
   * often a database failure is retried before the subscription stops; an unreachable database
   * (`StoreUnavailableError`) is waited out instead, however long it lasts.
   */
  retry?: BackoffOptions;
  /** Longest a handler may take on one event (a batch handler on one batch), in ms (default 30,000). */
  handlerTimeoutMs?: number;
  /** The exclusive lease; `false` to run without one (never both for one name!). */
  lease?: SubscriptionLeaseOptions | false;
  /** Source of lease and parking times. Default: the system clock. */
  clock?: Clock;
  /** Where to report parked events, retries and stops. Default: nowhere. */
  logger?: SubscriptionLogger;
  /**
   * How often an idle subscription looks for retry requests made by other processes (and
   * polls a store that cannot be watched), in ms (default 1,000).
   */
  idleCheckIntervalMs?: number;
  /** Identifies this runner in leases. Default: host, process id and a random suffix. */
  owner?: string;
}

/**
 * Stands between subscriptions and the commit notifications they wake on: `watch` is called
 * with the store a subscription would watch and the subscription's listener, and returns how
 * to stop. A saga runtime holds notifications back this way while its commands are out
 * (`SagaRuntimeOptions.stepLingerMs`), so that one step transaction takes several commits.
 */
export interface WakeGate {
  watch(store: Pick<EventStore, 'watch'>, listener: CommitListener): () => void;
}

/** {@link SubscriptionOptions} checked, with every default filled in. */
export interface ResolvedSubscriptionOptions<Tx extends StoreTransaction> {
  name: string;
  storage: SubscriptionStorage<Tx>;
  handler: EventHandler<Tx>;
  batchHandler: BatchHandler<Tx> | undefined;
  source: EventStore;
  wakeGate: WakeGate | undefined;
  from: SubscriptionStart;
  filter: ReadAllFilter | undefined;
  where: ((event: RecordedEvent) => boolean) | undefined;
  batchSize: number;
  /** `catchUp` resolved: with `catchUp: false`, `maxBatchSize` is `batchSize`. */
  catchUp: Required<SubscriptionCatchUpOptions>;
  retry: ResolvedBackoff;
  handlerTimeoutMs: number;
  lease: Required<SubscriptionLeaseOptions> | false;
  clock: Clock;
  logger: SubscriptionLogger | undefined;
  idleCheckIntervalMs: number;
  owner: string;
}

/** Defaults of the retry policy of subscriptions. */
export const SUBSCRIPTION_RETRY_DEFAULTS = { attempts: 5, baseDelayMs: 100, maxDelayMs: 30_000 };

/**
 * Checks subscription options and fills in the defaults.
 *
 * @throws {InvalidArgumentError} naming the first bad option.
 */
export function resolveSubscriptionOptions<Tx extends StoreTransaction>(
  options: SubscriptionOptions<Tx>,
): ResolvedSubscriptionOptions<Tx> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('options', 'must be an object { name, storage, handler, ... }');
  assertName(options.name);
  const storage = options.storage;
  if (
    typeof storage !== 'object' ||
    storage === null ||
    !storage.store ||
    !storage.checkpoints ||
    !storage.parked ||
    !storage.leases
  )
    throw new InvalidArgumentError(
      'storage',
      'must be subscription storage, as made by memorySubscriptionStorage / sqliteSubscriptionStorage / postgresSubscriptionStorage',
    );
  if (typeof storage.store.transaction !== 'function')
    throw new InvalidArgumentError('storage', 'its store has no transaction()');
  if (typeof options.handler !== 'function')
    throw new InvalidArgumentError('handler', 'must be a function (event, context) => ...');
  if (options.batchHandler !== undefined && typeof options.batchHandler !== 'function')
    throw new InvalidArgumentError('batchHandler', 'must be a function (events, context) => ...');
  const source = options.source ?? storage.store;
  if (typeof source !== 'object' || source === null || typeof source.readAll !== 'function')
    throw new InvalidArgumentError('source', 'must be an event store');
  const from = options.from ?? 'start';
  if (from !== 'start' && from !== 'end') {
    if (typeof from !== 'object' || from === null)
      throw new InvalidArgumentError('from', "must be 'start', 'end' or { after: position }");
    assertPosition(from.after, 'from.after');
  }
  checkFilter(options.filter);
  if (options.where !== undefined && typeof options.where !== 'function')
    throw new InvalidArgumentError('where', 'must be a function (event) => boolean');
  const batchSize = options.batchSize ?? 100;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > PAGE_SIZE)
    throw new InvalidArgumentError('batchSize', `must be an integer from 1 to ${PAGE_SIZE}`);
  // An explicit batchSize alone keeps its old meaning: every batch that size.
  const catchUp = resolveCatchUp(
    options.catchUp ?? (options.batchSize === undefined ? {} : false),
    batchSize,
  );
  const handlerTimeoutMs = options.handlerTimeoutMs ?? 30_000;
  assertMilliseconds(handlerTimeoutMs, 'handlerTimeoutMs');
  const idleCheckIntervalMs = options.idleCheckIntervalMs ?? 1000;
  assertMilliseconds(idleCheckIntervalMs, 'idleCheckIntervalMs');
  let lease: Required<SubscriptionLeaseOptions> | false = false;
  if (options.lease !== false) {
    const l = options.lease ?? {};
    if (typeof l !== 'object' || l === null)
      throw new InvalidArgumentError('lease', 'must be false or { ttlMs, wait, retryIntervalMs }');
    lease = {
      ttlMs: l.ttlMs ?? 30_000,
      wait: l.wait ?? false,
      retryIntervalMs: l.retryIntervalMs ?? 1000,
    };
    assertMilliseconds(lease.ttlMs, 'lease.ttlMs');
    assertMilliseconds(lease.retryIntervalMs, 'lease.retryIntervalMs');
    if (typeof lease.wait !== 'boolean')
      throw new InvalidArgumentError('lease.wait', 'must be a boolean');
  }
  const wakeGate = options.wakeGate;
  if (
    wakeGate !== undefined &&
    (typeof wakeGate !== 'object' || wakeGate === null || typeof wakeGate.watch !== 'function')
  )
    throw new InvalidArgumentError('wakeGate', 'must be an object with watch(store, listener)');
  const owner = options.owner ?? `${hostname()}:${process.pid}:${newId().slice(-12)}`;
  assertName(owner, 'owner');
  return {
    name: options.name,
    storage,
    handler: options.handler,
    batchHandler: options.batchHandler,
    source,
    wakeGate,
    from,
    filter: options.filter,
    where: options.where,
    batchSize,
    catchUp,
    retry: resolveBackoff({ ...SUBSCRIPTION_RETRY_DEFAULTS, ...options.retry }),
    handlerTimeoutMs,
    lease,
    clock: options.clock ?? systemClock,
    logger: options.logger,
    idleCheckIntervalMs,
    owner,
  };
}

function resolveCatchUp(
  catchUp: SubscriptionCatchUpOptions | false,
  batchSize: number,
): Required<SubscriptionCatchUpOptions> {
  if (catchUp === false)
    return { maxBatchSize: batchSize, maxBatchMs: CATCH_UP_DEFAULTS.maxBatchMs };
  if (typeof catchUp !== 'object' || catchUp === null)
    throw new InvalidArgumentError('catchUp', 'must be false or { maxBatchSize, maxBatchMs }');
  const maxBatchSize = catchUp.maxBatchSize ?? Math.max(CATCH_UP_DEFAULTS.maxBatchSize, batchSize);
  if (
    !Number.isSafeInteger(maxBatchSize) ||
    maxBatchSize < batchSize ||
    maxBatchSize > MAX_CATCH_UP_BATCH_SIZE
  )
    throw new InvalidArgumentError(
      'catchUp.maxBatchSize',
      `must be an integer from batchSize (${batchSize}) to ${MAX_CATCH_UP_BATCH_SIZE}`,
    );
  const maxBatchMs = catchUp.maxBatchMs ?? CATCH_UP_DEFAULTS.maxBatchMs;
  assertMilliseconds(maxBatchMs, 'catchUp.maxBatchMs');
  return { maxBatchSize, maxBatchMs };
}

function checkFilter(filter: ReadAllFilter | undefined): void {
  if (filter === undefined) return;
  if (typeof filter !== 'object' || filter === null)
    throw new InvalidArgumentError('filter', 'must be an object { types, streamPrefix }');
  const types: unknown = filter.types;
  if (
    types !== undefined &&
    (!Array.isArray(types) || types.some((t) => typeof t !== 'string' || t.length === 0))
  )
    throw new InvalidArgumentError('filter', 'filter.types must be an array of non-empty strings');
  const prefix: unknown = filter.streamPrefix;
  if (prefix !== undefined && (typeof prefix !== 'string' || prefix.length === 0))
    throw new InvalidArgumentError('filter', 'filter.streamPrefix must be a non-empty string');
}
