import { waitForStatusPosition } from './wait-for-position.js';
import type { RecordedEvent } from '../core/envelope.js';
import {
  EventDecodeError,
  InvalidArgumentError,
  StorageFullError,
  StoreBusyError,
  StoreClosedError,
  StoreUnavailableError,
} from '../core/errors.js';
import { backoffDelay } from '../core/backoff.js';
import type { StoreTransaction } from '../store/event-store.js';
import { readInto } from '../store/reading.js';
import {
  toHandlerResult,
  type BatchHandlerContext,
  type HandlerContext,
  type HandlerResult,
} from './event-handler.js';
import type { Lease, LeaseClaim } from './lease-store.js';
import {
  parkedErrorRecord,
  undecodableEventRef,
  type ListParkedOptions,
  type ParkReason,
  type ParkedError,
  type ParkedEvent,
  type ParkedSelection,
} from './parked-event-store.js';
import {
  CheckpointAheadError,
  HandlerCommitFailedError,
  HandlerTimeoutError,
  LeaseLostError,
  NonErrorThrownError,
  ParkedEventMissingError,
  SubscriptionLeasedError,
  SubscriptionStoppedByHandlerError,
} from './subscription-errors.js';
import {
  resolveSubscriptionOptions,
  type ResolvedSubscriptionOptions,
  type SubscriptionOptions,
} from './subscription-options.js';
import { WakeSignal } from './wake-signal.js';

/**
 * Where a subscription is in its life:
 * - `'starting'`: taking the lease and loading the checkpoint;
 * - `'waiting-for-lease'`: another process runs it (only with `lease.wait`);
 * - `'catching-up'`: delivering stored events, not yet at the end of the log;
 * - `'live'`: has reached the end of the log and delivers new events as they commit;
 * - `'stopping'`: finishing the event in hand;
 * - `'stopped'`: not running; `error` says why if it stopped on its own.
 *
 * `'catching-up'` and `'live'` are the running states.
 */
export type SubscriptionState =
  'starting' | 'waiting-for-lease' | 'catching-up' | 'live' | 'stopping' | 'stopped';

/** An event the subscription is retrying. */
export interface FailingEvent {
  position: number;
  eventId: string;
  /** Attempts made so far. */
  attempt: number;
  error: Error;
}

/** A snapshot of a subscription's state (see {@link Subscription.status}). */
export interface SubscriptionStatus {
  name: string;
  state: SubscriptionState;
  /** True while catching up or live. */
  running: boolean;
  /** Position of the last event handled or passed over; 0 before the first. */
  position: number;
  /** Why it stopped, when it stopped on its own (or failed to start). */
  error: Error | undefined;
  /** The event being retried, while one is. */
  failing: FailingEvent | undefined;
  /** Who holds the lease, while waiting for it. */
  leaseHolder: Lease | undefined;
}

/** The outcome of one handler call: its result, or its failure. */
type Outcome = HandlerResult | { action: 'failed'; error: Error };

/** How far a handling transaction got: a failure at `'commit'` is the handler's to bear. */
type Stage = 'begin' | 'handler' | 'progress' | 'commit';

/** Thrown inside a transaction to roll it back when a handler did not acknowledge. */
class RollBack extends Error {}
const ROLL_BACK = new RollBack('the handler did not acknowledge: rolling back');

/** Once position moves this far past the checkpoint on filtered-out events alone, it is saved. */
const PROGRESS_SAVE_GAP = 1000;

/**
 * The handler call in hand. Its `AbortController` is made only if the handler reads
 * `ctx.signal` (most never do); until then an abort is only recorded in `reason`. `expire`
 * is set while the call's promise is pending: the watchdog ends the call through it.
 */
interface Call {
  position: number;
  deadline: number;
  controller: AbortController | undefined;
  reason: Error | undefined;
  expire: ((error: Error) => void) | undefined;
}

/** Whether a handler took the transaction in hand (read `ctx.tx`): then it may hold effects. */
interface TxScope {
  touched: boolean;
}

/** A transaction that holds nothing but the subscription's own progress. */
const PROGRESS_ONLY: TxScope = Object.freeze({ touched: false });

/** What a handler call is made with. */
interface Invocation<Tx> {
  tx: Tx;
  scope: TxScope;
  attempt: number;
  retryingParked: boolean;
}

/** The minimal event reference parking needs. */
type EventRef = Pick<RecordedEvent, 'position' | 'id' | 'stream' | 'type'>;

/**
 * Delivers the store's log to a handler, in position order, at least once, from a checkpoint
 * kept per name: it catches up on stored events, then follows new commits live (woken by the
 * store's `watch`). Each event is handled in a transaction of the store that also saves the
 * checkpoint, so effects the handler makes through `ctx.tx` happen exactly once.
 *
 * A failing event is retried with backoff, then parked (see `listParked`, `retryParked`,
 * `skipParked`), and the subscription moves on. A lease in the database keeps two processes
 * from running the same subscription at once. It never stops quietly: `status` says why.
 *
 * @example
 * ```ts
 * const store = SqliteEventStore.open('./data/events.db');
 * const subscription = new Subscription({
 *   name: 'order-totals',
 *   storage: await sqliteSubscriptionStorage(store),
 *   filter: { types: ['order.placed'] },
 *   handler: (event, { tx }) => {
 *     tx.database.prepare('INSERT INTO order_totals (id, total) VALUES (?, ?)').run(event.stream, 1);
 *   },
 * });
 * await subscription.start();
 * // ...
 * await subscription.stop();
 * ```
 */
export class Subscription<Tx extends StoreTransaction = StoreTransaction> {
  /** The subscription's name. */
  readonly name: string;
  /** This runner's identity in the lease. */
  readonly owner: string;
  private readonly o: ResolvedSubscriptionOptions<Tx>;
  private current: SubscriptionStatus;
  private readonly listeners = new Set<(status: SubscriptionStatus) => void>();
  private life: { started: Promise<void>; done: Promise<void> } | undefined;
  private stopRequested = false;
  /** Why the subscription must stop, when something other than `stop()` decided it. */
  private stopError: Error | undefined;
  private stopped: Promise<void> = Promise.resolve();
  private signalStopped: () => void = () => undefined;
  private readonly wake = new WakeSignal();
  private unwatch: (() => void) | undefined;
  private renewTimer: ReturnType<typeof setInterval> | undefined;
  private renewing = false;
  /** The lease as this runner holds it (owner and fencing epoch), while it holds one. */
  private claim: LeaseClaim | undefined;
  /** The handler call in hand, if any. */
  private call: Call | undefined;
  /**
   * One timer watches the deadline of whichever call is in hand: armed by the first call that
   * does not return at once, it re-arms itself for the call then in hand when it fires early,
   * and is cleared after each batch. A timer per event would cost more than most handlers.
   */
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  private position = 0;
  private savedPosition = 0;
  /** The highest position the store reported committed (0 until one is reported). */
  private reportedHead = 0;
  /** Events to read next: `batchSize` when live, growing while behind (see `catchUp`). */
  private readSize: number;
  /** Where the time bound first cut the batch in hand, if it did. */
  private firstCut: number | undefined;
  private retryCheckDue = true;
  private lastRetryCheck = 0;
  /** Set when the store failed: whether the last commit happened is for the checkpoint to say. */
  private resync = false;

  constructor(options: SubscriptionOptions<Tx>) {
    this.o = resolveSubscriptionOptions(options);
    this.name = this.o.name;
    this.owner = this.o.owner;
    this.readSize = this.o.batchSize;
    this.current = {
      name: this.name,
      state: 'stopped',
      running: false,
      position: 0,
      error: undefined,
      failing: undefined,
      leaseHolder: undefined,
    };
  }

  /** The subscription's state now (a copy). */
  get status(): SubscriptionStatus {
    return { ...this.current };
  }

  /**
   * Calls `listener` with the new status on every change (state, position, failures) until
   * the returned function is called. Listeners must not throw.
   */
  onStatus(listener: (status: SubscriptionStatus) => void): () => void {
    if (typeof listener !== 'function')
      throw new InvalidArgumentError('listener', 'must be a function (status) => void');
    const entry = (status: SubscriptionStatus) => listener(status);
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  /**
   * Starts delivering: takes the lease, loads the checkpoint and begins catching up.
   * Resolves once running (or once stopped, if `stop()` came first); with `lease.wait`, that
   * is after the lease was obtained. Calling it while started returns the same promise.
   *
   * @throws {SubscriptionLeasedError} when another process holds the lease (without `lease.wait`).
   * @throws {CheckpointAheadError} when the checkpoint is beyond the end of the store.
   */
  start(): Promise<void> {
    if (this.life) return this.life.started;
    this.stopRequested = false;
    this.stopError = undefined;
    this.stopped = new Promise((resolve) => (this.signalStopped = resolve));
    let markStarted: () => void = () => undefined;
    let failStart: (error: Error) => void = () => undefined;
    const started = new Promise<void>((resolve, reject) => {
      markStarted = resolve;
      failStart = reject;
    });
    this.life = { started, done: this.live(markStarted, failStart) };
    return started;
  }

  /**
   * Stops: no new event is started, the one in hand is finished (its handler's `signal` is
   * aborted), the lease is released. Resolves once stopped. A later `start()` resumes from
   * the checkpoint.
   */
  async stop(): Promise<void> {
    const life = this.life;
    if (!life) return;
    this.requestStop();
    await life.done;
  }

  /**
   * Resolves once the subscription has handled (or passed over) every event up to
   * `position`; rejects if it stops first or `timeoutMs` passes (default 30,000).
   *
   * @throws {WaitTimeoutError}
   */
  waitForPosition(position: number, options: { timeoutMs?: number } = {}): Promise<void> {
    const source = {
      name: this.name,
      current: () => this.current,
      onStatus: (listener: Parameters<typeof this.onStatus>[0]) => this.onStatus(listener),
    };
    return waitForStatusPosition(source, position, options, 'the subscription is stopped');
  }

  /** This subscription's parked events, in position order. */
  listParked(options?: ListParkedOptions): Promise<ParkedEvent[]> {
    return this.o.storage.parked.list(this.name, options);
  }

  /** How many events this subscription has parked. */
  parkedCount(): Promise<number> {
    return this.o.storage.parked.count(this.name);
  }

  /**
   * Hands parked events back to the handler, with their attempt count reset: they are
   * retried by the running subscription (wherever it runs) soon, or at its next start.
   * A success removes them; a failure parks them again. Returns how many were marked.
   */
  async retryParked(which: ParkedSelection): Promise<number> {
    const marked = await this.o.storage.parked.requestRetry(this.name, which);
    this.retryCheckDue = true;
    this.wake.set();
    return marked;
  }

  /** Removes parked events without handling them. Returns how many were removed. */
  skipParked(which: ParkedSelection): Promise<number> {
    return this.o.storage.parked.remove(this.name, which);
  }

  private async live(markStarted: () => void, failStart: (error: Error) => void): Promise<void> {
    // This run's own: a listener may start the next run as soon as this one reports 'stopped'.
    const signalStopped = this.signalStopped;
    let error: Error | undefined;
    let started = false;
    this.update({
      state: 'starting',
      error: undefined,
      failing: undefined,
      leaseHolder: undefined,
    });
    try {
      const leased = await this.acquireLease();
      if (leased && !this.stopRequested) {
        await this.begin();
        if (!this.stopRequested) {
          this.update({ state: 'catching-up', leaseHolder: undefined });
          started = true;
          markStarted();
          await this.loop();
          await this.saveLaggingProgress();
        }
      }
      if (this.stopError) throw this.stopError;
    } catch (e) {
      error = e instanceof Error ? e : new NonErrorThrownError(e);
      this.o.logger?.error(
        { subscription: this.name, err: error, position: this.position },
        'subscription stopped on error',
      );
    } finally {
      this.unwatch?.();
      this.unwatch = undefined;
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
      this.disarmWatchdog();
      if (this.o.lease) {
        await this.o.storage.leases
          .release(this.name, this.claim ?? this.owner)
          .catch(() => undefined);
        this.claim = undefined;
      }
      this.life = undefined;
      this.update({
        state: 'stopped',
        error,
        failing: error ? this.current.failing : undefined,
        leaseHolder: undefined,
      });
      signalStopped();
      if (started || !error) markStarted();
      else failStart(error);
    }
  }

  /** Takes the lease; with `wait`, until it is free. False if stopped while waiting. */
  private async acquireLease(): Promise<boolean> {
    const lease = this.o.lease;
    if (!lease) return true;
    for (;;) {
      const got = await this.o.storage.leases.acquire(
        this.name,
        this.owner,
        lease.ttlMs,
        this.o.clock.now(),
      );
      if (got.acquired) {
        this.claim = { owner: this.owner, epoch: got.epoch };
        break;
      }
      if (!lease.wait)
        throw new SubscriptionLeasedError(this.name, got.holder.owner, got.holder.expiresAt);
      this.update({ state: 'waiting-for-lease', leaseHolder: got.holder });
      await this.idle(lease.retryIntervalMs);
      if (this.stopRequested) return false;
    }
    this.renewTimer = setInterval(() => void this.renewLease(), Math.max(1, lease.ttlMs / 3));
    this.renewTimer.unref();
    return true;
  }

  private async renewLease(): Promise<void> {
    const lease = this.o.lease;
    if (!lease || this.renewing || this.stopRequested) return;
    this.renewing = true;
    try {
      const held = await this.o.storage.leases.renew(
        this.name,
        this.claim ?? this.owner,
        lease.ttlMs,
        this.o.clock.now(),
      );
      if (!held && !this.stopRequested) this.fail(new LeaseLostError(this.name, this.owner));
    } catch (error) {
      // The database may be briefly unreachable; the fence in every commit keeps this safe.
      this.o.logger?.warn({ subscription: this.name, err: error }, 'could not renew the lease');
    } finally {
      this.renewing = false;
    }
  }

  /** Loads the checkpoint (or applies `from`) and starts watching the store. */
  private async begin(): Promise<void> {
    const { storage, source } = this.o;
    const checkpoint = await storage.checkpoints.load(this.name);
    const head = await source.headPosition();
    let position: number;
    if (checkpoint) {
      if (checkpoint.position > head)
        throw new CheckpointAheadError(this.name, checkpoint.position, head);
      position = checkpoint.position;
    } else if (this.o.from === 'start') {
      position = 0;
    } else if (this.o.from === 'end') {
      position = head;
      // Saved at once, so that what commits while it is down is delivered after a restart.
      await storage.store.transaction(async (tx) => {
        await this.fence(tx);
        await storage.checkpoints.save(this.name, position, tx);
      });
    } else {
      if (this.o.from.after > head)
        throw new CheckpointAheadError(this.name, this.o.from.after, head);
      position = this.o.from.after;
    }
    this.position = position;
    this.savedPosition = checkpoint ? checkpoint.position : this.o.from === 'end' ? position : 0;
    this.update({ position });
    const watchable = typeof source.watch === 'function' ? source : storage.store;
    const onCommit = (committed: number) => {
      if (committed > this.reportedHead) this.reportedHead = committed;
      if (committed === 0 || committed > this.position) this.wake.set();
    };
    const gate = this.o.wakeGate;
    this.unwatch =
      gate && typeof watchable.watch === 'function'
        ? gate.watch(watchable, onCommit)
        : watchable.watch?.(onCommit);
  }

  /** Reads and handles batches until stopped; retries database failures with backoff. */
  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopRequested) {
      try {
        if (this.resync) await this.resyncPosition();
        await this.step();
        failures = 0;
      } catch (error) {
        if (this.stopRequested) return;
        if (isFatal(error)) throw error;
        failures += 1;
        // The database going away (a restart, a lost connection) is waited out however long
        // it lasts, the backoff growing to its cap: nothing is wrong with the events. So is
        // one that is busy (a lock held past its timeout) or full, until it has room again.
        if (
          error instanceof StoreUnavailableError ||
          error instanceof StoreBusyError ||
          error instanceof StorageFullError
        )
          this.resync = true;
        else if (failures >= this.o.retry.attempts) throw error;
        this.o.logger?.warn(
          { subscription: this.name, err: error, attempt: failures },
          'subscription failed to read or commit; retrying',
        );
        await this.pause(backoffDelay(failures, this.o.retry));
      }
    }
  }

  /**
   * Takes the saved checkpoint when it is ahead: a commit whose answer was lost with the
   * connection did happen, and its events are not to be handled again.
   */
  private async resyncPosition(): Promise<void> {
    const checkpoint = await this.o.storage.checkpoints.load(this.name);
    this.resync = false;
    if (checkpoint && checkpoint.position > this.position) this.advanced(checkpoint.position);
  }

  /**
   * Whether a transaction that failed at its commit with the store unavailable committed after
   * all (the connection was lost with COMMIT on its way): the checkpoint it saved, or the parked
   * entry it removed, says. Throws when the store cannot be asked either.
   */
  private async landed(
    error: unknown,
    stage: Stage,
    position: number,
    parked = false,
  ): Promise<boolean> {
    if (stage !== 'commit' || !(error instanceof StoreUnavailableError)) return false;
    if (parked) {
      const [entry] = await this.o.storage.parked.list(this.name, {
        after: position - 1,
        limit: 1,
      });
      return entry?.position !== position;
    }
    const checkpoint = await this.o.storage.checkpoints.load(this.name);
    return (checkpoint?.position ?? 0) >= position;
  }

  /** One turn: pending parked retries, then one batch, or a wait for new commits. */
  private async step(): Promise<void> {
    try {
      await this.stepOnce();
    } finally {
      this.disarmWatchdog();
    }
  }

  private async stepOnce(): Promise<void> {
    this.wake.reset();
    if (this.retryCheckDue || Date.now() - this.lastRetryCheck >= this.o.idleCheckIntervalMs) {
      this.retryCheckDue = false;
      this.lastRetryCheck = Date.now();
      await this.retryRequestedParked();
      if (this.stopRequested) return;
    }
    const { source, filter } = this.o;
    // With a filter, a head known before the read bounds what an empty read proves was
    // passed over: one the store reported committed will do (a live batch then saves the
    // round trip of reading it), else it is read.
    const head = filter
      ? this.reportedHead > this.position
        ? this.reportedHead
        : await source.headPosition()
      : 0;
    const limit = this.readSize;
    const read: RecordedEvent[] = [];
    // A stored event that cannot be decoded ends the read at its place: the events before it
    // are handled, then it is parked, and the next read starts after it.
    let undecodable: EventDecodeError | undefined;
    try {
      await readInto(source.readAll({ from: this.position + 1, filter, limit }), read);
    } catch (error) {
      if (!(error instanceof EventDecodeError && error.position > this.position)) throw error;
      undecodable = error;
    }
    if (this.stopRequested) return;
    // A read that stopped short reached the head of the log: live, small batches again.
    if (read.length < limit || undecodable) this.readSize = this.o.batchSize;
    const last = read[read.length - 1];
    if (!last && !undecodable) {
      if (this.current.state === 'catching-up') this.update({ state: 'live' });
      if (head > this.position) await this.passOver(head);
      if (!this.stopRequested) await this.idle(this.o.idleCheckIntervalMs);
      return;
    }
    if (last) {
      const where = this.o.where;
      const deliver = where ? read.filter((event) => where(event)) : read;
      const fitted = await this.handleBatch(deliver);
      // Still behind: the next batch doubles, unless the handler's time bound cut this one.
      if (read.length === limit && !undecodable)
        this.readSize =
          fitted < deliver.length
            ? Math.max(this.o.batchSize, fitted)
            : Math.min(limit * 2, this.o.catchUp.maxBatchSize);
      if (!this.stopRequested && last.position > this.position) await this.passOver(last.position);
    }
    if (undecodable && !this.stopRequested) await this.parkUndecodable(undecodable);
  }

  /**
   * Parks a stored event that cannot be decoded, as if its handler had failed: with the
   * decoding error, in the transaction that moves the checkpoint past it. `where` sees a
   * stand-in with the event's identity only (data undefined, metadata empty); one that throws
   * on it parks the event as well.
   */
  private async parkUndecodable(error: EventDecodeError): Promise<void> {
    const where = this.o.where;
    if (where) {
      let wanted = true;
      try {
        wanted = where(error.standIn());
      } catch {
        // It cannot tell without the data: parked, rather than passed over unseen.
      }
      if (!wanted) {
        await this.passOver(error.position);
        return;
      }
    }
    await this.commitPark(
      undecodableEventRef(error),
      undefined,
      'failed',
      1,
      parkedErrorRecord(error),
    );
  }

  /** Moves past events that are not delivered; saved once far enough from the checkpoint. */
  private async passOver(position: number): Promise<void> {
    this.position = position;
    this.update({ position });
    if (position - this.savedPosition >= PROGRESS_SAVE_GAP) await this.saveLaggingProgress();
  }

  /** Saves the position if the checkpoint is behind it (events passed over). */
  private async saveLaggingProgress(): Promise<void> {
    if (this.position <= this.savedPosition || this.stopError) return;
    const position = this.position;
    await this.o.storage.store.transaction(async (tx) => {
      await this.saveProgress(tx, position, PROGRESS_ONLY);
    });
    this.savedPosition = Math.max(this.savedPosition, position);
  }

  /**
   * Handles a batch in transactions of at least `batchSize` events, each committed once its
   * handler calls have taken `catchUp.maxBatchMs`, all while every call acknowledges; at the
   * first that does not (or a failed commit), that transaction rolls back and goes event by
   * event, the failed call counting as that event's first attempt. Returns how many events
   * the first transaction held (all of them when the time bound did not cut the batch).
   */
  private async handleBatch(events: readonly RecordedEvent[]): Promise<number> {
    const last = events[events.length - 1];
    if (events.length > 1 && last && this.o.batchHandler) {
      if (await this.handleWhole(events, last.position)) return events.length;
      if (this.stopRequested) return events.length;
    }
    this.firstCut = undefined;
    let from = 0;
    while (from < events.length && !this.stopRequested) from = await this.handleRun(events, from);
    return this.firstCut ?? events.length;
  }

  /**
   * Handles `events` from `from` on in one transaction, up to the time bound; returns the
   * index after the last event handled (committed, or settled one by one after a failure).
   */
  private async handleRun(events: readonly RecordedEvent[], from: number): Promise<number> {
    const first = events[from];
    if (!first) return from;
    if (from === events.length - 1) {
      await this.handleOne(first, undefined, undefined);
      return events.length;
    }
    const { batchSize, catchUp } = this.o;
    const at = { stage: 'begin' as Stage };
    const scope: TxScope = { touched: false };
    let failedAt = -1;
    let prior: Outcome | undefined;
    let end = events.length;
    try {
      await this.o.storage.store.transaction(async (tx) => {
        at.stage = 'handler';
        const started = performance.now();
        const how: Invocation<Tx> = { tx, scope, attempt: 1, retryingParked: false };
        for (let i = from; i < end; i++) {
          if (this.stopRequested) throw ROLL_BACK;
          const event = events[i] as RecordedEvent;
          const invoked = this.invoke(event, how);
          const outcome = invoked instanceof Promise ? await invoked : invoked;
          if (outcome.action !== 'ack') {
            failedAt = i;
            prior = outcome;
            throw ROLL_BACK;
          }
          if (i + 1 - from >= batchSize && performance.now() - started >= catchUp.maxBatchMs) {
            end = i + 1;
            this.firstCut ??= end;
          }
        }
        at.stage = 'progress';
        await this.saveProgress(tx, (events[end - 1] as RecordedEvent).position, scope);
        at.stage = 'commit';
      });
      this.advanced((events[end - 1] as RecordedEvent).position);
      return end;
    } catch (error) {
      if (error !== ROLL_BACK && at.stage !== 'commit') throw error;
      const lastPosition = (events[end - 1] as RecordedEvent).position;
      if (await this.landed(error, at.stage, lastPosition)) {
        this.advanced(lastPosition);
        return end;
      }
      if (this.stopRequested) return events.length;
    }
    if (failedAt < 0) {
      // The commit failed: each event on its own, where a failing commit is an attempt.
      for (let i = from; i < end; i++) {
        if (this.stopRequested) return events.length;
        await this.handleOne(events[i] as RecordedEvent, undefined, undefined);
      }
      return end;
    }
    // The events before the failed one succeeded but were rolled back with it: handled again,
    // together, then the failed one alone with its failure as the first attempt.
    let next = from;
    const before = events.slice(0, failedAt);
    while (next < failedAt && !this.stopRequested) next = await this.handleRun(before, next);
    if (this.stopRequested) return events.length;
    await this.handleOne(events[failedAt] as RecordedEvent, undefined, prior);
    return failedAt + 1;
  }

  /**
   * Hands the whole batch to the batch handler in one transaction with the checkpoint. True
   * when committed; false when the batch handler did not acknowledge (or the commit failed),
   * and the batch is to go to the event handler.
   */
  private async handleWhole(events: readonly RecordedEvent[], last: number): Promise<boolean> {
    const batchHandler = this.o.batchHandler;
    if (!batchHandler) return false;
    const at = { stage: 'begin' as Stage };
    let outcome: Outcome | undefined;
    // The closures below reach the batch through this, emptied once the batch is done: a
    // closure can outlive it (referred to from the old generation until the next full
    // collection), and must not keep its events alive through young-generation collections.
    const batch: { events: readonly RecordedEvent[] | undefined } = { events };
    try {
      await this.o.storage.store.transaction(async (tx) => {
        at.stage = 'handler';
        const call = this.startCall(batch.events?.[0]?.position ?? last);
        const scope: TxScope = { touched: false };
        const name = this.name;
        const context: BatchHandlerContext<Tx> & QuietFields<Tx> = {
          get tx() {
            scope.touched = true;
            return tx;
          },
          [CONTEXT_TX]: tx,
          [CONTEXT_SCOPE]: scope,
          subscription: name,
          lease: this.claim,
          get signal() {
            return signalOf(call);
          },
        };
        const invoked = this.run(call, () => batchHandler(batch.events ?? [], context));
        outcome = invoked instanceof Promise ? await invoked : invoked;
        if (outcome.action !== 'ack') throw ROLL_BACK;
        at.stage = 'progress';
        await this.saveProgress(tx, last, scope);
        at.stage = 'commit';
      });
    } catch (error) {
      if (error !== ROLL_BACK && at.stage !== 'commit') throw error;
      if (await this.landed(error, at.stage, last)) {
        this.advanced(last);
        return true;
      }
      if (!this.stopRequested)
        this.o.logger?.warn(
          {
            subscription: this.name,
            position: events[0]?.position,
            err: outcome?.action === 'failed' ? outcome.error : error,
            result: outcome?.action,
          },
          'batch handler did not acknowledge; handing the batch to the event handler',
        );
      return false;
    } finally {
      batch.events = undefined;
    }
    this.advanced(last);
    return true;
  }

  /**
   * Handles one event until it is acknowledged, skipped or parked: retries with backoff,
   * parks after the last attempt. `parked` is set when retrying a parked event.
   */
  private async handleOne(
    event: RecordedEvent,
    parked: ParkedEvent | undefined,
    prior: Outcome | undefined,
  ): Promise<void> {
    let attempt = 0;
    let outcome = prior;
    for (;;) {
      attempt += 1;
      if (outcome === undefined) {
        if (this.stopRequested) return;
        outcome = await this.attempt(event, attempt, parked);
      }
      switch (outcome.action) {
        case 'ack':
          if (this.current.failing) this.update({ failing: undefined });
          return;
        case 'skip':
          await this.commitSkip(event, parked);
          this.o.logger?.info(
            { subscription: this.name, position: event.position, reason: outcome.reason },
            'handler skipped an event',
          );
          return;
        case 'park':
          await this.commitPark(event, parked, 'requested', attempt, {
            name: 'ParkRequested',
            message: outcome.reason,
          });
          return;
        case 'stop':
          throw new SubscriptionStoppedByHandlerError(this.name, event.position, outcome.reason);
        case 'retry':
        case 'failed': {
          // A failure while stopping (often the abort itself) is left for the next run.
          if (this.stopRequested) return;
          const error =
            outcome.action === 'failed' ? outcome.error : retryRequested(outcome.reason);
          this.update({
            failing: { position: event.position, eventId: event.id, attempt, error },
          });
          if (attempt >= this.o.retry.attempts) {
            await this.commitPark(event, parked, 'failed', attempt, parkedErrorRecord(error));
            return;
          }
          this.o.logger?.warn(
            { subscription: this.name, position: event.position, attempt, err: error },
            'handler failed; retrying',
          );
          await this.pause(backoffDelay(attempt, this.o.retry));
          outcome = undefined;
        }
      }
    }
  }

  /** One handler call in its own transaction, which also records the progress. */
  private async attempt(
    event: RecordedEvent,
    attempt: number,
    parked: ParkedEvent | undefined,
  ): Promise<Outcome> {
    let outcome: Outcome | undefined;
    const at = { stage: 'begin' as Stage };
    try {
      await this.o.storage.store.transaction(async (tx) => {
        at.stage = 'handler';
        const scope: TxScope = { touched: false };
        const retryingParked = parked !== undefined;
        const invoked = this.invoke(event, { tx, scope, attempt, retryingParked });
        outcome = invoked instanceof Promise ? await invoked : invoked;
        if (outcome.action !== 'ack') throw ROLL_BACK;
        at.stage = 'progress';
        if (parked) {
          await this.fence(tx);
          await this.o.storage.parked.remove(this.name, [event.position], tx);
        } else {
          await this.saveProgress(tx, event.position, scope);
        }
        at.stage = 'commit';
      });
    } catch (error) {
      if (error === ROLL_BACK && outcome) return outcome;
      if (at.stage !== 'commit') throw error;
      if (!(await this.landed(error, at.stage, event.position, parked !== undefined)))
        return { action: 'failed', error: new HandlerCommitFailedError(event.position, error) };
    }
    if (!parked) this.advanced(event.position);
    return { action: 'ack' };
  }

  /**
   * Calls the handler with a timeout; never throws, failures are outcomes. A handler that
   * returns at once (no promise) gets its outcome back at once, without a turn of the
   * event loop.
   */
  private invoke(event: RecordedEvent, how: Invocation<Tx>): Outcome | Promise<Outcome> {
    const call = this.startCall(event.position);
    const context = new SubscriptionContext<Tx>(this.name, how, this.claim, call);
    const handler = this.o.handler;
    return this.run(call, () => handler(event, context));
  }

  /** Makes `call` the one in hand; a call made while stopping starts aborted. */
  private startCall(position: number): Call {
    const call: Call = {
      position,
      deadline: 0,
      controller: undefined,
      reason: this.stopRequested ? stoppingError() : undefined,
      expire: undefined,
    };
    this.call = call;
    return call;
  }

  /** Runs `handle` as `call`: its result checked, its promise (if any) bounded by the timeout. */
  private run(call: Call, handle: () => unknown): Outcome | Promise<Outcome> {
    const started = performance.now();
    let returned: unknown;
    try {
      returned = handle();
    } catch (thrown) {
      this.endCall(call);
      return failure(thrown);
    }
    if (!isPromiseLike(returned)) {
      this.endCall(call);
      return outcomeOf(returned);
    }
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const settle = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        call.expire = undefined;
        this.endCall(call);
        resolve(outcome);
      };
      call.expire = (error) => settle({ action: 'failed', error });
      call.deadline = started + this.o.handlerTimeoutMs;
      this.armWatchdog(call.deadline);
      returned.then(
        (value) => settle(outcomeOf(value)),
        (thrown) => settle(failure(thrown)),
      );
    });
  }

  private endCall(call: Call): void {
    if (this.call === call) this.call = undefined;
  }

  private armWatchdog(deadline: number): void {
    if (this.watchdog !== undefined) return;
    const delay = Math.max(1, Math.ceil(deadline - performance.now()));
    this.watchdog = setTimeout(() => this.onWatchdog(), delay);
  }

  /** Times out the call in hand if its deadline passed; otherwise waits for it (or stands down). */
  private onWatchdog(): void {
    this.watchdog = undefined;
    const call = this.call;
    if (!call?.expire) return;
    if (performance.now() < call.deadline) {
      this.armWatchdog(call.deadline);
      return;
    }
    const error = new HandlerTimeoutError(this.name, call.position, this.o.handlerTimeoutMs);
    abortCall(call, error);
    call.expire(error);
  }

  private disarmWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  private async commitSkip(event: RecordedEvent, parked: ParkedEvent | undefined): Promise<void> {
    const { storage } = this.o;
    await storage.store.transaction(async (tx) => {
      if (parked) {
        await this.fence(tx);
        await storage.parked.remove(this.name, [event.position], tx);
      } else {
        await this.saveProgress(tx, event.position, PROGRESS_ONLY);
      }
    });
    if (!parked) this.advanced(event.position);
    else if (this.current.failing) this.update({ failing: undefined });
  }

  private async commitPark(
    event: EventRef,
    parked: ParkedEvent | undefined,
    reason: ParkReason,
    attempts: number,
    error: ParkedError,
  ): Promise<void> {
    const { storage } = this.o;
    await storage.store.transaction(async (tx) => {
      await this.fence(tx);
      await storage.parked.park(
        this.name,
        {
          position: event.position,
          eventId: event.id,
          stream: event.stream,
          type: event.type,
          reason,
          error,
          attempts,
          parkedAt: new Date(this.o.clock.now()),
        },
        tx,
      );
      if (!parked) await storage.checkpoints.save(this.name, event.position, tx);
    });
    this.o.logger?.warn(
      {
        subscription: this.name,
        position: event.position,
        eventId: event.id,
        reason,
        attempts,
        error,
      },
      'event parked',
    );
    if (!parked) this.advanced(event.position);
    else if (this.current.failing) this.update({ failing: undefined });
  }

  /** Retries the parked events someone asked to retry, in position order. */
  private async retryRequestedParked(): Promise<void> {
    const { storage, source } = this.o;
    let after = 0;
    for (;;) {
      const entries = await storage.parked.list(this.name, {
        retryRequested: true,
        after,
        limit: this.o.batchSize,
      });
      if (entries.length === 0) return;
      for (const entry of entries) {
        if (this.stopRequested) return;
        after = entry.position;
        let event: RecordedEvent | undefined;
        try {
          for await (const e of source.readAll({ from: entry.position, limit: 1 })) event = e;
        } catch (error) {
          if (!(error instanceof EventDecodeError && error.position === entry.position))
            throw error;
          // Still undecodable (until someone repairs the row): parked again, with this error.
          await this.commitPark(
            undecodableEventRef(error),
            entry,
            'failed',
            1,
            parkedErrorRecord(error),
          );
          continue;
        }
        if (!event || event.position !== entry.position || event.id !== entry.eventId) {
          const missing = new ParkedEventMissingError(this.name, entry.position, entry.eventId);
          await this.commitPark(
            { position: entry.position, id: entry.eventId, stream: entry.stream, type: entry.type },
            entry,
            'failed',
            1,
            parkedErrorRecord(missing),
          );
          continue;
        }
        await this.handleOne(event, entry, undefined);
      }
    }
  }

  /**
   * Checkpoint write with the lease fence, inside `tx`. When `scope` shows that no handler
   * took the transaction, it holds nothing but this progress, whose loss in a crash only
   * means redelivery: the checkpoint store may then commit it without waiting for the flush.
   */
  private async saveProgress(tx: Tx, position: number, scope: TxScope): Promise<void> {
    const checkpoints = this.o.storage.checkpoints;
    // Sent together (a pipelined connection takes them in one round trip): a failed fence
    // fails the transaction, and the checkpoint written beside it rolls back with it.
    await Promise.all([
      this.fence(tx),
      checkpoints.save(this.name, position, tx),
      !scope.touched && checkpoints.relaxCommit ? checkpoints.relaxCommit(tx) : undefined,
    ]);
  }

  private async fence(tx: Tx): Promise<void> {
    // The epoch too: a former runner under the same owner string is refused as well.
    if (this.o.lease)
      await this.o.storage.leases.assertHeld(this.name, this.claim ?? this.owner, tx);
  }

  private advanced(position: number): void {
    if (position > this.position) this.position = position;
    if (position > this.savedPosition) this.savedPosition = position;
    this.update({ position: this.position, failing: undefined });
  }

  /** Stops the subscription on its own, with `error` as the reason. */
  private fail(error: Error): void {
    this.stopError ??= error;
    this.requestStop();
  }

  private requestStop(): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    if (this.current.state !== 'stopped') this.update({ state: 'stopping' });
    this.signalStopped();
    this.wake.set();
    if (this.call) abortCall(this.call, stoppingError());
  }

  /** Waits `ms` on the retry policy's sleep, or until stopped. */
  private async pause(ms: number): Promise<void> {
    await Promise.race([this.o.retry.sleep(ms), this.stopped]);
  }

  /** Waits until woken (a commit, a retry request, stop) or `ms` pass. */
  private idle(ms: number): Promise<void> {
    return this.wake.wait(ms);
  }

  private update(change: Partial<SubscriptionStatus>): void {
    const next = { ...this.current, ...change };
    next.running = next.state === 'catching-up' || next.state === 'live';
    this.current = next;
    for (const listener of [...this.listeners]) {
      try {
        listener({ ...next });
      } catch {
        // A listener's failure is its own; the subscription carries on.
      }
    }
  }
}

function stoppingError(): Error {
  return new Error('the subscription is stopping');
}

/** The call's signal, made now if the handler is the first to ask for it. */
function signalOf(call: Call): AbortSignal {
  if (!call.controller) {
    call.controller = new AbortController();
    if (call.reason) call.controller.abort(call.reason);
  }
  return call.controller.signal;
}

const CONTEXT_TX = Symbol('causeway.context.tx');
const CONTEXT_SCOPE = Symbol('causeway.context.scope');
const CONTEXT_CALL = Symbol('causeway.context.call');

/** The transaction and its scope, under private symbols, on every context a subscription makes. */
interface QuietFields<Tx extends StoreTransaction> {
  [CONTEXT_TX]: Tx;
  [CONTEXT_SCOPE]: TxScope;
}

function isQuiet<Tx extends StoreTransaction>(context: object): context is QuietFields<Tx> {
  return CONTEXT_TX in context;
}

/**
 * The transaction of a handler context, without marking it taken. For a caller that hands the
 * transaction on to code that may or may not write in it (the projection runtime binds read
 * models to it), and marks it taken through {@link markTaken} once that code does, so that a
 * batch nothing wrote in still commits relaxed. On a context a subscription did not make, this
 * reads `context.tx`, which marks it taken.
 */
export function peekTransaction<Tx extends StoreTransaction>(
  context: HandlerContext<Tx> | BatchHandlerContext<Tx>,
): Tx {
  return isQuiet<Tx>(context) ? context[CONTEXT_TX] : context.tx;
}

/** A function that marks the transaction of `context` taken (see {@link peekTransaction}). */
export function markTaken<Tx extends StoreTransaction>(
  context: HandlerContext<Tx> | BatchHandlerContext<Tx>,
): () => void {
  if (!isQuiet<Tx>(context)) return () => undefined;
  const scope = context[CONTEXT_SCOPE];
  return () => {
    scope.touched = true;
  };
}

/**
 * `tx` marks the transaction taken (a progress-only one may commit relaxed); `signal` makes
 * the call's AbortController on first use. One function each for every context: getters
 * written in an object literal are new closures per event, and catch-up built contexts fast
 * enough for that to cost a third of its throughput, the garbage of each batch outliving
 * young-generation collections.
 */
const TX_ACCESSOR: PropertyDescriptor = {
  get(this: SubscriptionContext<StoreTransaction>) {
    this[CONTEXT_SCOPE].touched = true;
    return this[CONTEXT_TX];
  },
  enumerable: true,
  configurable: true,
};
const SIGNAL_ACCESSOR: PropertyDescriptor = {
  get(this: SubscriptionContext<StoreTransaction>) {
    return signalOf(this[CONTEXT_CALL]);
  },
  enumerable: true,
  configurable: true,
};

/**
 * A handler's context: `tx` and `signal` are own, enumerable accessors, so a spread copy of
 * the context still carries them. A class, its accessors defined in the constructor: every
 * context then has the same shape from the start, which costs half of defining them on an
 * object literal (`Object.defineProperties`) per event.
 */
class SubscriptionContext<Tx extends StoreTransaction> implements HandlerContext<Tx> {
  declare readonly tx: Tx;
  declare readonly signal: AbortSignal;
  subscription: string;
  attempt: number;
  retryingParked: boolean;
  lease: LeaseClaim | undefined;
  [CONTEXT_TX]: Tx;
  [CONTEXT_SCOPE]: TxScope;
  [CONTEXT_CALL]: Call;

  constructor(
    subscription: string,
    how: Invocation<Tx>,
    lease: LeaseClaim | undefined,
    call: Call,
  ) {
    this.subscription = subscription;
    this.attempt = how.attempt;
    this.retryingParked = how.retryingParked;
    this.lease = lease;
    this[CONTEXT_TX] = how.tx;
    this[CONTEXT_SCOPE] = how.scope;
    this[CONTEXT_CALL] = call;
    Object.defineProperty(this, 'tx', TX_ACCESSOR);
    Object.defineProperty(this, 'signal', SIGNAL_ACCESSOR);
  }
}

/** Aborts the call's signal, or records why for when the handler first reads it. */
function abortCall(call: Call, reason: Error): void {
  if (call.controller) {
    if (!call.controller.signal.aborted) call.controller.abort(reason);
  } else {
    call.reason ??= reason;
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** The outcome of most calls, shared: a handler that returns nothing costs no allocation. */
const ACK: Outcome = Object.freeze({ action: 'ack' });

function outcomeOf(value: unknown): Outcome {
  if (value === undefined) return ACK;
  try {
    return toHandlerResult(value);
  } catch (error) {
    return failure(error);
  }
}

function failure(thrown: unknown): Outcome {
  return {
    action: 'failed',
    error: thrown instanceof Error ? thrown : new NonErrorThrownError(thrown),
  };
}

/** Errors after which retrying cannot help: the subscription stops at once. */
function isFatal(error: unknown): boolean {
  return (
    error instanceof LeaseLostError ||
    error instanceof SubscriptionStoppedByHandlerError ||
    error instanceof CheckpointAheadError ||
    error instanceof StoreClosedError ||
    error instanceof InvalidArgumentError
  );
}

function retryRequested(reason: string): Error {
  const error = new Error(`The handler asked to retry: ${reason}`);
  error.name = 'RetryRequested';
  return error;
}
