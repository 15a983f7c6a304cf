import type { RecordedEvent } from '../core/envelope.js';
import { InvalidArgumentError, StoreClosedError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { StoreTransaction } from '../store/event-store.js';
import { MemberIdInUseError, PartitionCountMismatchError } from './consumer-group-errors.js';
import {
  resolveConsumerGroupOptions,
  type ConsumerGroupOptions,
  type ResolvedConsumerGroupOptions,
} from './consumer-group-options.js';
import {
  DEFAULT_PARKED_LIST_LIMIT,
  type ListParkedOptions,
  type ParkedEvent,
  type ParkedSelection,
} from './parked-event-store.js';
import { fnv1a32 } from '../store/partition.js';
import { assignPartitions } from './partition-assignment.js';
import { Subscription, type SubscriptionStatus } from './subscription.js';
import {
  CheckpointAheadError,
  NonErrorThrownError,
  SubscriptionStoppedByHandlerError,
} from './subscription-errors.js';
import { WakeSignal } from './wake-signal.js';

/**
 * Where a member of a consumer group is in its life:
 * - `'joining'`: recording the group and its first heartbeat;
 * - `'running'`: heartbeating, and running the partitions assigned to it;
 * - `'stopping'`: leaving the group and stopping its partitions;
 * - `'stopped'`: not a member; `error` says why if it stopped on its own.
 */
export type ConsumerGroupState = 'joining' | 'running' | 'stopping' | 'stopped';

/** A partition run (or being let go) by this member: its subscription's status. */
export interface GroupPartitionStatus extends SubscriptionStatus {
  partition: number;
}

/** A snapshot of a member's view of its group (see {@link ConsumerGroup.status}). */
export interface ConsumerGroupStatus {
  /** The group's name. */
  group: string;
  /** This member's id. */
  member: string;
  state: ConsumerGroupState;
  /** True while `'running'`. */
  running: boolean;
  /** The group's partition count. */
  partitionCount: number;
  /** The live members found at the last heartbeat, sorted by id (this one included). */
  members: string[];
  /** The partitions assigned to this member at the last heartbeat, in order. */
  assigned: number[];
  /**
   * The partitions this member has a subscription for, in order: the assigned ones, and
   * revoked ones until they have stopped. A partition whose subscription stopped with an
   * error that a restart cannot cure (`nack.stop`, a checkpoint ahead of the log) stays here,
   * stopped, with that error, until the member is restarted.
   */
  partitions: GroupPartitionStatus[];
  /** How many times this member's assignment has changed since it started. */
  rebalances: number;
  /** When this member last heartbeated (its clock). */
  lastHeartbeat: Date | undefined;
  /** Why it stopped, when it stopped on its own (or failed to start). */
  error: Error | undefined;
}

/** A partition's subscription on this member. */
interface Slot<Tx extends StoreTransaction> {
  subscription: Subscription<Tx>;
  unlisten: () => void;
  /** Set once the partition was revoked: resolves when its subscription has stopped. */
  stopping?: Promise<void>;
}

/**
 * One member of a consumer group: several processes (or several members in one) share the
 * work of one named subscription. The group's streams are hashed into a fixed number of
 * partitions (`partitionOf(stream, partitions)`); each partition is a `Subscription` named
 * `<group>#<partition>` that delivers only its streams' events, with its own checkpoint,
 * lease and parked events. Every member heartbeats into the membership table; the live
 * members, sorted, get a balanced assignment of the partitions (`assignPartitions`) that each
 * of them computes alike. A member runs the partitions assigned to it and stops the others.
 *
 * A stream's events all go to one partition and a partition has one runner at a time (its
 * lease, checked in every commit), so per-stream order holds across rebalances; effects the
 * handler writes through `ctx.tx` happen once. A member that joins or leaves (`stop()`) is
 * acted on within a heartbeat interval; one that dies loses its partitions once its
 * heartbeat and leases expire (`leaseTtlMs`).
 *
 * @example
 * ```ts
 * const store = await PostgresEventStore.open(url);
 * const group = new ConsumerGroup<PostgresTransaction>({
 *   name: 'mailer',
 *   partitions: 16,
 *   storage: await postgresSubscriptionStorage(store),
 *   membership: await postgresGroupMembership(store),
 *   handler: async (event, { tx }) => {
 *     await tx.client.query('INSERT INTO outbox (event_id) VALUES ($1)', [event.id]);
 *   },
 * });
 * await group.start(); // in as many processes as needed
 * // ...
 * await group.stop();
 * ```
 */
export class ConsumerGroup<Tx extends StoreTransaction = StoreTransaction> {
  /** The group's name. */
  readonly name: string;
  /** This member's id in the group. */
  readonly memberId: string;
  /** Who owns this member's partition leases: `<memberId>/<instance>`. */
  readonly owner: string;
  /** The group's partition count. */
  readonly partitions: number;
  private readonly o: ResolvedConsumerGroupOptions<Tx>;
  private readonly instance = newId().slice(-8);
  private readonly slots = new Map<number, Slot<Tx>>();
  private readonly listeners = new Set<(status: ConsumerGroupStatus) => void>();
  private readonly wake = new WakeSignal();
  private life: { started: Promise<void>; done: Promise<void> } | undefined;
  private stopRequested = false;
  private startAfter = 0;
  private state: ConsumerGroupState = 'stopped';
  private error: Error | undefined;
  private members: string[] = [];
  private assigned: number[] = [];
  private rebalances = 0;
  private lastHeartbeat: number | undefined;
  private checkWaiters: (() => void)[] = [];

  constructor(options: ConsumerGroupOptions<Tx>) {
    this.o = resolveConsumerGroupOptions(options);
    this.name = this.o.name;
    this.memberId = this.o.memberId;
    this.partitions = this.o.partitions;
    this.owner = `${this.memberId}/${this.instance}`;
  }

  /** The member's state now (a copy). */
  get status(): ConsumerGroupStatus {
    return {
      group: this.name,
      member: this.memberId,
      state: this.state,
      running: this.state === 'running',
      partitionCount: this.partitions,
      members: [...this.members],
      assigned: [...this.assigned],
      partitions: [...this.slots]
        .sort(([a], [b]) => a - b)
        .map(([partition, slot]) => ({ partition, ...slot.subscription.status })),
      rebalances: this.rebalances,
      lastHeartbeat: this.lastHeartbeat === undefined ? undefined : new Date(this.lastHeartbeat),
      error: this.error,
    };
  }

  /**
   * Calls `listener` with the new status on every change (membership, assignment, and every
   * partition's state and position) until the returned function is called. Listeners must
   * not throw.
   */
  onStatus(listener: (status: ConsumerGroupStatus) => void): () => void {
    if (typeof listener !== 'function')
      throw new InvalidArgumentError('listener', 'must be a function (status) => void');
    const entry = (status: ConsumerGroupStatus) => listener(status);
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  /**
   * The partition `stream`'s events belong to in this group (with the default partition key;
   * see {@link partitionOfEvent} for a custom one).
   */
  partitionOf(stream: string): number {
    return fnv1a32(stream) % this.partitions;
  }

  /** The partition `event` belongs to in this group, by its `partitionKey` (default: stream). */
  partitionOfEvent(event: RecordedEvent): number {
    const key = this.o.partitionKey;
    return fnv1a32(key ? partitionKeyOf(key, event) : event.stream) % this.partitions;
  }

  /** The subscription name of `partition` (`<group>#<partition>`). */
  partitionName(partition: number): string {
    return `${this.name}#${partition}`;
  }

  /**
   * Joins the group: records it (or checks its partition count), heartbeats, and starts the
   * partitions assigned to this member, which take their leases as soon as their former
   * runners let go. Resolves once joined; calling it while started returns the same promise.
   *
   * @throws {PartitionCountMismatchError} when the group exists with another partition count.
   * @throws {MemberIdInUseError} when another live instance has this member id.
   */
  start(): Promise<void> {
    if (this.life) return this.life.started;
    this.stopRequested = false;
    let markStarted: () => void = () => undefined;
    let failStart: (error: Error) => void = () => undefined;
    const started = new Promise<void>((resolve, reject) => {
      markStarted = resolve;
      failStart = reject;
    });
    this.life = { started, done: this.run(markStarted, failStart) };
    return started;
  }

  /**
   * Leaves the group: the others take over its partitions at their next heartbeat, as soon
   * as each partition's event in hand is finished and its lease released. Resolves once every
   * partition here has stopped. A later `start()` joins again.
   */
  async stop(): Promise<void> {
    const life = this.life;
    if (!life) return;
    this.requestStop();
    await life.done;
  }

  /**
   * Heartbeats and rebalances now rather than at the next interval; resolves once done (or
   * at once when not running).
   */
  rebalance(): Promise<void> {
    if (!this.life || this.stopRequested) return Promise.resolve();
    return new Promise((resolve) => {
      this.checkWaiters.push(resolve);
      this.wake.set();
    });
  }

  /** Parked events of every partition of the group, in position order (`limit` default 100). */
  async listParked(options: ListParkedOptions = {}): Promise<ParkedEvent[]> {
    const lists = await Promise.all(
      this.partitionNames().map((name) => this.o.resolved.storage.parked.list(name, options)),
    );
    return lists
      .flat()
      .sort((a, b) => a.position - b.position)
      .slice(0, options.limit ?? DEFAULT_PARKED_LIST_LIMIT);
  }

  /** How many events the group's partitions have parked. */
  async parkedCount(): Promise<number> {
    const counts = await Promise.all(
      this.partitionNames().map((name) => this.o.resolved.storage.parked.count(name)),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * Hands parked events of the group back to the handler (attempts reset), whichever member
   * runs their partition. Returns how many were marked.
   */
  async retryParked(which: ParkedSelection): Promise<number> {
    const marked = await Promise.all(
      this.partitionNames().map((name, partition) => {
        const slot = this.slots.get(partition);
        return slot && !slot.stopping
          ? slot.subscription.retryParked(which)
          : this.o.resolved.storage.parked.requestRetry(name, which);
      }),
    );
    return marked.reduce((a, b) => a + b, 0);
  }

  /** Removes parked events of the group without handling them. Returns how many. */
  async skipParked(which: ParkedSelection): Promise<number> {
    const removed = await Promise.all(
      this.partitionNames().map((name) => this.o.resolved.storage.parked.remove(name, which)),
    );
    return removed.reduce((a, b) => a + b, 0);
  }

  private partitionNames(): string[] {
    return Array.from({ length: this.partitions }, (_, p) => this.partitionName(p));
  }

  private async run(markStarted: () => void, failStart: (error: Error) => void): Promise<void> {
    const logger = this.o.resolved.logger;
    let error: Error | undefined;
    let started = false;
    this.error = undefined;
    this.setState('joining');
    try {
      await this.define();
      await this.check(true);
      if (!this.stopRequested) {
        this.setState('running');
        started = true;
        markStarted();
      }
      while (!this.stopRequested) {
        await this.wake.wait(this.o.heartbeatIntervalMs);
        this.wake.reset();
        if (this.stopRequested) break;
        try {
          await this.check();
        } catch (e) {
          if (this.stopRequested) break;
          if (e instanceof MemberIdInUseError || e instanceof StoreClosedError) throw e;
          // The database may be briefly unreachable: the partitions' leases keep this safe,
          // and if it lasts past the lease expiry, the others take over.
          logger?.warn(
            { group: this.name, member: this.memberId, err: e },
            'consumer group heartbeat failed; retrying',
          );
        } finally {
          this.releaseCheckWaiters();
        }
      }
    } catch (e) {
      error = e instanceof Error ? e : new NonErrorThrownError(e);
      logger?.error(
        { group: this.name, member: this.memberId, err: error },
        'consumer group member stopped on error',
      );
    } finally {
      this.stopRequested = true;
      if (this.state !== 'stopped') this.setState('stopping');
      // Leaving first lets the others rebalance while this member finishes its partitions;
      // their subscriptions wait for the leases these release.
      await this.o.membership.leave(this.name, this.memberId, this.instance).catch(() => undefined);
      await Promise.all([...this.slots.keys()].map((partition) => this.revoke(partition)));
      this.releaseCheckWaiters();
      this.life = undefined;
      this.error = error;
      this.members = [];
      this.assigned = [];
      this.setState('stopped');
      if (started || !error) markStarted();
      else failStart(error);
    }
  }

  /** Records the group, or checks it against its stored definition. */
  private async define(): Promise<void> {
    const { resolved, partitions } = this.o;
    const from = resolved.from;
    const startAfter =
      from === 'start' ? 0 : from === 'end' ? await resolved.source.headPosition() : from.after;
    const stored = await this.o.membership.define(
      this.name,
      { partitions, startAfter },
      this.o.clock.now(),
    );
    if (stored.partitions !== partitions)
      throw new PartitionCountMismatchError(this.name, stored.partitions, partitions);
    this.startAfter = stored.startAfter;
  }

  /**
   * One heartbeat: renews the membership, reads the live members, applies the assignment.
   * After the first, the renewal runs beside the rest: on SQLite it waits for the file's
   * write lock, which handler transactions hold, and noticing a dead member should not.
   */
  private async check(first = false): Promise<void> {
    const { membership, clock, leaseTtlMs } = this.o;
    const now = clock.now();
    const beating = membership
      .heartbeat(this.name, this.memberId, this.instance, leaseTtlMs, now)
      .then((beat) => {
        if (!beat.joined)
          throw new MemberIdInUseError(this.name, this.memberId, beat.holder.expiresAt);
        this.lastHeartbeat = now;
      });
    // Handled now, so that a failure while the members are read is not reported as unhandled;
    // it is rethrown below.
    beating.catch(() => undefined);
    // The first waits: this member runs nothing before it is known to own its id.
    if (first) await beating;
    let live: string[];
    try {
      live = (await membership.members(this.name, clock.now())).map((m) => m.member);
    } catch (error) {
      await beating.catch(() => undefined);
      throw error;
    }
    this.apply(live);
    await beating;
  }

  /** Runs the partitions the assignment among `live` members gives this one, and only them. */
  private apply(live: string[]): void {
    if (this.stopRequested) return;
    // This member is heartbeating: it is live whatever the read saw (a clock step, say).
    if (!live.includes(this.memberId)) live.push(this.memberId);
    const mine = assignPartitions(live, this.partitions).get(this.memberId) ?? [];
    const changed = mine.join() !== this.assigned.join();
    this.members = [...live].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (changed) {
      if (this.state === 'running') this.rebalances += 1;
      this.o.resolved.logger?.info(
        { group: this.name, member: this.memberId, members: this.members, assigned: mine },
        'consumer group assignment changed',
      );
    }
    this.assigned = mine;
    const assigned = new Set(mine);
    for (const partition of this.slots.keys()) {
      if (!assigned.has(partition)) void this.revoke(partition);
    }
    for (const partition of mine) this.ensureRunning(partition);
    this.emit();
  }

  /** Starts `partition` here unless it runs, is still stopping, or failed for good. */
  private ensureRunning(partition: number): void {
    const slot = this.slots.get(partition);
    if (slot) {
      if (slot.stopping) return;
      const status = slot.subscription.status;
      if (status.state !== 'stopped' || !canRestart(status.error)) return;
      slot.subscription.start().catch(() => undefined);
      return;
    }
    const subscription = this.partitionSubscription(partition);
    const unlisten = subscription.onStatus(() => this.emit());
    this.slots.set(partition, { subscription, unlisten });
    // A failure to start shows in the partition's status; it is retried at the next heartbeat.
    subscription.start().catch(() => undefined);
  }

  /** Stops `partition` here (releasing its lease) and forgets it once stopped. */
  private revoke(partition: number): Promise<void> {
    const slot = this.slots.get(partition);
    if (!slot) return Promise.resolve();
    slot.stopping ??= slot.subscription.stop().then(() => {
      slot.unlisten();
      if (this.slots.get(partition) === slot) this.slots.delete(partition);
      this.emit();
      // Assigned back while it was stopping: start it again without waiting a heartbeat.
      if (!this.stopRequested && this.assigned.includes(partition)) this.wake.set();
    });
    this.emit();
    return slot.stopping;
  }

  private partitionSubscription(partition: number): Subscription<Tx> {
    const o = this.o;
    const r = o.resolved;
    const count = this.partitions;
    const where = r.where;
    const key = o.partitionKey;
    // By stream, the store keeps only this partition's events as it reads. The check in
    // process stays too: it is one hash per delivered event, and keeps a source that ignores
    // `filter.partition` (a custom EventStore) from delivering other partitions' events.
    const ofPartition = key
      ? (event: RecordedEvent) => fnv1a32(partitionKeyOf(key, event)) % count === partition
      : (event: RecordedEvent) => fnv1a32(event.stream) % count === partition;
    const mine = where ? (event: RecordedEvent) => ofPartition(event) && where(event) : ofPartition;
    const filter = key ? r.filter : { ...r.filter, partition: { count, index: partition } };
    return new Subscription<Tx>({
      storage: r.storage,
      handler: r.handler,
      batchHandler: r.batchHandler,
      source: r.source,
      ...(r.wakeGate ? { wakeGate: r.wakeGate } : {}),
      filter,
      batchSize: r.batchSize,
      // Resolved once for the group: partitions grow their catch-up batches as a lone
      // subscription with the same options would (an explicit batchSize alone keeps them fixed).
      catchUp: r.catchUp,
      retry: r.retry,
      handlerTimeoutMs: r.handlerTimeoutMs,
      clock: r.clock,
      logger: r.logger,
      idleCheckIntervalMs: r.idleCheckIntervalMs,
      name: this.partitionName(partition),
      from: { after: this.startAfter },
      where: mine,
      lease: { ttlMs: o.leaseTtlMs, wait: true, retryIntervalMs: o.leaseRetryIntervalMs },
      owner: this.owner,
    });
  }

  private requestStop(): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    if (this.state !== 'stopped') this.setState('stopping');
    this.wake.set();
  }

  private releaseCheckWaiters(): void {
    const waiters = this.checkWaiters;
    this.checkWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private setState(state: ConsumerGroupState): void {
    this.state = state;
    this.emit();
  }

  private emit(): void {
    if (this.listeners.size === 0) return;
    const status = this.status;
    for (const listener of [...this.listeners]) {
      try {
        listener(status);
      } catch {
        // A listener's failure is its own; the member carries on.
      }
    }
  }
}

/**
 * The custom partition key of `event`, checked: a key that is not a string would hash
 * differently in each member, so it stops the partition instead (the handler's error path).
 */
function partitionKeyOf(key: (event: RecordedEvent) => string, event: RecordedEvent): string {
  const value: unknown = key(event);
  if (typeof value !== 'string')
    throw new InvalidArgumentError(
      'partitionKey',
      `must return a string; returned ${typeof value} for event ${event.id}`,
    );
  return value;
}

/**
 * Whether a partition that stopped on its own is worth starting again: yes after a lost
 * lease or a database failure; not when the handler asked to stop, or the checkpoint is
 * ahead of the log, which need a person.
 */
function canRestart(error: Error | undefined): boolean {
  return !(
    error instanceof SubscriptionStoppedByHandlerError ||
    error instanceof CheckpointAheadError ||
    error instanceof InvalidArgumentError ||
    error instanceof StoreClosedError
  );
}
