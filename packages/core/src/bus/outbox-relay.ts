import { waitForStatusPosition } from '../subscriptions/wait-for-position.js';
import { hostname } from 'node:os';
import { type Clock, systemClock } from '../core/clock.js';
import type { RecordedEvent } from '../core/envelope.js';
import {
  CausewayError,
  ErrorCode,
  EventDecodeError,
  InvalidArgumentError,
  StoreClosedError,
} from '../core/errors.js';
import { newId } from '../core/ids.js';
import { backoffDelay, resolveBackoff, type ResolvedBackoff } from '../core/backoff.js';
import type { EventStore, ReadAllFilter, StoreTransaction } from '../store/event-store.js';
import {
  parkedErrorRecord,
  undecodableEventRef,
  type ListParkedOptions,
  type ParkedEvent,
  type ParkedSelection,
} from '../subscriptions/parked-event-store.js';
import {
  CheckpointAheadError,
  LeaseLostError,
  SubscriptionLeasedError,
} from '../subscriptions/subscription-errors.js';
import type {
  SubscriptionLeaseOptions,
  SubscriptionLogger,
} from '../subscriptions/subscription-options.js';
import type { SubscriptionStorage } from '../subscriptions/subscription-storage.js';
import { assertMilliseconds, assertName } from '../subscriptions/validation.js';
import { WakeSignal } from '../subscriptions/wake-signal.js';
import { BusClosedError, BusErrorCode } from './bus-errors.js';
import {
  BusSequenceMismatchError,
  type BusLogTail,
  type MessageBus,
  type PublishReceipt,
} from './message-bus.js';

/**
 * What the relay publishes to: the publishing half of a {@link MessageBus} (every bus is
 * one), or a publish-only target such as the MQTT publisher of `@causewayjs/mqtt`.
 */
export type OutboxTarget = Pick<MessageBus, 'publish' | 'tail'> & {
  /**
   * Whether a publish failure is about the event itself, which no retry can cure (the
   * relay then parks the event and goes on), beyond the ones every target shares (too
   * large, not JSON). Without it, only those are.
   */
  refusedForGood?(error: unknown): boolean;
};

/** Options of {@link OutboxRelay}. */
export interface OutboxRelayOptions<Tx extends StoreTransaction = StoreTransaction> {
  /** Names the relay's checkpoint, lease and parked events (default `'outbox-relay'`). */
  name?: string;
  /** The store (the outbox) and where the checkpoint, lease and parked events live. */
  storage: SubscriptionStorage<Tx>;
  /** Where events are published: a message bus, or any other {@link OutboxTarget}. */
  bus: OutboxTarget;
  /** Read events from this wrapper of `storage.store` (an upcasting one, say). */
  source?: EventStore;
  /** Only events of these types / streams are published; the rest are passed over. */
  filter?: ReadAllFilter;
  /** Events read per batch, 1 to 1,000 (default 500). */
  batchSize?: number;
  /**
   * Publishes awaiting the broker's acknowledgement at once (default 256). On a bus with a
   * sequenced log (`bus.tail`, NATS JetStream) the log's order is exactly position order
   * whatever the window: each publish expects the sequence of the one before it. See
   * docs/bus.md.
   */
  maxInFlight?: number;
  /**
   * How long to wait before trying again while the broker is unavailable: exponential with
   * full jitter from `baseDelayMs` (default 100) up to `maxDelayMs` (default 5,000). The
   * relay never gives up on a reachable store: it waits until the broker is back.
   */
  retry?: { baseDelayMs?: number; maxDelayMs?: number };
  /** The exclusive lease, as for subscriptions; `false` to run without one. */
  lease?: SubscriptionLeaseOptions | false;
  /** How often an idle relay looks for new events when the store cannot be watched, in ms (default 1,000). */
  idleCheckIntervalMs?: number;
  clock?: Clock;
  logger?: SubscriptionLogger;
  /** Identifies this runner in the lease. Default: host, process id and a random suffix. */
  owner?: string;
}

/** Where a relay is in its life. */
export type OutboxRelayState =
  | 'stopped'
  | 'starting'
  | 'waiting-for-lease'
  | 'running'
  | 'waiting-for-broker'
  | 'waiting-for-store';

/** A snapshot of a relay (see {@link OutboxRelay.status}). */
export interface OutboxRelayStatus {
  name: string;
  state: OutboxRelayState;
  /** The checkpoint: every event up to here is acknowledged by the broker (or parked). */
  position: number;
  /** Highest position the broker acknowledged; ahead of `position` until it is saved. */
  publishedThrough: number;
  /** The store's head when last read. */
  head: number;
  /** `head - position`: how many positions are not yet published. */
  lag: number;
  /** Events this runner published (acknowledged, duplicates included). */
  published: number;
  /** Of those, how many the broker already had (a republish after a crash). */
  duplicates: number;
  /**
   * Events this runner parked: the broker can never take them (too large), or the stored
   * event cannot be decoded (an `EventDecodeError`, such as a `DecryptionError`).
   */
  parked: number;
  /** Failed publishing rounds (broker down) since start. */
  failures: number;
  /** The last publishing failure, cleared once publishing works again. */
  lastError: Error | undefined;
  /** Why the relay stopped on its own, if it did. */
  error: Error | undefined;
}

/** The outcome of {@link OutboxRelay.retryParked}. */
export interface RelayParkedRetryResult {
  published: number;
  failed: number;
  /** No longer in the store at their position: still parked. */
  missing: number;
}

/**
 * Publishes every committed event of the store (the outbox) to a message bus, in position
 * order, saving its checkpoint only after the broker acknowledged: an event is never
 * published without being committed, and never lost while the broker is down (the relay
 * waits and retries, reporting its lag). After a crash it republishes from the checkpoint;
 * the broker drops what it already has (the event id is the deduplication key), and a
 * consumer applying an inbox (`inboxHandler`) makes effects exactly-once end to end.
 *
 * On a bus with a sequenced log (`bus.tail`: NATS JetStream) the log holds the events in
 * exactly position order although up to `maxInFlight` publishes are in flight: each expects
 * the log to end where the one before it will put it, so when one fails the broker refuses
 * every later one and the relay resumes from the first event not in the log. This assumes
 * the relay is the only writer of its stream (see docs/bus.md).
 *
 * An event the broker can never take (too large, say) is parked under the relay's name with
 * the error, like a subscription's failing event, and can be retried or skipped. So is a
 * stored event that cannot be read (an `EventDecodeError`: a spoilt row, or a field that does
 * not decrypt): it is parked with that error in the transaction that moves the checkpoint
 * past it, and the relay goes on with the next events.
 *
 * @example
 * ```ts
 * const relay = new OutboxRelay({ storage: await sqliteSubscriptionStorage(store), bus });
 * await relay.start();
 * relay.status(); // { state: 'running', position, head, lag, published, ... }
 * ```
 */
export class OutboxRelay<Tx extends StoreTransaction = StoreTransaction> {
  readonly name: string;
  readonly owner: string;
  private readonly storage: SubscriptionStorage<Tx>;
  private readonly bus: OutboxTarget;
  private readonly source: EventStore;
  private readonly filter: ReadAllFilter | undefined;
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  private readonly retry: ResolvedBackoff;
  private readonly lease: Required<SubscriptionLeaseOptions> | false;
  private readonly idleCheckIntervalMs: number;
  private readonly clock: Clock;
  private readonly logger: SubscriptionLogger | undefined;
  private current: OutboxRelayStatus;
  private readonly listeners = new Set<(status: OutboxRelayStatus) => void>();
  private readonly wake = new WakeSignal();
  /** Set only by `stop()`: backoff waits are not cut short by new commits. */
  private readonly halt = new WakeSignal();
  private life: { started: Promise<void>; done: Promise<void> } | undefined;
  private stopRequested = false;
  private stopError: Error | undefined;
  private unwatch: (() => void) | undefined;
  private renewTimer: ReturnType<typeof setInterval> | undefined;
  /** Whether the bus has a sequenced log: publishes are then chained (see {@link Chain}). */
  private readonly ordered: boolean;
  /** Where the bus's log ends, as the relay knows it; `undefined` until read (again). */
  private chain: Chain | undefined;
  /** Serialises the relay's publishing with `retryParked`, so one chain is never interleaved. */
  private publishing: Promise<void> = Promise.resolve();

  constructor(options: OutboxRelayOptions<Tx>) {
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError('options', 'must be an object { storage, bus, ... }');
    this.name = options.name ?? 'outbox-relay';
    assertName(this.name);
    const storage = options.storage;
    if (
      typeof storage !== 'object' ||
      storage === null ||
      typeof storage.store?.transaction !== 'function' ||
      !storage.checkpoints ||
      !storage.parked ||
      !storage.leases
    )
      throw new InvalidArgumentError(
        'storage',
        'must be subscription storage (memorySubscriptionStorage, sqliteSubscriptionStorage, postgresSubscriptionStorage)',
      );
    this.storage = storage;
    if (typeof options.bus?.publish !== 'function')
      throw new InvalidArgumentError('bus', 'must be a MessageBus');
    this.bus = options.bus;
    this.ordered = typeof options.bus.tail === 'function';
    this.source = options.source ?? storage.store;
    this.filter = options.filter;
    this.batchSize = options.batchSize ?? 500;
    if (!Number.isSafeInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 1000)
      throw new InvalidArgumentError('batchSize', 'must be an integer from 1 to 1000');
    this.maxInFlight = options.maxInFlight ?? 256;
    if (!Number.isSafeInteger(this.maxInFlight) || this.maxInFlight < 1)
      throw new InvalidArgumentError('maxInFlight', 'must be an integer >= 1');
    this.retry = resolveBackoff({ baseDelayMs: 100, maxDelayMs: 5000, ...options.retry });
    if (options.lease === false) this.lease = false;
    else {
      const l = options.lease ?? {};
      this.lease = {
        ttlMs: l.ttlMs ?? 30_000,
        wait: l.wait ?? false,
        retryIntervalMs: l.retryIntervalMs ?? 1000,
      };
      assertMilliseconds(this.lease.ttlMs, 'lease.ttlMs');
      assertMilliseconds(this.lease.retryIntervalMs, 'lease.retryIntervalMs');
    }
    this.idleCheckIntervalMs = options.idleCheckIntervalMs ?? 1000;
    assertMilliseconds(this.idleCheckIntervalMs, 'idleCheckIntervalMs');
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${newId().slice(-12)}`;
    assertName(this.owner, 'owner');
    this.current = {
      name: this.name,
      state: 'stopped',
      position: 0,
      publishedThrough: 0,
      head: 0,
      lag: 0,
      published: 0,
      duplicates: 0,
      parked: 0,
      failures: 0,
      lastError: undefined,
      error: undefined,
    };
  }

  /** The relay's state now (a copy). */
  status(): OutboxRelayStatus {
    return { ...this.current };
  }

  /** Calls `listener` on every status change until the returned function is called. */
  onStatus(listener: (status: OutboxRelayStatus) => void): () => void {
    if (typeof listener !== 'function')
      throw new InvalidArgumentError('listener', 'must be a function (status) => void');
    const entry = (status: OutboxRelayStatus) => listener(status);
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  /**
   * The checkpoint position now: with `name` and `parkedCount`, this makes the relay a
   * `LagSource` for `CausewayMetrics.trackSubscription(relay)`.
   */
  position(): number {
    return this.current.position;
  }

  /** How many positions are not yet published, read fresh from the store and checkpoint. */
  async lag(): Promise<number> {
    const [head, checkpoint] = await Promise.all([
      this.source.headPosition(),
      this.storage.checkpoints.load(this.name),
    ]);
    return Math.max(0, head - (checkpoint?.position ?? 0));
  }

  /**
   * Starts publishing: takes the lease, loads the checkpoint and begins. Resolves once
   * running; calling it while started returns the same promise.
   *
   * @throws {SubscriptionLeasedError} when another process runs the relay (without `lease.wait`).
   * @throws {CheckpointAheadError} when the checkpoint is beyond the end of the store.
   */
  start(): Promise<void> {
    if (this.life) return this.life.started;
    this.stopRequested = false;
    this.stopError = undefined;
    this.halt.reset();
    let markStarted: () => void = () => undefined;
    let failStart: (error: Error) => void = () => undefined;
    const started = new Promise<void>((resolve, reject) => {
      markStarted = resolve;
      failStart = reject;
    });
    this.life = { started, done: this.live(markStarted, failStart) };
    return started;
  }

  /** Stops after the round in hand (its acknowledged publishes are checkpointed). */
  async stop(): Promise<void> {
    const life = this.life;
    if (!life) return;
    this.stopRequested = true;
    this.wake.set();
    this.halt.set();
    await life.done;
  }

  /**
   * Resolves once every event up to `position` is published and checkpointed; rejects if
   * the relay stops first or `timeoutMs` passes (default 30,000).
   *
   * @throws {WaitTimeoutError}
   */
  waitForPosition(position: number, options: { timeoutMs?: number } = {}): Promise<void> {
    const source = {
      name: this.name,
      current: () => this.current,
      onStatus: (listener: Parameters<typeof this.onStatus>[0]) => this.onStatus(listener),
    };
    return waitForStatusPosition(source, position, options, 'the relay is stopped');
  }

  /**
   * Events the relay parked (the broker refused them for good, or they cannot be decoded),
   * in position order.
   */
  listParked(options?: ListParkedOptions): Promise<ParkedEvent[]> {
    return this.storage.parked.list(this.name, options);
  }

  /** How many events the relay has parked. */
  parkedCount(): Promise<number> {
    return this.storage.parked.count(this.name);
  }

  /** Publishes parked events again now; those the broker takes leave the parked list. */
  retryParked(which: ParkedSelection): Promise<RelayParkedRetryResult> {
    return this.exclusive(() => this.retryParkedNow(which));
  }

  private async retryParkedNow(which: ParkedSelection): Promise<RelayParkedRetryResult> {
    // Published out of position order on purpose; the relay's chain is read again after it.
    this.chain = undefined;
    const wanted = which === 'all' ? undefined : new Set(which);
    const result: RelayParkedRetryResult = { published: 0, failed: 0, missing: 0 };
    let after = 0;
    for (;;) {
      const page = await this.storage.parked.list(this.name, { after, limit: 500 });
      for (const p of page) {
        if (wanted && !wanted.has(p.position)) continue;
        let event: RecordedEvent | undefined;
        try {
          for await (const e of this.source.readAll({ from: p.position, limit: 1 })) event = e;
        } catch (error) {
          if (!(error instanceof EventDecodeError && error.position === p.position)) throw error;
          // Still undecodable (until someone repairs the row): parked again, with this error.
          result.failed += 1;
          await this.storage.parked.park(this.name, {
            ...p,
            error: parkedErrorRecord(error),
            attempts: p.attempts + 1,
            parkedAt: new Date(this.clock.now()),
          });
          continue;
        }
        if (!event || event.id !== p.eventId) {
          result.missing += 1;
          continue;
        }
        try {
          const tail = this.ordered ? await this.readTail() : undefined;
          await this.bus.publish(
            event,
            tail === undefined ? undefined : { expectedLastSequence: tail.sequence },
          );
          await this.storage.parked.remove(this.name, [p.position]);
          result.published += 1;
        } catch (error) {
          result.failed += 1;
          await this.storage.parked.park(this.name, {
            ...p,
            error: parkedErrorRecord(error),
            attempts: p.attempts + 1,
            parkedAt: new Date(this.clock.now()),
          });
        }
      }
      const last = page[page.length - 1];
      if (!last || page.length < 500) break;
      after = last.position;
    }
    return result;
  }

  /** Runs `fn` when no other publishing of this relay is under way. */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const prior = this.publishing;
    let release: () => void = () => undefined;
    this.publishing = new Promise<void>((resolve) => (release = resolve));
    await prior;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private readTail(): Promise<BusLogTail> {
    if (!this.bus.tail) throw new Error('the bus has no sequenced log');
    return this.bus.tail();
  }

  /**
   * Reads where the bus's log ends. When its last message is this store's event past the
   * checkpoint (published before a crash, never checkpointed), every event up to it is in
   * the log already, since the relay only ever extends the log in position order.
   */
  private async chainFrom(tail: BusLogTail): Promise<Chain> {
    let presentThrough = 0;
    const last = tail.last;
    if (last && last.position > this.current.position) {
      for await (const e of this.source.readAll({ from: last.position, limit: 1 }))
        if (e.position === last.position && e.id === last.eventId) presentThrough = e.position;
    }
    // The first publish expects the sequence only: after a broker restart the broker may no
    // longer know the id of a message older than its duplicate window.
    return { next: tail.sequence, lastEventId: undefined, presentThrough, past: tail.sequence - 1 };
  }

  /** Skips parked events: they stay in the store but are never published. */
  skipParked(which: ParkedSelection): Promise<number> {
    return this.storage.parked.remove(this.name, which);
  }

  private update(patch: Partial<OutboxRelayStatus>): void {
    this.current = { ...this.current, ...patch };
    this.current.lag = Math.max(0, this.current.head - this.current.position);
    const snapshot = { ...this.current };
    for (const listener of this.listeners) listener(snapshot);
  }

  private async live(markStarted: () => void, failStart: (error: Error) => void): Promise<void> {
    let started = false;
    let error: Error | undefined;
    this.update({ state: 'starting', error: undefined, lastError: undefined });
    try {
      if (await this.acquireLease()) {
        const checkpoint = await this.storage.checkpoints.load(this.name);
        const head = await this.source.headPosition();
        const position = checkpoint?.position ?? 0;
        if (position > head) throw new CheckpointAheadError(this.name, position, head);
        this.unwatch = (
          typeof this.source.watch === 'function' ? this.source : this.storage.store
        ).watch?.(() => this.wake.set());
        this.update({ state: 'running', position, publishedThrough: position, head });
        started = true;
        markStarted();
        await this.loop();
      }
      if (this.stopError) throw this.stopError;
    } catch (e) {
      error = e instanceof Error ? e : new Error(String(e));
      this.logger?.error({ relay: this.name, err: error }, 'outbox relay stopped on error');
    } finally {
      this.unwatch?.();
      this.unwatch = undefined;
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
      if (this.lease)
        await this.storage.leases.release(this.name, this.owner).catch(() => undefined);
      this.life = undefined;
      this.update({ state: 'stopped', error });
      if (started || !error) markStarted();
      else failStart(error);
    }
  }

  private async acquireLease(): Promise<boolean> {
    const lease = this.lease;
    if (!lease) return true;
    for (;;) {
      const got = await this.storage.leases.acquire(
        this.name,
        this.owner,
        lease.ttlMs,
        this.clock.now(),
      );
      if (got.acquired) break;
      if (!lease.wait)
        throw new SubscriptionLeasedError(this.name, got.holder.owner, got.holder.expiresAt);
      this.update({ state: 'waiting-for-lease' });
      await this.wake.wait(lease.retryIntervalMs);
      this.wake.reset();
      if (this.stopRequested) return false;
    }
    this.renewTimer = setInterval(() => void this.renew(lease.ttlMs), Math.max(1, lease.ttlMs / 3));
    this.renewTimer.unref();
    return true;
  }

  private async renew(ttlMs: number): Promise<void> {
    if (this.stopRequested) return;
    try {
      const held = await this.storage.leases.renew(this.name, this.owner, ttlMs, this.clock.now());
      if (!held && !this.stopRequested) {
        this.stopError ??= new LeaseLostError(this.name, this.owner);
        this.stopRequested = true;
        this.wake.set();
        this.halt.set();
      }
    } catch (error) {
      // The checkpoint write is fenced by the lease, so a missed renewal cannot double-commit.
      this.logger?.warn({ relay: this.name, err: error }, 'could not renew the relay lease');
    }
  }

  /**
   * Runs rounds until stopped. A store that fails (unreachable database) is waited for like
   * the broker, so the relay outlives outages of either side; a closed store or bus, or a
   * lost lease, stops it.
   */
  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopRequested) {
      try {
        failures = await this.round(failures);
      } catch (error) {
        if (isFatal(error)) throw error;
        failures += 1;
        const e = error instanceof Error ? error : new Error(String(error));
        this.update({
          state: 'waiting-for-store',
          failures: this.current.failures + 1,
          lastError: e,
        });
        this.logger?.warn(
          { relay: this.name, err: e, position: this.current.position },
          'the store failed; the relay waits and retries',
        );
        if (!this.stopRequested) await this.halt.wait(backoffDelay(failures, this.retry) + 1);
      }
    }
  }

  /** One round: read a batch, publish it, save progress. Returns the broker failure count. */
  private async round(previousFailures: number): Promise<number> {
    this.wake.reset();
    const head = await this.source.headPosition();
    const batch: RecordedEvent[] = [];
    // A stored event that cannot be decoded ends the read at its place: the events before it
    // are published, then it is parked with its error, and the next read starts after it.
    let undecodable: EventDecodeError | undefined;
    try {
      for await (const e of this.source.readAll({
        from: this.current.position + 1,
        filter: this.filter,
        limit: this.batchSize,
      }))
        batch.push(e);
    } catch (error) {
      if (!(error instanceof EventDecodeError && error.position > this.current.position))
        throw error;
      undecodable = error;
    }
    this.update({
      head: Math.max(head, batch[batch.length - 1]?.position ?? 0, undecodable?.position ?? 0),
    });
    if (batch.length === 0 && undecodable) {
      await this.save(undecodable.position, [
        { event: undecodableEventRef(undecodable), error: undecodable },
      ]);
      if (this.current.state !== 'running') this.update({ state: 'running', lastError: undefined });
      return 0;
    }
    if (batch.length === 0) {
      // With a filter, nothing matching up to the head read before: pass over the rest.
      if (head > this.current.position) await this.save(head, []);
      if (this.current.state !== 'running') this.update({ state: 'running', lastError: undefined });
      if (!this.stopRequested) await this.wake.wait(this.idleCheckIntervalMs);
      return 0;
    }
    const { done, parked, failure } = await this.exclusive(async () => {
      if (this.ordered && !this.chain) {
        let tail: BusLogTail;
        try {
          tail = await this.readTail();
        } catch (error) {
          if (error instanceof BusClosedError) throw error;
          // The broker cannot say where its log ends: wait for it like for a failed publish.
          return {
            done: 0,
            parked: [],
            failure: error instanceof Error ? error : new Error(String(error)),
          };
        }
        this.chain = await this.chainFrom(tail);
      }
      return this.publishAll(batch);
    });
    const last = batch[done - 1];
    if (!failure && undecodable && done === batch.length && !this.stopRequested)
      // Every event before it is settled: it is parked with them, the checkpoint past it.
      await this.save(undecodable.position, [
        ...parked,
        { event: undecodableEventRef(undecodable), error: undecodable },
      ]);
    else if (last) await this.save(last.position, parked);
    if (!failure) {
      if (this.current.state !== 'running') this.update({ lastError: undefined, state: 'running' });
      return 0;
    }
    if (failure instanceof BusClosedError) throw failure;
    // Whatever failed, the log may have moved: read where it ends before publishing again.
    this.chain = undefined;
    // Refused because an earlier publish of the window failed for good (parked) or was
    // stored only on a retry: go on at once from the first event not in the log.
    if (failure instanceof BusSequenceMismatchError && (done > 0 || parked.length > 0))
      return previousFailures;
    const failures = previousFailures + 1;
    this.update({
      state: 'waiting-for-broker',
      failures: this.current.failures + 1,
      lastError: failure,
    });
    this.logger?.warn(
      { relay: this.name, err: failure, position: this.current.position, lag: this.current.lag },
      'broker unavailable; the relay waits and retries',
    );
    if (!this.stopRequested) await this.halt.wait(backoffDelay(failures, this.retry) + 1);
    return failures;
  }

  /**
   * Publishes a batch, at most `maxInFlight` at once, in position order. On a sequenced bus
   * each publish expects the log to end where the one before it will put it, so the broker
   * stores them in exactly this order: once one fails, every later one in flight is refused
   * and nothing is stored out of order. Events known to be in the log already (see
   * {@link chainFrom}) expect a sequence the log has passed: the broker answers them as
   * duplicates (inside its window) or refuses them, and never stores them twice.
   *
   * Returns how many from the start are settled (acknowledged, or refused for good and to
   * be parked), and the failure that stopped it, if any.
   */
  private async publishAll(
    batch: readonly RecordedEvent[],
  ): Promise<{ done: number; parked: { event: RecordedEvent; error: Error }[]; failure?: Error }> {
    const parked: { event: RecordedEvent; error: Error }[] = [];
    let done = 0;
    const chain = this.chain;
    for (let start = 0; start < batch.length && !this.stopRequested; start += this.maxInFlight) {
      const window = batch.slice(start, start + this.maxInFlight);
      let next = chain?.next ?? 0;
      let lastEventId = chain?.lastEventId;
      const results = await Promise.allSettled(
        window.map((e): Promise<PublishReceipt> => {
          if (!chain) return this.bus.publish(e);
          if (e.position <= chain.presentThrough)
            return this.bus.publish(e, { expectedLastSequence: chain.past });
          const expected = { expectedLastSequence: next++, expectedLastEventId: lastEventId };
          lastEventId = e.id;
          return this.bus.publish(e, expected);
        }),
      );
      let published = 0;
      let duplicates = 0;
      for (const [i, r] of results.entries()) {
        const event = window[i] as RecordedEvent;
        const present = chain !== undefined && event.position <= chain.presentThrough;
        if (r.status === 'fulfilled') {
          published += 1;
          if (r.value.duplicate || present) duplicates += 1;
          // A duplicate of an older message leaves the log where it was; our own message
          // (stored on a first try whose acknowledgement was lost) moves it.
          if (chain && !present && r.value.sequence > chain.next) {
            chain.next = r.value.sequence;
            chain.lastEventId = event.id;
          }
        } else if (present && r.reason instanceof BusSequenceMismatchError) {
          // In the log already, past the duplicate window: acknowledged, not stored again.
          published += 1;
          duplicates += 1;
        } else if (refusedForGood(r.reason) || this.bus.refusedForGood?.(r.reason) === true) {
          parked.push({ event, error: r.reason as Error });
        } else {
          this.update({
            published: this.current.published + published,
            duplicates: this.current.duplicates + duplicates,
          });
          const failure = r.reason instanceof Error ? r.reason : new Error(String(r.reason));
          return { done: start + i, parked, failure };
        }
      }
      done = start + window.length;
      this.update({
        published: this.current.published + published,
        duplicates: this.current.duplicates + duplicates,
        publishedThrough: (window[window.length - 1] as RecordedEvent).position,
      });
    }
    return { done, parked };
  }

  /**
   * Parks what the broker refused for good (or what cannot be decoded) and moves the
   * checkpoint, in one transaction.
   */
  private async save(
    position: number,
    parked: readonly { event: EventRef; error: Error }[],
  ): Promise<void> {
    if (position <= this.current.position) return;
    const now = new Date(this.clock.now());
    await this.storage.store.transaction(async (tx) => {
      if (this.lease) await this.storage.leases.assertHeld(this.name, this.owner, tx);
      for (const { event, error } of parked) {
        await this.storage.parked.park(
          this.name,
          {
            position: event.position,
            eventId: event.id,
            stream: event.stream,
            type: event.type,
            reason: 'failed',
            error: parkedErrorRecord(error),
            attempts: 1,
            parkedAt: now,
          },
          tx,
        );
      }
      await this.storage.checkpoints.save(this.name, position, tx);
    });
    for (const { event, error } of parked)
      this.logger?.error(
        { relay: this.name, eventId: event.id, position: event.position, err: error },
        error instanceof EventDecodeError
          ? 'a stored event cannot be decoded: parked'
          : 'the broker refused an event for good: parked',
      );
    this.update({
      position,
      publishedThrough: Math.max(position, this.current.publishedThrough),
      parked: this.current.parked + parked.length,
    });
  }
}

/**
 * Where the bus's log ends, as the relay knows it: `next` is the sequence the next new
 * message expects the log to end at (the last stored), and `lastEventId` the id of that
 * message when the relay stored it (so a message published by something else cannot fill
 * the place of one that failed); events up to `presentThrough` are in the log already;
 * `past` is a sequence the log has passed, which can never hold again.
 */
interface Chain {
  next: number;
  lastEventId: string | undefined;
  presentThrough: number;
  past: number;
}

/** What parking records about an event: its place and identity. */
type EventRef = Pick<RecordedEvent, 'position' | 'id' | 'stream' | 'type'>;

/** Errors that end the relay: nothing it waits for can cure them. */
function isFatal(error: unknown): boolean {
  return (
    error instanceof BusClosedError ||
    error instanceof LeaseLostError ||
    error instanceof StoreClosedError ||
    error instanceof CheckpointAheadError ||
    (error instanceof CausewayError && error.code === 'SCHEMA_TOO_NEW')
  );
}

/** Errors no retry can cure: the event itself cannot be carried. */
function refusedForGood(error: unknown): boolean {
  return (
    error instanceof CausewayError &&
    (error.code === BusErrorCode.MESSAGE_TOO_LARGE || error.code === ErrorCode.NOT_JSON)
  );
}
