import type { BackoffOptions } from '../core/backoff.js';
import type { Clock } from '../core/clock.js';
import type { RecordedEvent } from '../core/envelope.js';
import { CausewayError, ErrorCode, InvalidArgumentError } from '../core/errors.js';
import type {
  AppendRequest,
  EventStore,
  ReadAllFilter,
  StoreTransaction,
} from '../store/event-store.js';
import { nack, type HandlerResult } from '../subscriptions/event-handler.js';
import type {
  ListParkedOptions,
  ParkedEvent,
  ParkedSelection,
} from '../subscriptions/parked-event-store.js';
import { Subscription, type SubscriptionStatus } from '../subscriptions/subscription.js';
import {
  SUBSCRIPTION_RETRY_DEFAULTS,
  type SubscriptionLeaseOptions,
  type SubscriptionLogger,
  type SubscriptionStart,
} from '../subscriptions/subscription-options.js';
import type { SubscriptionStorage } from '../subscriptions/subscription-storage.js';
import { bridgeAppends } from './bridge-appends.js';
import { TranslationFailedError } from './federation-errors.js';
import { identityTranslation, type Translation } from './translation.js';

/** What a bridge writes to: an event store of any adapter (decorated or not). */
export type BridgeTarget = Pick<EventStore, 'appendMany'>;

/** Options of {@link StoreBridge}. */
export interface StoreBridgeOptions<Tx extends StoreTransaction = StoreTransaction> {
  /** Names the bridge's checkpoint, lease and parked events in the source. */
  name: string;
  /**
   * The source's subscription storage (`(await openBackend(url)).subscriptionStorage()`):
   * its store is read, and the bridge's checkpoint, lease and parked events live there.
   */
  source: SubscriptionStorage<Tx>;
  /** Read events through this wrapper of the source store (an upcasting one, say). */
  sourceStore?: EventStore;
  /**
   * The target store. Give it decorated as its own services use it (with schemas, say): a
   * target event its schemas refuse is parked in the source, like a failed translation.
   */
  target: BridgeTarget;
  /** Source event → target events (default: carried over unchanged). */
  translation?: Translation;
  /**
   * The source's identity in the target events' ids (default: `name`). Keep it once events
   * have been bridged: a new one gives new ids, so the same events would be appended again.
   */
  sourceId?: string;
  /** Only events of these types / streams are read (the rest move the checkpoint on). */
  filter?: ReadAllFilter;
  /** Where to begin without a checkpoint (default `'start'`). */
  from?: SubscriptionStart;
  /** Source events per batch and per target append, 1 to 1,000 (default 100). */
  batchSize?: number;
  /** Retries of a failing target append (see the subscription's `retry`). */
  retry?: BackoffOptions;
  /**
   * When the target keeps failing (unreachable, say) past the retries: `'stop'` (default)
   * stops the bridge at that event, so target streams keep the source's order and nothing is
   * carried over out of turn; `'park'` parks the event and goes on.
   */
  onTargetFailure?: 'stop' | 'park';
  /** Record each event's source in `metadata.origin` (default true). */
  origin?: boolean;
  /** The exclusive lease in the source, as for subscriptions; `false` to run without one. */
  lease?: SubscriptionLeaseOptions | false;
  /** Longest one target append may take, in ms (default 30,000). */
  handlerTimeoutMs?: number;
  idleCheckIntervalMs?: number;
  clock?: Clock;
  logger?: SubscriptionLogger;
  /** Identifies this runner in the lease. */
  owner?: string;
}

/** A snapshot of a bridge (see {@link StoreBridge.status}). */
export interface StoreBridgeStatus extends SubscriptionStatus {
  /**
   * Source events this runner carried over (each position counted once per runner; after a
   * crash the new runner counts again what it replays).
   */
  translated: number;
  /** Of those, how many the translation left out (no target event). */
  dropped: number;
  /** Target events this runner appended (idempotent re-appends of a replay included). */
  written: number;
  /** Source events this runner parked because their translation failed. */
  translationFailures: number;
  /** The last error (translation or target), cleared by nothing: it is the last one seen. */
  lastError: Error | undefined;
}

/**
 * Shares one store's events with another store, of any adapter (SQLite into PostgreSQL,
 * memory into SQLite...), through a {@link Translation}. It runs as a checkpointed
 * subscription of the source, so it is resumable, fenced by the subscription's lease (one
 * active owner), and parks what it cannot carry (a failing translation, an event the
 * target's schemas refuse): list, retry and skip them as a subscription's.
 *
 * **Exactly once into the target.** The target append and the source checkpoint cannot
 * commit together (two databases), so the bridge makes the append idempotent instead: every
 * target event gets a deterministic id (`bridgedEventId(sourceId, source event id, output
 * index)`), and each source event's outputs for one target stream go in one append with
 * `expectedRevision: 'any'`. After a crash between the target append and the checkpoint, the
 * replay appends the very same ids to the same stream: the target recognises a stored append
 * and succeeds without writing (DESIGN §3 Append). A batch goes to the target in one atomic
 * `appendMany`.
 *
 * @example
 * ```ts
 * const from = await openBackend('sqlite:./data/shop.db');
 * const to = await openBackend('postgres://localhost/sales');
 * const bridge = new StoreBridge({
 *   name: 'shop-to-sales',
 *   source: await from.subscriptionStorage(),
 *   target: to.store,
 *   translation: contextMap({ 'order.placed': { type: 'sales.order-opened' } }),
 * });
 * await bridge.start();
 * bridge.status; // { state: 'live', position, translated, written, ... }
 * ```
 */
export class StoreBridge<Tx extends StoreTransaction = StoreTransaction> {
  readonly name: string;
  readonly sourceId: string;
  private readonly subscription: Subscription<Tx>;
  private readonly source: SubscriptionStorage<Tx>;
  private readonly reader: EventStore;
  private readonly target: BridgeTarget;
  private readonly translation: Translation;
  private readonly origin: boolean;
  private readonly onTargetFailure: 'stop' | 'park';
  private readonly attempts: number;
  private readonly logger: SubscriptionLogger | undefined;
  private counts = { translated: 0, dropped: 0, written: 0, translationFailures: 0 };
  private lastError: Error | undefined;
  /** The last source position {@link tally} counted. */
  private countedThrough = 0;

  constructor(options: StoreBridgeOptions<Tx>) {
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError('options', 'must be an object { name, source, target, ... }');
    if (typeof options.target?.appendMany !== 'function')
      throw new InvalidArgumentError('target', 'must be an event store');
    if (options.translation !== undefined && typeof options.translation !== 'function')
      throw new InvalidArgumentError(
        'translation',
        'must be a function (event, context) => events',
      );
    this.sourceId = options.sourceId ?? options.name;
    if (typeof this.sourceId !== 'string' || this.sourceId.length === 0)
      throw new InvalidArgumentError('sourceId', 'must be a non-empty string');
    const onTargetFailure = options.onTargetFailure ?? 'stop';
    if (onTargetFailure !== 'stop' && onTargetFailure !== 'park')
      throw new InvalidArgumentError('onTargetFailure', "must be 'stop' or 'park'");
    this.onTargetFailure = onTargetFailure;
    this.target = options.target;
    this.translation = options.translation ?? identityTranslation;
    this.origin = options.origin ?? true;
    this.attempts = options.retry?.attempts ?? SUBSCRIPTION_RETRY_DEFAULTS.attempts;
    this.logger = options.logger;
    this.subscription = new Subscription<Tx>({
      name: options.name,
      storage: options.source,
      source: options.sourceStore,
      filter: options.filter,
      from: options.from,
      batchSize: options.batchSize,
      retry: options.retry,
      lease: options.lease,
      handlerTimeoutMs: options.handlerTimeoutMs,
      idleCheckIntervalMs: options.idleCheckIntervalMs,
      clock: options.clock,
      logger: options.logger,
      owner: options.owner,
      handler: (event, ctx) => this.handle(event, ctx.attempt, ctx.retryingParked),
      batchHandler: (events) => this.handleBatch(events),
    });
    this.name = this.subscription.name;
    this.source = options.source;
    this.reader = options.sourceStore ?? options.source.store;
  }

  /** The bridge's state now: its subscription's, with what it carried over. */
  get status(): StoreBridgeStatus {
    return { ...this.subscription.status, ...this.counts, lastError: this.lastError };
  }

  /** Calls `listener` on every change of the bridge's subscription until the returned function is called. */
  onStatus(listener: (status: StoreBridgeStatus) => void): () => void {
    return this.subscription.onStatus(() => listener(this.status));
  }

  /** The checkpoint position reached: with `parkedCount`, a `LagSource` for metrics. */
  position(): number {
    return this.subscription.status.position;
  }

  /** Source events not yet carried over: the source's head minus the stored checkpoint. */
  async lag(): Promise<number> {
    const [head, checkpoint] = await Promise.all([
      this.reader.headPosition(),
      this.source.checkpoints.load(this.name),
    ]);
    return Math.max(0, head - (checkpoint?.position ?? 0));
  }

  /**
   * Starts bridging: takes the lease in the source, loads the checkpoint, catches up and
   * follows new commits.
   *
   * @throws {SubscriptionLeasedError} when another process runs this bridge (without `lease.wait`).
   */
  start(): Promise<void> {
    return this.subscription.start();
  }

  /** Stops after the event in hand; a later `start()` resumes from the checkpoint. */
  stop(): Promise<void> {
    return this.subscription.stop();
  }

  /** Resolves once every source event up to `position` is carried over (or parked). */
  waitForPosition(position: number, options?: { timeoutMs?: number }): Promise<void> {
    return this.subscription.waitForPosition(position, options);
  }

  /** Source events the bridge parked, in position order. */
  listParked(options?: ListParkedOptions): Promise<ParkedEvent[]> {
    return this.subscription.listParked(options);
  }

  /** How many source events the bridge has parked. */
  parkedCount(): Promise<number> {
    return this.subscription.parkedCount();
  }

  /** Translates and appends parked events again (once the translation or target is fixed). */
  retryParked(which: ParkedSelection): Promise<number> {
    return this.subscription.retryParked(which);
  }

  /** Gives up on parked events: they are never carried over. */
  skipParked(which: ParkedSelection): Promise<number> {
    return this.subscription.skipParked(which);
  }

  private plan(event: RecordedEvent): Promise<AppendRequest[]> {
    return bridgeAppends(event, {
      sourceId: this.sourceId,
      translation: this.translation,
      origin: this.origin,
    });
  }

  /**
   * Counts what was carried over for an event, once per position for this runner: a batch
   * that falls back to event-by-event handling, or a transaction rolled back and redone,
   * handles an event twice but counts it once.
   */
  private tally(event: RecordedEvent, requests: readonly AppendRequest[] | 'failed'): void {
    if (event.position <= this.countedThrough) return;
    this.countedThrough = event.position;
    if (requests === 'failed') {
      this.counts.translationFailures += 1;
      return;
    }
    this.counts.translated += 1;
    if (requests.length === 0) this.counts.dropped += 1;
    for (const r of requests) this.counts.written += r.events.length;
  }

  private async handle(
    event: RecordedEvent,
    attempt: number,
    retryingParked: boolean,
  ): Promise<HandlerResult | void> {
    let requests: AppendRequest[];
    try {
      requests = await this.plan(event);
    } catch (error) {
      if (!(error instanceof TranslationFailedError)) throw error;
      this.lastError = error;
      this.tally(event, 'failed');
      this.logger?.error(
        { bridge: this.name, eventId: event.id, position: event.position, err: error },
        'translation failed: the event is parked',
      );
      return nack.park(`${error.code}: ${error.message}`);
    }
    try {
      if (requests.length > 0) await this.target.appendMany(requests);
      this.tally(event, requests);
    } catch (error) {
      this.lastError = error instanceof Error ? error : new Error(String(error));
      if (refusedByTarget(error)) {
        const code = error instanceof CausewayError ? `${error.code}: ` : '';
        return nack.park(
          `the target refused the translated event: ${code}${this.lastError.message}`,
        );
      }
      if (attempt >= this.attempts && this.onTargetFailure === 'stop' && !retryingParked)
        return nack.stop(`the target failed ${attempt} times: ${this.lastError.message}`);
      throw error;
    }
  }

  /** The fast path: one target append for a whole batch; any failure goes event by event. */
  private async handleBatch(events: readonly RecordedEvent[]): Promise<HandlerResult | void> {
    const planned: AppendRequest[][] = [];
    try {
      for (const event of events) planned.push(await this.plan(event));
    } catch {
      return nack.retry('a translation failed: going event by event');
    }
    const requests = planned.flat();
    if (requests.length > 0) await this.target.appendMany(requests);
    events.forEach((event, i) => this.tally(event, planned[i] ?? []));
  }
}

/**
 * Failures of an append that no retry can cure: the event itself is wrong for the target
 * (its schemas refuse it, it is too large, a deleted stream). Detected by code, so the
 * bridge needs no import of the schema module.
 */
function refusedByTarget(error: unknown): boolean {
  if (!(error instanceof CausewayError)) return false;
  const codes: readonly string[] = [
    'SCHEMA_VALIDATION_FAILED',
    'UNREGISTERED_EVENT_TYPE',
    'UNKNOWN_SCHEMA_VERSION',
    ErrorCode.INVALID_EVENT,
    ErrorCode.EVENT_TOO_LARGE,
    ErrorCode.NOT_JSON,
    ErrorCode.STREAM_DELETED,
    ErrorCode.INVALID_STREAM_NAME,
    ErrorCode.DUPLICATE_EVENT_ID,
    ErrorCode.WRITE_REJECTED,
  ];
  return codes.includes(error.code);
}
