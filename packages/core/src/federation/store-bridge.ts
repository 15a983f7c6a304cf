import {
  OutboxRelay,
  type OutboxRelayStatus,
  type RelayParkedRetryResult,
} from '../bus/outbox-relay.js';
import type { Clock } from '../core/clock.js';
import type { RecordedEvent } from '../core/envelope.js';
import { InvalidArgumentError } from '../core/errors.js';
import type {
  AppendRequest,
  EventStore,
  ReadAllFilter,
  StoreTransaction,
} from '../store/event-store.js';
import type {
  ListParkedOptions,
  ParkedEvent,
  ParkedEventStore,
  ParkedSelection,
} from '../subscriptions/parked-event-store.js';
import type {
  SubscriptionLeaseOptions,
  SubscriptionLogger,
} from '../subscriptions/subscription-options.js';
import type { SubscriptionStorage } from '../subscriptions/subscription-storage.js';
import { storeTarget, type BridgeTarget } from './store-target.js';
import { identityTranslation, type Translation } from './translation.js';

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
  /**
   * The target's identity as the bridge the other way names it (that bridge's `sourceId`):
   * events that first came from the target (their `metadata.origin.system`) are not carried
   * back, so two bridges between the same two stores, one each way, do not loop.
   */
  targetId?: string;
  /** Only events of these types / streams are carried (the rest move the checkpoint on). */
  filter?: ReadAllFilter;
  /** Source events read per round, 1 to 1,000 (default 100); the checkpoint moves per round. */
  batchSize?: number;
  /**
   * Waits between tries while the target fails (unreachable, say): exponential with full
   * jitter from `baseDelayMs` (default 100) to `maxDelayMs` (default 5,000). The bridge never
   * gives up on the target, and never carries a later event over first.
   */
  retry?: { baseDelayMs?: number; maxDelayMs?: number };
  /** Record each event's source in `metadata.origin` (default true). */
  origin?: boolean;
  /** The exclusive lease in the source, as for subscriptions; `false` to run without one. */
  lease?: SubscriptionLeaseOptions | false;
  /** How often an idle bridge looks for new events when the source cannot be watched, in ms. */
  idleCheckIntervalMs?: number;
  clock?: Clock;
  logger?: SubscriptionLogger;
  /** Identifies this runner in the lease. */
  owner?: string;
}

/** A snapshot of a bridge (see {@link StoreBridge.status}). */
export interface StoreBridgeStatus extends OutboxRelayStatus {
  /**
   * Source events this runner carried over, each position counted once per runner (after a
   * crash the new runner counts again what it replays).
   */
  translated: number;
  /** Of those, how many the translation left out (no target event), or came from the target. */
  dropped: number;
  /** Target events this runner appended (idempotent re-appends of a replay included). */
  written: number;
  /** Source events whose translation failed (parked), counted as `translated` is. */
  translationFailures: number;
}

/**
 * Shares one store's events with another store, of any adapter (SQLite into PostgreSQL,
 * memory into SQLite...), through a {@link Translation}. It is an `OutboxRelay` of the source
 * whose target appends to the other store (see `storeTarget`): checkpointed in the source,
 * fenced by its lease there (one active owner; a stale owner's checkpoint commit fails),
 * resumable, waiting out target outages in order, and parking in the source what it can
 * never carry (a failing translation, an event the target's schemas refuse): list, retry
 * and skip them with its methods or `causeway parked`.
 *
 * **Exactly once into the target.** The target append and the source checkpoint cannot
 * commit together (two databases), so the bridge makes the append idempotent instead: every
 * target event gets a deterministic id (`bridgedEventId(sourceId, source event id, output
 * index)`), and each source event's outputs for one target stream go in one append with
 * `expectedRevision: 'any'`. After a crash between the target append and the checkpoint, the
 * replay appends the very same ids to the same stream: the target recognises a stored append
 * and succeeds without writing (DESIGN §3 Append). The source's transaction is never held
 * while the target is written, so two bridges, one each way, cannot deadlock.
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
 * bridge.status; // { state: 'running', position, lag, translated, written, parked, ... }
 * ```
 */
export class StoreBridge<Tx extends StoreTransaction = StoreTransaction> {
  readonly name: string;
  readonly sourceId: string;
  /**
   * The outbox relay the bridge runs as: for `metrics.trackRelay(bridge.relay)` (Prometheus
   * figures of published events, failures, lag and state). Start and stop the bridge, not it.
   */
  readonly relay: OutboxRelay<Tx>;
  private counts = { translated: 0, dropped: 0, written: 0, translationFailures: 0 };
  /** The last source position {@link tally} counted. */
  private countedThrough = 0;
  private readonly parked: ParkedEventStore<Tx>;
  private readonly retryCheckMs: number;
  private retryTimer: ReturnType<typeof setInterval> | undefined;
  private retrying: Promise<void> | undefined;

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
    const targetId = options.targetId;
    if (targetId !== undefined && (typeof targetId !== 'string' || targetId.length === 0))
      throw new InvalidArgumentError('targetId', 'must be a non-empty string');
    this.relay = new OutboxRelay<Tx>({
      name: options.name,
      storage: options.source,
      bus: storeTarget({
        target: options.target,
        translation: options.translation ?? identityTranslation,
        sourceId: this.sourceId,
        ...(targetId === undefined ? {} : { targetId }),
        ...(options.origin === undefined ? {} : { origin: options.origin }),
        onCarried: (event, requests) => this.tally(event, requests),
      }),
      // One at a time: the target receives the events in source order.
      maxInFlight: 1,
      batchSize: options.batchSize ?? 100,
      ...(options.sourceStore === undefined ? {} : { source: options.sourceStore }),
      ...(options.filter === undefined ? {} : { filter: options.filter }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.lease === undefined ? {} : { lease: options.lease }),
      ...(options.idleCheckIntervalMs === undefined
        ? {}
        : { idleCheckIntervalMs: options.idleCheckIntervalMs }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.owner === undefined ? {} : { owner: options.owner }),
    });
    this.name = this.relay.name;
    this.parked = options.source.parked;
    this.retryCheckMs = options.idleCheckIntervalMs ?? 1000;
  }

  /**
   * The bridge's state now: its relay's (state, position, head, lag, parked, failures,
   * lastError) with what it carried over. `published` counts source events handed to the
   * target; `parked` those it parked.
   */
  get status(): StoreBridgeStatus {
    return { ...this.relay.status(), ...this.counts };
  }

  /** Calls `listener` on every status change until the returned function is called. */
  onStatus(listener: (status: StoreBridgeStatus) => void): () => void {
    return this.relay.onStatus((status) => listener({ ...status, ...this.counts }));
  }

  /** The checkpoint position reached: with `name` and `parkedCount`, a `LagSource` for metrics. */
  position(): number {
    return this.relay.position();
  }

  /** Source events not yet carried over: the source's head minus the stored checkpoint. */
  lag(): Promise<number> {
    return this.relay.lag();
  }

  /**
   * Starts bridging: takes the lease in the source, loads the checkpoint, catches up and
   * follows new commits.
   *
   * @throws {SubscriptionLeasedError} when another process runs this bridge (without `lease.wait`).
   * @throws {CheckpointAheadError} when the checkpoint is beyond the end of the source.
   */
  async start(): Promise<void> {
    await this.relay.start();
    if (this.retryTimer === undefined && this.relay.status().state !== 'stopped') {
      // Retries asked for elsewhere (`causeway parked retry`, the admin UI) are done here.
      this.retryTimer = setInterval(() => {
        this.retrying ??= this.retryRequested().finally(() => (this.retrying = undefined));
      }, this.retryCheckMs);
      this.retryTimer.unref();
    }
  }

  /** Stops after the round in hand; a later `start()` resumes from the checkpoint. */
  async stop(): Promise<void> {
    clearInterval(this.retryTimer);
    this.retryTimer = undefined;
    await this.retrying;
    await this.relay.stop();
  }

  /** Retries the parked events marked for retry by another process, if any. */
  private async retryRequested(): Promise<void> {
    if (this.relay.status().state === 'stopped') return;
    try {
      const marked = await this.parked.list(this.name, { retryRequested: true, limit: 500 });
      if (marked.length > 0) await this.relay.retryParked(marked.map((p) => p.position));
    } catch {
      // The next check tries again; the relay reports store failures itself.
    }
  }

  /**
   * Resolves once every source event up to `position` is carried over (or parked) and
   * checkpointed; rejects if the bridge stops first or `timeoutMs` passes.
   */
  waitForPosition(position: number, options?: { timeoutMs?: number }): Promise<void> {
    return this.relay.waitForPosition(position, options);
  }

  /** Source events the bridge parked, in position order. */
  listParked(options?: ListParkedOptions): Promise<ParkedEvent[]> {
    return this.relay.listParked(options);
  }

  /** How many source events the bridge has parked. */
  parkedCount(): Promise<number> {
    return this.relay.parkedCount();
  }

  /**
   * Translates and appends parked events again now (once the translation or the target's
   * schemas are fixed); those carried over leave the parked list.
   */
  retryParked(which: ParkedSelection): Promise<RelayParkedRetryResult> {
    return this.relay.retryParked(which);
  }

  /** Gives up on parked events: they are never carried over. */
  skipParked(which: ParkedSelection): Promise<number> {
    return this.relay.skipParked(which);
  }

  /** Counts what an event became, once per position for this runner. */
  private tally(
    event: RecordedEvent,
    requests: readonly AppendRequest[] | 'skipped' | 'untranslatable',
  ): void {
    if (event.position <= this.countedThrough) return;
    this.countedThrough = event.position;
    if (requests === 'untranslatable') {
      this.counts.translationFailures += 1;
      return;
    }
    this.counts.translated += 1;
    if (requests === 'skipped' || requests.length === 0) this.counts.dropped += 1;
    else for (const r of requests) this.counts.written += r.events.length;
  }
}
