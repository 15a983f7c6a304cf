import { type Clock, systemClock } from '../core/clock.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { EventStore, StoreTransaction } from '../store/event-store.js';
import type {
  ListParkedOptions,
  ParkedEvent,
  ParkedSelection,
} from '../subscriptions/parked-event-store.js';
import type { SubscriptionLogger } from '../subscriptions/subscription-options.js';
import type { Subscription } from '../subscriptions/subscription.js';
import { assertMilliseconds, assertPosition } from '../subscriptions/validation.js';
import { InlineProjections } from './inline-projections.js';
import { checkDefinition, type ProjectionBuild, type ProjectionDefinition } from './projection.js';
import { DuplicateProjectionError, UnknownProjectionError } from './projection-errors.js';
import { ProjectionRuntime, type ProjectionSubscriptionOptions } from './projection-runtime.js';
import type { ProjectionStatus, QueryResult } from './projection-status.js';
import type { ProjectionStore } from './projection-store.js';
import {
  assertProjectionPartitionOptions,
  type ProjectionPartitionOptions,
} from './projection-partitions.js';

/** Options of {@link Projector}. */
export interface ProjectorOptions<Tx extends StoreTransaction, RM> {
  /** Where read models, builds and progress are kept: the store's own database. */
  store: ProjectionStore<Tx, RM>;
  /**
   * The projections. One name may appear with several versions: the newest is built (and
   * switched to once caught up) while an older one that serves keeps being maintained by
   * its definition here. The same name and version twice is refused.
   */
  projections: readonly ProjectionDefinition<RM>[];
  /**
   * Settings of the subscriptions that run async projections and builds (batch size, retries
   * and parking, handler timeout, lease...). By default the lease waits: a second process
   * running the same projector stands by and takes over when the first stops or dies.
   */
  subscription?: ProjectionSubscriptionOptions<Tx>;
  /**
   * Longest an inline projection may take on one event, in ms (default 5,000); beyond it the
   * append fails and is rolled back.
   */
  inlineTimeoutMs?: number;
  /**
   * How long a replaced build's read model is kept after the switch, in ms (default 0:
   * dropped right after). A process that stops meanwhile drops it at its next start.
   */
  retiredGraceMs?: number;
  /**
   * How often a wait looks at the database for progress made by another process, in ms
   * (default 250). Progress made in this process wakes waiters at once.
   */
  pollIntervalMs?: number;
  /** Source of "now" for lag and build times. Default: the system clock. */
  clock?: Clock;
  /** Where switches, failed switches and drops are reported (pino's shape). */
  logger?: SubscriptionLogger;
  /**
   * Runs each async projection partitioned over every projector started with the same
   * projections and the same `count`: a build's subscription becomes a consumer group of the
   * same name, whose partitions (`<name>#<n>`, each with its own checkpoint, lease and parked
   * events) are shared out among the running members and rebalanced as they come and go.
   * Events with one key (by default their stream) go to one partition, applied in log order.
   * Status reports each partition and the lowest position; waits are for every partition. A
   * rebuild or a new version switches in once one member has caught up all of its partitions:
   * run it with one member (see docs/projections.md). Inline projections are not partitioned.
   */
  partitions?: ProjectionPartitionOptions;
}

/** Options of {@link Projector.query}. */
export interface QueryOptions {
  /**
   * Wait until the projection has reached this position first: pass the position an append
   * or a command returned to read your own writes.
   */
  minPosition?: number;
  /** How long to wait for `minPosition`, in ms (default 30,000). */
  timeoutMs?: number;
}

/**
 * Runs projections over one store: sets up their read models, keeps async ones up to date
 * with checkpointed subscriptions, applies inline ones in the transaction of each append made
 * through {@link Projector.store}, rebuilds a projection beside the serving read model when
 * its version changes (or by hand) and switches when the new one has caught up, reports status
 * and lag, and answers queries with the position they reflect.
 *
 * @example
 * ```ts
 * const store = SqliteEventStore.open('./data/events.db');
 * const projector = new Projector({ store: await sqliteProjectionStore(store), projections: [orderTotals] });
 * await projector.start();
 * const { position } = await projector.store.append('order-42', [placed]);
 * const { data } = await projector.query('order-totals', (rm) =>
 *   rm.database.prepare(`SELECT total FROM ${rm.table()} WHERE id = ?`).get('order-42'),
 *   { minPosition: position },
 * );
 * await projector.stop();
 * await store.close();
 * ```
 */
export class Projector<Tx extends StoreTransaction = StoreTransaction, RM = unknown> {
  /**
   * The store to append through: the same store, whose appends (and `tx.append` in its
   * transactions) also apply the inline projections, in the same transaction.
   */
  readonly store: InlineProjections<Tx, RM>;
  private readonly runtimes = new Map<string, ProjectionRuntime<Tx, RM>>();

  constructor(options: ProjectorOptions<Tx, RM>) {
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError('options', 'must be an object { store, projections }');
    const { store } = options;
    if (
      typeof store !== 'object' ||
      store === null ||
      typeof store.lockLog !== 'function' ||
      typeof store.storage?.store?.transaction !== 'function'
    )
      throw new InvalidArgumentError(
        'store',
        'must be a projection store, as made by memoryProjectionStore / sqliteProjectionStore / postgresProjectionStore',
      );
    if (!Array.isArray(options.projections) || options.projections.length === 0)
      throw new InvalidArgumentError('projections', 'must be a non-empty array of projections');
    const byName = new Map<string, Map<number, ProjectionDefinition<RM>>>();
    for (const definition of options.projections) {
      checkDefinition(definition);
      let versions = byName.get(definition.name);
      if (!versions)
        byName.set(definition.name, (versions = new Map<number, ProjectionDefinition<RM>>()));
      if (versions.has(definition.version))
        throw new DuplicateProjectionError(definition.name, definition.version);
      versions.set(definition.version, definition);
    }
    const inlineTimeoutMs = options.inlineTimeoutMs ?? 5000;
    assertMilliseconds(inlineTimeoutMs, 'inlineTimeoutMs');
    const pollIntervalMs = options.pollIntervalMs ?? 250;
    assertMilliseconds(pollIntervalMs, 'pollIntervalMs');
    const retiredGraceMs = options.retiredGraceMs ?? 0;
    if (!Number.isSafeInteger(retiredGraceMs) || retiredGraceMs < 0)
      throw new InvalidArgumentError(
        'retiredGraceMs',
        'must be a whole number of milliseconds >= 0',
      );
    const subscription: ProjectionSubscriptionOptions<Tx> = {
      lease: { wait: true },
      ...(options.logger ? { logger: options.logger } : {}),
      ...options.subscription,
    };
    const source: EventStore = subscription.source ?? store.storage.store;
    if (options.partitions !== undefined) assertProjectionPartitionOptions(options.partitions);
    for (const [name, versions] of byName) {
      this.runtimes.set(
        name,
        new ProjectionRuntime(name, versions, {
          store,
          subscription,
          source,
          clock: options.clock ?? systemClock,
          retiredGraceMs,
          inlineTimeoutMs,
          pollIntervalMs,
          logger: options.logger,
          partitions: options.partitions,
        }),
      );
    }
    this.store = new InlineProjections(
      store.storage.store,
      store,
      [...this.runtimes.values()],
      inlineTimeoutMs,
    );
  }

  /** The names of the projections, in the order given. */
  get names(): string[] {
    return [...this.runtimes.keys()];
  }

  /**
   * Starts every projection: sets up missing read models (each in a transaction: a setup that
   * fails leaves nothing), starts rebuilds of new versions, and starts the subscriptions of
   * async projections. Resolves once each runs (or stands by for another process's lease).
   * A projection that cannot start is stopped with the error in its status, the others run;
   * the first such error is then thrown.
   *
   * @throws {ProjectionSetupError} a setup failed.
   * @throws {ProjectionOutdatedError} the database holds a newer version than defined here.
   * @throws {CheckpointAheadError} a checkpoint is beyond the end of the log.
   */
  async start(): Promise<void> {
    const results = await Promise.allSettled([...this.runtimes.values()].map((r) => r.start()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Stops the subscriptions of every projection. Inline projections stay applied by appends. */
  async stop(): Promise<void> {
    await Promise.all([...this.runtimes.values()].map((r) => r.stop()));
  }

  /** The status of one projection. */
  async status(name: string): Promise<ProjectionStatus> {
    return this.runtime(name).status();
  }

  /** The status of every projection, in the order given. */
  statuses(): Promise<ProjectionStatus[]> {
    return Promise.all([...this.runtimes.values()].map((r) => r.status()));
  }

  /**
   * Runs `query` on the read model serving projection `name`, and returns its result with the
   * position the read model had reached (at least) and the version that answered. With
   * `minPosition`, waits for the projection to reach it first (read-your-writes).
   *
   * @throws {ProjectionWaitTimeoutError} when `minPosition` is not reached within `timeoutMs`.
   * @throws {ProjectionNotReadyError} when nothing serves yet (a first inline build is running).
   */
  async query<T>(
    name: string,
    query: (readModel: RM) => T | Promise<T>,
    options: QueryOptions = {},
  ): Promise<QueryResult<T>> {
    const runtime = this.runtime(name);
    if (typeof query !== 'function')
      throw new InvalidArgumentError('query', 'must be a function (readModel) => data');
    checkWait(options);
    return runtime.query(query, options);
  }

  /**
   * Resolves once projection `name` has reached `position` (the position an append or command
   * returned), driven by its progress notifications.
   *
   * @throws {ProjectionWaitTimeoutError} after `timeoutMs` (default 30,000).
   */
  async waitFor(
    name: string,
    position: number,
    options: { timeoutMs?: number } = {},
  ): Promise<void> {
    const runtime = this.runtime(name);
    assertPosition(position);
    checkWait(options);
    return runtime.waitFor(position, options.timeoutMs);
  }

  /**
   * Rebuilds projection `name` by hand: a new build of its newest version is filled from
   * position 1 beside the serving read model, which keeps answering, and takes over once it has
   * caught up. Returns the new build (or the one already in progress).
   */
  async rebuild(name: string): Promise<ProjectionBuild> {
    return this.runtime(name).rebuild();
  }

  /**
   * Resolves once projection `name` has no build in progress in this process (immediately if
   * none is): a new version or a rebuild has switched in.
   *
   * @throws {ProjectionWaitTimeoutError} after `timeoutMs` (default 30,000).
   */
  async switched(name: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const runtime = this.runtime(name);
    checkWait(options);
    return runtime.switched(options.timeoutMs);
  }

  /** Parked events of the builds of `name` this process runs, serving build first. */
  async listParked(name: string, options?: ListParkedOptions): Promise<ParkedEvent[]> {
    return this.runtime(name).listParked(options);
  }

  /**
   * Hands parked events of projection `name` back to its builds running here (attempts reset);
   * a rebuild waiting on them switches once they are handled. Returns how many were marked.
   */
  async retryParked(name: string, which: ParkedSelection): Promise<number> {
    return this.runtime(name).retryParked(which);
  }

  /** Removes parked events of projection `name` without applying them. Returns how many. */
  async skipParked(name: string, which: ParkedSelection): Promise<number> {
    const runtime = this.runtime(name);
    const removed = await runtime.skipParked(which);
    runtime.nudge();
    return removed;
  }

  /**
   * The subscriptions this process runs for projection `name` (for inspection); partitioned,
   * one per partition it runs now.
   */
  subscriptions(name: string): Subscription<Tx>[] {
    return this.runtime(name).subscriptions();
  }

  private runtime(name: string): ProjectionRuntime<Tx, RM> {
    const runtime = this.runtimes.get(name);
    if (!runtime) throw new UnknownProjectionError(name);
    return runtime;
  }
}

function checkWait(options: { minPosition?: number; timeoutMs?: number }): void {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('options', 'must be an object');
  if (options.minPosition !== undefined) assertPosition(options.minPosition, 'minPosition');
  if (options.timeoutMs !== undefined) assertMilliseconds(options.timeoutMs, 'timeoutMs');
}
