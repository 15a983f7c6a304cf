import { hostname } from 'node:os';
import { systemClock, type Clock } from '../core/clock.js';
import { InvalidArgumentError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { backoffDelay, resolveBackoff, type BackoffOptions } from '../core/backoff.js';
import type { CommandDispatcher } from '../domain/command-dispatcher.js';
import type { EventStore, StoreTransaction } from '../store/event-store.js';
import { fnv1a32 } from '../store/partition.js';
import { ConsumerGroup } from '../subscriptions/consumer-group.js';
import { Subscription, type SubscriptionState } from '../subscriptions/subscription.js';
import type {
  SubscriptionLogger,
  SubscriptionStart,
} from '../subscriptions/subscription-options.js';
import type { SubscriptionStorage } from '../subscriptions/subscription-storage.js';
import { runChoreography, type ChoreographyDefinition } from './choreography.js';
import { LeasedLoop } from './leased-loop.js';
import { sagaEventTypes, type SagaDefinition } from './saga-definition.js';
import { SagaEngine, type CommandOutcome, type SagaEngineStats } from './saga-engine.js';
import {
  InvalidSagaDefinitionError,
  SagaIdleTimeoutError,
  SagaRuntimeStateError,
} from './saga-errors.js';
import { ParkedSagaCommands, type SagaCommandAdmin } from './parked-commands.js';
import { StepLinger } from './step-linger.js';
import {
  assertSagaPartitionOptions,
  sagaPartitionKey,
  sagaPartitionOf,
  type SagaPartitionOptions,
} from './saga-partitions.js';
import {
  MAX_SAGA_LIST_LIMIT,
  type OutboxEntry,
  type OutboxUpdate,
  type SagaStore,
} from './saga-store.js';
import type { SagaInstanceView, SagaQuery, SagaStatus } from './saga-view.js';

/** How the outbox dispatches recorded commands. */
export interface OutboxOptions {
  /** Tries per command before it is parked. Default 5. */
  maxAttempts?: number;
  /** Delay between tries (exponential, jittered). Default base 100 ms, max 30 s. */
  backoff?: Pick<BackoffOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>;
  /** Instances whose commands are dispatched at once. Default 16. */
  concurrency?: number;
  /** Commands read per pass. Default 200. */
  batchSize?: number;
  /** How often to look for commands recorded by other processes, in ms. Default 1000. */
  pollIntervalMs?: number;
}

/** How timers are fired. */
export interface TimerOptions {
  /** How often to look for due timers, in ms of real time. Default 1000. */
  pollIntervalMs?: number;
  /** Timers fired per pass. Default 100. */
  batchSize?: number;
}

/** Options of {@link SagaRuntime}. */
export interface SagaRuntimeOptions<Tx extends StoreTransaction = StoreTransaction> {
  /**
   * The store and its subscription storage (checkpoints, parked events, leases). The
   * transactions of `storage.store` carry every write (instances, timers, outbox, emitted
   * events): give the storage of a `stackBackend` view so emitted events are validated (and
   * encrypted, chained...) like any other append.
   */
  storage: SubscriptionStorage<Tx>;
  /**
   * The store the sagas and handlers read events from: by default `storage.store`. Give a
   * wrapper of that same store (`withSchemas(store, { registry, upcasters })`, a `storeStack`)
   * so handlers see what it reads: upcast, decrypted. As with `SubscriptionOptions.source`,
   * only reads go through it; writes go through `storage.store`.
   */
  source?: EventStore;
  /** Where instances, timers and the outbox live: the same database as `storage`. */
  sagaStore: SagaStore<Tx>;
  /** The process managers to run. */
  sagas?: readonly SagaDefinition<never>[] | readonly SagaDefinition<unknown>[];
  /** The choreography handlers to run. */
  choreography?: readonly ChoreographyDefinition[];
  /** Where recorded commands go: in process, or over the bus. */
  dispatcher: CommandDispatcher;
  /** Time of timers, history and leases. Default: the system clock. */
  clock?: Clock;
  logger?: SubscriptionLogger;
  /** Where new subscriptions begin. Default `'start'`. */
  from?: SubscriptionStart;
  /**
   * Leases, so that in a group of processes each saga, the timers and the outbox are run by
   * one process at a time (the others stand by). `false` for a single process. Default on.
   */
  lease?: { ttlMs?: number; retryIntervalMs?: number } | false;
  /** Retries of a failing event before it is parked (the subscriptions' backoff). */
  retry?: BackoffOptions;
  outbox?: OutboxOptions;
  timers?: TimerOptions;
  /** This process's name in leases. Default: host, pid and a random suffix. */
  owner?: string;
  /**
   * Runs each saga partitioned by instance id over every process started with the same
   * sagas and partition count: the saga's subscription becomes a consumer group `saga:<name>`
   * of `count` partitions (`saga:<name>#<n>`, each with its own checkpoint, lease and parked
   * events), rebalanced as processes join and leave. Every event of an instance goes to one
   * partition, in log order. Choreography handlers, the outbox loop and the timer loop are not
   * partitioned: one process at a time runs each of them, under its lease (see docs/sagas.md).
   * Default: one subscription per saga, run by one process at a time.
   */
  partitions?: SagaPartitionOptions;
  /**
   * While the outbox has commands out, how long (in ms) the subscriptions of the runtime hold
   * back a commit they would wake on, so that the events of the next commits join the same
   * step transaction: fewer, larger step transactions under load (one commit, on SQLite one
   * fsync, for several waves of dispatch), at the price of up to this much latency per step
   * while commands are out. Nothing is held while none is out, and the outbox going idle
   * releases what is held at once. 0 turns it off; lower it for sagas whose steps must follow
   * each other quickly under sustained load. Default 10.
   */
  stepLingerMs?: number;
}

/** A partitioned saga's consumer group, as this process sees it. */
export interface SagaGroupStatus {
  /** The group's name: `saga:<name>`. */
  name: string;
  /** This process's member id. */
  member: string;
  /** The live members at the last heartbeat. */
  members: string[];
  partitionCount: number;
  /** The partitions assigned to this process. */
  assigned: number[];
  /** How often this process's assignment changed. */
  rebalances: number;
}

/** A snapshot of a runtime's state. */
export interface SagaRuntimeStatus {
  running: boolean;
  /** Subscription positions, by subscription name. */
  positions: Record<string, number>;
  /**
   * Each of its subscriptions (`saga:<name>`, `choreography:<name>`, and for a partitioned
   * saga each partition this process runs, `saga:<name>#<n>`): state and position.
   */
  subscriptions: { name: string; state: SubscriptionState; position: number }[];
  /** The consumer groups of partitioned sagas (empty when not partitioned). */
  groups: SagaGroupStatus[];
  stats: SagaEngineStats & {
    /** Commands dispatched and accepted. */
    commandsSent: number;
    /** Commands their handler rejected. */
    commandsRejected: number;
    /** Commands parked (rejected compensations, or undeliverable). */
    commandsParked: number;
    /** Dispatch tries that failed (to be tried again). */
    dispatchFailures: number;
    /** Timers fired. */
    timersFired: number;
    /** Parked commands put back in the outbox through {@link SagaRuntime.parkedCommands}. */
    commandsRequeued: number;
  };
}

/** How many of a runtime's outbox commands are in a state (see {@link SagaRuntime.outboxCounts}). */
export interface SagaOutboxCounts {
  /** Recorded, not yet dispatched (or waiting for another try): the backlog. */
  pending: number;
  /** Given up, waiting for an operator (retry or skip). */
  parked: number;
  /**
   * With partitioned sagas: the same counts by partition of the instance that sent them
   * (index = partition); commands of choreography handlers are in neither.
   */
  byPartition?: { pending: number; parked: number }[];
}

/** Parked events of a runtime's subscriptions (see {@link SagaRuntime.parkedEventCounts}). */
export interface SagaParkedEventCounts {
  /** All of them. */
  total: number;
  /**
   * By subscription name: `saga:<name>`, `choreography:<name>`, and `saga:<name>#<n>` for
   * every partition of a partitioned saga (whichever process runs it).
   */
  bySubscription: Record<string, number>;
}

/**
 * Runs sagas and choreography handlers: one {@link Subscription} per saga (`saga:<name>`) and
 * per handler (`choreography:<name>`), whose transactions write the instance, its history,
 * its timers and its outgoing commands together with the checkpoint; an outbox loop that
 * dispatches recorded commands (in order per instance, retried with backoff, idempotent by
 * command id) and marks them sent; and a timer loop that fires due timers once.
 *
 * @example
 * ```ts
 * const runtime = new SagaRuntime({ storage, sagaStore, sagas: [fulfilment], dispatcher });
 * await runtime.start();
 * const view = await runtime.getInstance('order-fulfilment', 'o-42');
 * await runtime.stop();
 * ```
 */
export class SagaRuntime<Tx extends StoreTransaction = StoreTransaction> implements SagaQuery {
  /** This process's name in leases. */
  readonly owner: string;
  private readonly engine: SagaEngine<Tx>;
  private readonly subscriptions: Subscription<Tx>[] = [];
  /** The consumer groups of partitioned sagas. */
  private readonly groups: ConsumerGroup<Tx>[] = [];
  private readonly outboxLoop: LeasedLoop<Tx>;
  private readonly timerLoop: LeasedLoop<Tx>;
  private readonly clock: Clock;
  private readonly maxAttempts: number;
  private readonly backoff;
  private readonly concurrency: number;
  private readonly outboxBatch: number;
  private readonly timerBatch: number;
  /** The sagas run here: the timer loop fires only theirs. */
  private readonly sagaNames: readonly string[];
  /** The sagas and handlers run here: the outbox loop dispatches only their commands. */
  private readonly sourceNames: readonly string[];
  private started = false;
  private dispatching: Promise<number> | undefined;
  private firing: Promise<number> | undefined;
  private readonly counters = {
    commandsSent: 0,
    commandsRejected: 0,
    commandsParked: 0,
    dispatchFailures: 0,
    timersFired: 0,
    commandsRequeued: 0,
  };
  private admin: ParkedSagaCommands<Tx> | undefined;
  /** Holds back the subscriptions' wake-ups while commands are out (see `stepLingerMs`). */
  private readonly linger: StepLinger;

  constructor(private readonly options: SagaRuntimeOptions<Tx>) {
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError(
        'options',
        'must be an object { storage, sagaStore, sagas, dispatcher }',
      );
    if (!options.storage || typeof options.storage.store?.transaction !== 'function')
      throw new InvalidArgumentError(
        'storage',
        'must be subscription storage of a transactional store',
      );
    if (!options.sagaStore || typeof options.sagaStore.enqueue !== 'function')
      throw new InvalidArgumentError('sagaStore', 'must be a saga store');
    if (!options.dispatcher || typeof options.dispatcher.dispatch !== 'function')
      throw new InvalidArgumentError('dispatcher', 'must be a command dispatcher');
    const sagas = options.sagas ?? [];
    const choreography = options.choreography ?? [];
    const names = new Set<string>();
    for (const d of [...sagas, ...choreography]) {
      if (names.has(d.name))
        throw new InvalidSagaDefinitionError(d.name, 'two sagas or handlers have this name');
      names.add(d.name);
    }
    this.sagaNames = sagas.map((d) => d.name).sort();
    this.sourceNames = [...names].sort();
    this.clock = options.clock ?? systemClock;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${newId().slice(-12)}`;
    const outbox = options.outbox ?? {};
    this.maxAttempts = positiveInt(outbox.maxAttempts ?? 5, 'outbox.maxAttempts');
    this.concurrency = positiveInt(outbox.concurrency ?? 16, 'outbox.concurrency');
    this.outboxBatch = positiveInt(outbox.batchSize ?? 200, 'outbox.batchSize');
    this.timerBatch = positiveInt(options.timers?.batchSize ?? 100, 'timers.batchSize');
    this.backoff = resolveBackoff({ baseDelayMs: 100, maxDelayMs: 30_000, ...outbox.backoff });
    this.engine = new SagaEngine(options.sagaStore, sagas, this.clock, options.logger);
    this.engine.onRecorded = () => {
      this.outboxLoop.wake();
      this.timerLoop.wake();
    };
    const leaseOptions = options.lease === false ? false : (options.lease ?? {});
    const ttlMs = leaseOptions === false ? 0 : (leaseOptions.ttlMs ?? 30_000);
    // Runtimes running other sagas keep their own loops: the lease names say which set.
    const setKey = fnv1a32(this.sourceNames.join('\u0000')).toString(16);
    const loopLease = (name: string) =>
      leaseOptions === false
        ? (false as const)
        : { store: options.storage.leases, name, owner: this.owner, ttlMs };
    this.outboxLoop = new LeasedLoop(
      'saga outbox',
      loopLease(`causeway:saga-outbox:${setKey}`),
      this.clock,
      positiveInt(outbox.pollIntervalMs ?? 1000, 'outbox.pollIntervalMs'),
      () => this.dispatchPending(),
      options.logger,
    );
    this.timerLoop = new LeasedLoop(
      'saga timers',
      loopLease(`causeway:saga-timers:${setKey}`),
      this.clock,
      positiveInt(options.timers?.pollIntervalMs ?? 1000, 'timers.pollIntervalMs'),
      () => this.fireDueTimers(),
      options.logger,
    );
    const lingerMs = options.stepLingerMs ?? 10;
    if (!Number.isSafeInteger(lingerMs) || lingerMs < 0 || lingerMs > 60_000)
      throw new InvalidArgumentError('stepLingerMs', 'must be an integer from 0 to 60000');
    this.linger = new StepLinger(lingerMs);
    const common = {
      storage: options.storage,
      ...(options.source === undefined ? {} : { source: options.source }),
      // Only the commit notifications pass the linger; reads go to the source as they would.
      wakeGate: this.linger,
      from: options.from ?? 'start',
      clock: this.clock,
      owner: this.owner,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      lease:
        leaseOptions === false
          ? (false as const)
          : {
              ttlMs,
              wait: true,
              ...(leaseOptions.retryIntervalMs
                ? { retryIntervalMs: leaseOptions.retryIntervalMs }
                : {}),
            },
    };
    const partitions = options.partitions;
    if (partitions !== undefined) assertSagaPartitionOptions(partitions);
    for (const saga of sagas) {
      if (partitions) {
        const engine = this.engine;
        this.groups.push(
          new ConsumerGroup<Tx>({
            name: `saga:${saga.name}`,
            partitions: partitions.count,
            partitionKey: sagaPartitionKey((event) => engine.correlationOf(saga, event)),
            membership: partitions.membership,
            ...(partitions.memberId === undefined ? {} : { memberId: partitions.memberId }),
            ...(partitions.leaseTtlMs === undefined ? {} : { leaseTtlMs: partitions.leaseTtlMs }),
            ...(partitions.heartbeatIntervalMs === undefined
              ? {}
              : { heartbeatIntervalMs: partitions.heartbeatIntervalMs }),
            storage: options.storage,
            ...(options.source === undefined ? {} : { source: options.source }),
            wakeGate: this.linger,
            from: options.from ?? 'start',
            clock: this.clock,
            ...(options.retry ? { retry: options.retry } : {}),
            ...(options.logger ? { logger: options.logger } : {}),
            filter: { types: sagaEventTypes(saga) },
            handler: (event, { tx }) => engine.handleEvent(saga, event, tx),
          }),
        );
        continue;
      }
      this.subscriptions.push(
        new Subscription<Tx>({
          ...common,
          name: `saga:${saga.name}`,
          filter: { types: sagaEventTypes(saga) },
          handler: (event, { tx }) => this.engine.handleEvent(saga, event, tx),
          // A whole batch in one transaction (one commit for many events), its instances read
          // with one call and written once each; any event that does not simply succeed
          // sends the batch to the event handler.
          batchHandler: (events, { tx }) => this.engine.handleEvents(saga, events, tx),
        }),
      );
    }
    for (const handler of choreography) {
      this.subscriptions.push(
        new Subscription<Tx>({
          ...common,
          name: `choreography:${handler.name}`,
          filter: { types: [...handler.handles] },
          handler: async (event, { tx }) => {
            if ((await runChoreography(handler, options.sagaStore, event, tx, this.clock)) > 0)
              tx.onDurable(() => this.outboxLoop.wake());
          },
        }),
      );
    }
  }

  /** The runtime's subscriptions (to watch, wait on, or manage their parked events). */
  get subscriptionList(): readonly Subscription<Tx>[] {
    return this.subscriptions;
  }

  /**
   * Starts the subscriptions and the outbox and timer loops. Resolves once each subscription
   * runs or waits for its lease (another process runs it).
   *
   * @throws {SagaRuntimeStateError} when already started.
   */
  async start(): Promise<void> {
    if (this.started) throw new SagaRuntimeStateError('already started');
    this.started = true;
    try {
      await Promise.all([
        ...this.subscriptions.map((s) => startedOrWaiting(s)),
        ...this.groups.map((g) => g.start()),
      ]);
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.outboxLoop.start();
    this.timerLoop.start();
  }

  /** Stops the subscriptions and loops (work in hand is finished) and gives up the leases. */
  async stop(): Promise<void> {
    await Promise.all([
      ...this.subscriptions.map((s) => s.stop()),
      ...this.groups.map((g) => g.stop()),
      this.outboxLoop.stop(),
      this.timerLoop.stop(),
    ]);
    await this.dispatching;
    await this.firing;
    this.started = false;
  }

  /** Where the runtime is and what it has done (counts since this process started it). */
  get status(): SagaRuntimeStatus {
    const positions: Record<string, number> = {};
    const subscriptions: SagaRuntimeStatus['subscriptions'] = [];
    for (const s of this.subscriptions) {
      const { name, state, position } = s.status;
      positions[name] = position;
      subscriptions.push({ name, state, position });
    }
    const groups: SagaGroupStatus[] = [];
    for (const g of this.groups) {
      const status = g.status;
      for (const p of status.partitions) {
        const name = g.partitionName(p.partition);
        positions[name] = p.position;
        subscriptions.push({ name, state: p.state, position: p.position });
      }
      groups.push({
        name: g.name,
        member: status.member,
        members: status.members,
        partitionCount: status.partitionCount,
        assigned: status.assigned,
        rebalances: status.rebalances,
      });
    }
    return {
      running: this.started,
      positions,
      subscriptions,
      groups,
      stats: { ...this.engine.stats, ...this.counters },
    };
  }

  /**
   * List, retry and skip the parked commands (see {@link ParkedSagaCommands} for what happens
   * to their instances). A retry here wakes this runtime's outbox loop at once.
   */
  get parkedCommands(): SagaCommandAdmin {
    this.admin ??= new ParkedSagaCommands<Tx>({
      store: this.options.storage.store,
      sagaStore: this.options.sagaStore,
      clock: this.clock,
      onRequeued: () => {
        this.counters.commandsRequeued += 1;
        this.outboxLoop.wake();
      },
    });
    return this.admin;
  }

  /**
   * Counts the outbox commands of the sagas and handlers run here that are pending (the
   * backlog) and parked, reading at most `scanLimit` (default 10,000) of each: a bound that
   * keeps a metrics scrape cheap.
   */
  async outboxCounts(scanLimit = 10_000): Promise<SagaOutboxCounts> {
    const sources = new Set(this.sourceNames);
    const count = this.options.partitions?.count;
    const sagaNames = new Set(this.sagaNames);
    const byPartition =
      count === undefined
        ? undefined
        : Array.from({ length: count }, () => ({ pending: 0, parked: 0 }));
    const counted = async (status: 'pending' | 'parked') => {
      let n = 0;
      let seen = 0;
      let after: number | undefined;
      while (seen < scanLimit) {
        const limit = Math.min(MAX_SAGA_LIST_LIMIT, scanLimit - seen);
        const page = await this.options.sagaStore.listCommands({
          status,
          limit,
          ...(after === undefined ? {} : { after }),
        });
        for (const entry of page) {
          if (!sources.has(entry.source)) continue;
          n += 1;
          if (byPartition && count !== undefined && entry.instanceId !== null)
            if (sagaNames.has(entry.source))
              (byPartition[sagaPartitionOf(entry.instanceId, count)] as SagaOutboxPartition)[
                status
              ] += 1;
        }
        seen += page.length;
        if (page.length < limit) break;
        after = page[page.length - 1]?.seq;
      }
      return n;
    };
    const [pending, parked] = await Promise.all([counted('pending'), counted('parked')]);
    return byPartition ? { pending, parked, byPartition } : { pending, parked };
  }

  /**
   * Counts the parked events of the runtime's subscriptions, by subscription and in total;
   * for a partitioned saga, of all its partitions, whichever process runs them.
   */
  async parkedEventCounts(): Promise<SagaParkedEventCounts> {
    const bySubscription: Record<string, number> = {};
    for (const s of this.subscriptions) bySubscription[s.name] = await s.parkedCount();
    const { parked } = this.options.storage;
    for (const g of this.groups)
      for (let p = 0; p < g.partitions; p++) {
        const name = g.partitionName(p);
        bySubscription[name] = await parked.count(name);
      }
    const total = Object.values(bySubscription).reduce((sum, n) => sum + n, 0);
    return { total, bySubscription };
  }

  /** The consumer groups of partitioned sagas (to watch them, or manage their parked events). */
  get groupList(): readonly ConsumerGroup<Tx>[] {
    return this.groups;
  }

  listInstances(options?: Parameters<SagaQuery['listInstances']>[0]): Promise<SagaInstanceView[]> {
    return this.options.sagaStore.listInstances(options);
  }

  /** The saga store's count of instances, or a count page by page when it has none. */
  async countInstances(options: { saga?: string; status?: SagaStatus } = {}): Promise<number> {
    const store = this.options.sagaStore;
    if (store.countInstances) return store.countInstances(options);
    let count = 0;
    for (let after: string | undefined; ;) {
      const page = await store.listInstances({
        ...options,
        limit: 1000,
        ...(after ? { after } : {}),
      });
      count += page.length;
      after = page[page.length - 1]?.id;
      if (page.length < 1000 || after === undefined) return count;
    }
  }

  getInstance(saga: string, id: string): Promise<SagaInstanceView | undefined> {
    return this.options.sagaStore.getInstance(saga, id);
  }

  /**
   * Dispatches the pending commands once (the outbox loop calls it; tests and tools may too):
   * in recording order per instance, instances side by side. Returns how many dispatch tries
   * it made. Runs one pass at a time: a call during a pass waits for it and runs another.
   */
  dispatchPending(): Promise<number> {
    const previous = this.dispatching ?? Promise.resolve(0);
    const next = previous.catch(() => 0).then(() => this.dispatchPass());
    this.dispatching = next;
    void next
      .finally(() => {
        if (this.dispatching === next) this.dispatching = undefined;
      })
      .catch(() => undefined);
    return next;
  }

  /**
   * Fires the timers due on the runtime's clock (the timer loop calls it; tests call it after
   * moving a `ManualClock`). Returns how many fired. With leases, only the process holding
   * the timer lease fires; elsewhere it returns 0.
   */
  fireDueTimers(): Promise<number> {
    const previous = this.firing ?? Promise.resolve(0);
    const next = previous.catch(() => 0).then(() => this.firePass());
    this.firing = next;
    void next
      .finally(() => {
        if (this.firing === next) this.firing = undefined;
      })
      .catch(() => undefined);
    return next;
  }

  /**
   * Waits until the subscriptions have handled every stored event, no command is left to
   * dispatch and no timer is due, dispatching and firing meanwhile.
   *
   * @throws {SagaIdleTimeoutError} when that takes longer than `timeoutMs` (default 30,000).
   * @throws {SagaRuntimeStateError} when the runtime is not started.
   */
  async runUntilIdle(options: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.started) throw new SagaRuntimeStateError('not started');
    const timeoutMs = options.timeoutMs ?? 30_000;
    const deadline = performance.now() + timeoutMs;
    const store = this.options.storage.store;
    for (;;) {
      const head = await store.headPosition();
      const left = Math.max(1, deadline - performance.now());
      try {
        await Promise.all([
          ...this.subscriptions.map((s) => s.waitForPosition(head, { timeoutMs: left })),
          ...this.groups.map((g) => waitForGroup(g, head, deadline)),
        ]);
      } catch (error) {
        if (performance.now() >= deadline) throw new SagaIdleTimeoutError(timeoutMs);
        throw error;
      }
      const sent = await this.dispatchPending();
      const fired = await this.fireDueTimers();
      // The background loops may have done the work this pass found none of: look again.
      if (
        sent === 0 &&
        fired === 0 &&
        (await store.headPosition()) === head &&
        !(await this.hasDueWork())
      )
        return;
      if (performance.now() >= deadline) throw new SagaIdleTimeoutError(timeoutMs);
    }
  }

  /** Whether a command is due for dispatch, or a timer due to fire, by this process. */
  private async hasDueWork(): Promise<boolean> {
    const now = this.clock.now();
    const { sagaStore } = this.options;
    if (this.outboxLoop.holds) {
      const pending = await sagaStore.pendingCommands(this.outboxBatch, this.sourceNames);
      // An instance's commands wait for its first one: only that one can be due.
      const seen = new Set<string>();
      for (const entry of pending) {
        const key = groupKey(entry);
        if (seen.has(key)) continue;
        seen.add(key);
        if (entry.nextAttemptAt <= now) return true;
      }
    }
    if (this.timerLoop.holds) return (await sagaStore.dueTimers(now, 1, this.sagaNames)).length > 0;
    return false;
  }

  private async firePass(): Promise<number> {
    if (!(await this.timerLoop.ensureLease())) return 0;
    const { sagaStore, storage } = this.options;
    const due = await sagaStore.dueTimers(this.clock.now(), this.timerBatch, this.sagaNames);
    let fired = 0;
    for (const timer of due) {
      try {
        const done = await storage.store.transaction(async (tx) => {
          await this.timerLoop.fence(tx);
          return this.engine.fireTimer(timer, tx);
        });
        if (done) fired += 1;
      } catch (error) {
        this.options.logger?.error(
          { saga: timer.saga, instance: timer.instanceId, timer: timer.id, err: error },
          'firing a timer failed; it stays set and is tried again',
        );
      }
    }
    this.counters.timersFired += fired;
    return fired;
  }

  private async dispatchPass(): Promise<number> {
    if (!(await this.outboxLoop.ensureLease())) return 0;
    const pending = await this.options.sagaStore.pendingCommands(
      this.outboxBatch,
      this.sourceNames,
    );
    const groups = new Map<string, OutboxEntry[]>();
    for (const entry of pending) {
      const key = groupKey(entry);
      let group = groups.get(key);
      if (!group) groups.set(key, (group = []));
      group.push(entry);
    }
    const queue = [...groups.values()];
    let tries = 0;
    const settled: Settlement[] = [];
    const worker = async () => {
      for (let group = queue.shift(); group; group = queue.shift()) {
        for (const entry of group) {
          if (entry.nextAttemptAt > this.clock.now()) break;
          tries += 1;
          const settlement = await this.dispatchOne(entry);
          if (!settlement) break;
          settled.push(settlement);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, queue.length) }, worker));
    if (settled.length > 0) {
      try {
        await this.settle(settled);
      } catch (error) {
        // A failed record (a PostgreSQL deadlock with a saga's own transaction, the store
        // briefly away) leaves the commands pending: they go again, with the same ids, which
        // their handlers apply once.
        this.counters.dispatchFailures += 1;
        this.options.logger?.warn(
          { commands: settled.length, err: error },
          'recording dispatched commands failed; they stay pending and are sent again',
        );
      }
    }
    return tries;
  }

  /**
   * One try of one command: its outcome to record, or undefined when it failed and the
   * instance's later commands must wait (its retry is recorded already).
   *
   * @throws {LeaseLostError} when the try failed and this loop no longer holds its lease (the
   * retry is not recorded).
   */
  private async dispatchOne(entry: OutboxEntry): Promise<Settlement | undefined> {
    const attempts = entry.attempts + 1;
    const now = () => this.clock.now();
    let outcome: CommandOutcome;
    this.linger.started();
    try {
      const reply = await this.options.dispatcher.dispatch(entry.command);
      this.linger.finished();
      outcome =
        reply.status === 'accepted' ? { kind: 'accepted', reply } : { kind: 'rejected', reply };
    } catch (error) {
      this.linger.finished();
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.counters.dispatchFailures += 1;
      if (attempts < this.maxAttempts) {
        this.options.logger?.warn(
          { command: entry.command.id, type: entry.command.type, attempts, err: error },
          'dispatching a command failed; trying again later',
        );
        // Fenced like every other outbox write: if this loop lost its lease while the
        // dispatch was out, its successor may have sent and settled the command meanwhile, and
        // putting it back to pending would send it again. A lost lease throws LeaseLostError
        // and writes nothing.
        await this.options.storage.store.transaction(async (tx) => {
          await this.outboxLoop.fence(tx);
          await this.options.sagaStore.settleCommand(
            entry.command.id,
            {
              status: 'pending',
              attempts,
              lastError: message,
              nextAttemptAt: now() + backoffDelay(attempts, this.backoff),
              settledAt: null,
              reply: null,
            },
            tx,
          );
        });
        return undefined;
      }
      outcome = { kind: 'parked', error: message };
    }
    const update: OutboxUpdate = {
      status:
        outcome.kind === 'accepted'
          ? 'sent'
          : outcome.kind === 'parked' || entry.compensation
            ? 'parked'
            : 'rejected',
      attempts,
      lastError:
        outcome.kind === 'parked'
          ? outcome.error
          : outcome.kind === 'rejected'
            ? `${outcome.reply.code}: ${outcome.reply.message}`
            : null,
      nextAttemptAt: now(),
      settledAt: now(),
      reply: outcome.kind === 'parked' ? null : outcome.reply,
    };
    return { entry, outcome, update };
  }

  /**
   * Records the outcomes of a pass in one transaction (one commit for many commands). If it
   * fails, the commands are still pending and are dispatched again, with the same ids.
   */
  private async settle(settled: Settlement[]): Promise<void> {
    // By instance (stable: an instance's commands keep their order), so that two such
    // transactions lock instances in the same order (PostgreSQL).
    const ordered = [...settled].sort((a, b) => compareKeys(groupKey(a.entry), groupKey(b.entry)));
    await this.options.storage.store.transaction(async (tx) => {
      await this.outboxLoop.fence(tx);
      // The instances first: every transaction touching an instance locks it before
      // anything else of it (PostgreSQL), so two of them never wait on each other in a cycle.
      // Accepted forward commands touch no instance: for them this is only the outbox write.
      for (const { entry, outcome } of ordered)
        await this.engine.commandSettled(entry, outcome, tx);
      const { sagaStore } = this.options;
      const settlements = ordered.map(({ entry, update }) => ({
        commandId: entry.command.id,
        update,
      }));
      if (sagaStore.settleCommands) await sagaStore.settleCommands(settlements, tx);
      else
        for (const { commandId, update } of settlements)
          await sagaStore.settleCommand(commandId, update, tx);
    });
    for (const { entry, update } of ordered) {
      if (update.status === 'sent') this.counters.commandsSent += 1;
      else if (update.status === 'rejected') this.counters.commandsRejected += 1;
      else {
        this.counters.commandsParked += 1;
        this.options.logger?.error(
          { command: entry.command.id, type: entry.command.type, error: update.lastError },
          'command parked',
        );
      }
    }
  }
}

/** Outbox counts of one partition. */
type SagaOutboxPartition = { pending: number; parked: number };

/** A dispatched command's outcome, to record. */
interface Settlement {
  entry: OutboxEntry;
  outcome: CommandOutcome;
  update: OutboxUpdate;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Commands of one instance go in order; others are independent. */
function groupKey(entry: OutboxEntry): string {
  return entry.instanceId === null
    ? `\u0001${entry.command.id}`
    : `${entry.source}\u0000${entry.instanceId}`;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new InvalidArgumentError(name, 'must be an integer >= 1');
  return value;
}

/**
 * Resolves once every partition assigned to this member of `group` has handled the log up to
 * `head` (at once when none is assigned); rejects with a timeout at `deadline`.
 */
function waitForGroup<Tx extends StoreTransaction>(
  group: ConsumerGroup<Tx>,
  head: number,
  deadline: number,
): Promise<void> {
  const caughtUp = () => {
    const status = group.status;
    return status.assigned.every((p) => {
      const partition = status.partitions.find((x) => x.partition === p);
      return partition !== undefined && partition.running && partition.position >= head;
    });
  };
  return new Promise((resolve, reject) => {
    if (caughtUp()) return resolve();
    // Partitions report progress through the group's status; the interval also catches an
    // assignment that changed without a report in between.
    const finish = (error?: Error) => {
      unlisten();
      clearInterval(timer);
      if (error) reject(error);
      else resolve();
    };
    const check = () => {
      if (caughtUp()) finish();
      else if (performance.now() >= deadline)
        finish(new Error(`saga group ${group.name} did not reach position ${head} in time`));
    };
    const unlisten = group.onStatus(check);
    const timer = setInterval(check, 50);
  });
}

/** Resolves once `subscription` runs, or waits for a lease another process holds. */
function startedOrWaiting<Tx extends StoreTransaction>(
  subscription: Subscription<Tx>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const unsubscribe = subscription.onStatus((status) => {
      if (status.state === 'waiting-for-lease' || status.running) {
        unsubscribe();
        resolve();
      }
    });
    subscription.start().then(
      () => {
        unsubscribe();
        resolve();
      },
      (error: unknown) => {
        unsubscribe();
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
