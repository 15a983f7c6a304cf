import type { Clock } from '../core/clock.js';
import type { RecordedEvent } from '../core/envelope.js';
import type { EventStore, ReadAllFilter, StoreTransaction } from '../store/event-store.js';
import {
  nack,
  type BatchHandler,
  type BatchHandlerContext,
  type EventHandler,
  type HandlerContext,
  type HandlerResult,
} from '../subscriptions/event-handler.js';
import { NonErrorThrownError } from '../subscriptions/subscription-errors.js';
import type {
  SubscriptionLogger,
  SubscriptionOptions,
} from '../subscriptions/subscription-options.js';
import { Subscription, markTaken, peekTransaction } from '../subscriptions/subscription.js';
import { fnv1a32 } from '../store/partition.js';
import { ConsumerGroup } from '../subscriptions/consumer-group.js';
import type {
  ListParkedOptions,
  ParkedEvent,
  ParkedSelection,
} from '../subscriptions/parked-event-store.js';
import { GroupRunner, SubscriptionRunner, type BuildRunner } from './build-runner.js';
import {
  ProjectionPartitionedRebuildError,
  type ProjectionPartitionOptions,
} from './projection-partitions.js';
import { applyInline, forgetInline } from './apply-inline.js';
import { SUBJECT_FORGOTTEN_EVENT } from '../security/subject-eraser.js';
import {
  buildKey,
  buildSubscriptionName,
  forgottenSubjectFor,
  readsEvent,
  type ApplyBatchContext,
  type ApplyContext,
  type ProjectionBuild,
  type ProjectionDefinition,
  type ProjectionMode,
} from './projection.js';
import {
  ProjectionModeConflictError,
  ProjectionNotReadyError,
  ProjectionOutdatedError,
  ProjectionSetupError,
  ProjectionStoppedError,
  ProjectionWaitTimeoutError,
} from './projection-errors.js';
import type {
  ProjectionLag,
  ProjectionPartitionStatus,
  ProjectionStatus,
  QueryResult,
  RebuildStatus,
} from './projection-status.js';
import type { ProjectionRecord, ProjectionStore } from './projection-store.js';
import { inSpan, tracingActive } from '../observability/tracing.js';
import { applySpanOptions } from '../observability/apply-span.js';

/** Subscription settings a projector passes on to the subscriptions of its projections. */
export type ProjectionSubscriptionOptions<Tx extends StoreTransaction> = Omit<
  SubscriptionOptions<Tx>,
  'name' | 'storage' | 'handler' | 'batchHandler' | 'filter' | 'where' | 'from'
>;

/** What every runtime of a projector shares. */
export interface RuntimeContext<Tx extends StoreTransaction, RM> {
  store: ProjectionStore<Tx, RM>;
  subscription: ProjectionSubscriptionOptions<Tx>;
  /** Where events are read from (the store, or a wrapper of it that upcasts). */
  source: EventStore;
  clock: Clock;
  retiredGraceMs: number;
  inlineTimeoutMs: number;
  pollIntervalMs: number;
  logger: SubscriptionLogger | undefined;
  /** Run async builds as consumer groups of this many partitions (see `ProjectorOptions`). */
  partitions: ProjectionPartitionOptions | undefined;
}

/** A build this process runs with a subscription (or as a member of its consumer group). */
interface Run<Tx extends StoreTransaction, RM> {
  record: ProjectionRecord;
  definition: ProjectionDefinition<RM>;
  runner: BuildRunner<Tx>;
  unlisten: () => void;
}

/** The mode of a definition (`'async'` unless it says otherwise). */
export function modeOf(definition: ProjectionDefinition<unknown>): ProjectionMode {
  return definition.mode ?? 'async';
}

/**
 * The store filter that reads only what a definition handles, and the `subject.forgotten`
 * audit events when it has a `forget` hook (then without the stream prefix, which the audit
 * stream does not share: {@link whereOf} checks it in process).
 */
export function filterOf(definition: ProjectionDefinition<unknown>): ReadAllFilter {
  if (definition.forget !== undefined && !definition.handles.includes(SUBJECT_FORGOTTEN_EVENT))
    return { types: [...definition.handles, SUBJECT_FORGOTTEN_EVENT] };
  return definition.streamPrefix === undefined
    ? { types: definition.handles }
    : { types: definition.handles, streamPrefix: definition.streamPrefix };
}

/** The in-process check that goes with {@link filterOf}, when the filter alone is not enough. */
export function whereOf(
  definition: ProjectionDefinition<unknown>,
): ((event: RecordedEvent) => boolean) | undefined {
  if (definition.forget === undefined || definition.streamPrefix === undefined) return undefined;
  return (event) => readsEvent(definition, event);
}

function sameBuild(a: ProjectionBuild, b: ProjectionBuild): boolean {
  return a.name === b.name && a.version === b.version && a.build === b.build;
}

function identity(record: ProjectionBuild): ProjectionBuild {
  return { name: record.name, version: record.version, build: record.build };
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new NonErrorThrownError(value);
}

/**
 * One projection in a projector: its definitions (the newest is the target; older ones may
 * keep an old serving build up to date during a rebuild), the builds it runs here, and the
 * logic of setting up, switching and dropping builds. Internal to the projector.
 */
export class ProjectionRuntime<Tx extends StoreTransaction, RM> {
  readonly target: ProjectionDefinition<RM>;
  private records: ProjectionRecord[] = [];
  private readonly runs = new Map<string, Run<Tx, RM>>();
  private started = false;
  private error: Error | undefined;
  private readonly listeners = new Set<() => void>();
  private chain: Promise<unknown> = Promise.resolve();
  private switching = false;
  private switchAgain = false;
  /** True from a switch's commit until the replaced build is dropped. */
  private settling = false;
  private readonly dropTimers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    readonly name: string,
    /** Definitions by version. */
    readonly definitions: ReadonlyMap<number, ProjectionDefinition<RM>>,
    private readonly ctx: RuntimeContext<Tx, RM>,
  ) {
    const newest = Math.max(...definitions.keys());
    this.target = definitions.get(newest) as ProjectionDefinition<RM>;
  }

  /**
   * Sets up what is missing (a first build, or a build of a new version), cleans up what is
   * left over, and starts the subscriptions of the builds it runs. On failure it stops again,
   * keeps the error for `status()`, and throws it.
   */
  start(): Promise<void> {
    return this.exclusive(async () => {
      if (this.started) return;
      this.error = undefined;
      try {
        await this.prepare();
        this.started = true;
        await this.runBuilds();
      } catch (thrown) {
        const error = toError(thrown);
        await this.halt();
        this.error = error;
        this.notify();
        throw error;
      }
      this.notify();
    });
  }

  /** Stops the subscriptions it runs. Inline builds stay maintained by appends. */
  stop(): Promise<void> {
    return this.exclusive(async () => {
      await this.halt();
      this.notify();
    });
  }

  /**
   * Starts a new build of the newest version beside the serving one (a rebuild by hand), or
   * returns the build already in progress.
   */
  rebuild(): Promise<ProjectionBuild> {
    return this.exclusive(async () => {
      if (!this.started)
        throw new ProjectionStoppedError(this.name, 'start the projector before rebuilding');
      const pending = this.pendingRun();
      if (pending) return identity(pending.record);
      this.assertAloneForRebuild();
      const records = await this.ctx.store.listBuilds(this.name);
      const build = nextBuild(records, this.name, this.target.version);
      await this.createBuild(this.target, build, true);
      this.records = await this.ctx.store.listBuilds(this.name);
      const created = this.records.find((r) => sameBuild(r, build));
      if (!created) throw new Error(`internal: build ${buildKey(build)} was not registered`);
      await this.cleanUp();
      await this.run(created, this.target);
      this.notify();
      return build;
    });
  }

  /** Calls `listener` on every change of progress, state or builds, until unsubscribed. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The projection's status, read from the database and this process's subscriptions. */
  async status(): Promise<ProjectionStatus> {
    const { store } = this.ctx;
    const records = await this.refresh();
    const head = await store.storage.store.headPosition();
    const serving = records.find((r) => r.status === 'serving');
    const building = latestBuilding(records);
    const position = serving ? await this.positionOf(serving, head) : 0;
    const servingRun = serving && this.runs.get(buildKey(serving));
    const servingError = servingRun?.runner.error;
    let rebuild: RebuildStatus | undefined;
    if (building) {
      const run = this.runs.get(buildKey(building));
      const at = await this.positionOf(building, head);
      rebuild = {
        version: building.version,
        build: building.build,
        position: at,
        lag: await this.lag(at, head),
        parked: await this.parkedOf(building),
        error: run?.runner.error,
      };
    }
    const error = this.error ?? servingError;
    return {
      name: this.name,
      mode: modeOf(this.target),
      version: serving?.version,
      build: serving?.build,
      state: this.stateOf(serving, building, error),
      position,
      head,
      lag: await this.lag(position, head),
      parked: serving && serving.mode === 'async' ? await this.parkedOf(serving) : 0,
      error,
      rebuild,
      ...(serving && this.partitionedBuild(serving)
        ? { partitions: await this.partitionStatuses(serving, head) }
        : {}),
    };
  }

  /**
   * Runs `query` on the serving read model; with `minPosition`, once it has reached that
   * position. The position returned is read before the data, so the data holds at least
   * every event up to it.
   */
  async query<T>(
    query: (readModel: RM) => T | Promise<T>,
    options: { minPosition?: number; timeoutMs?: number } = {},
  ): Promise<QueryResult<T>> {
    const { store } = this.ctx;
    if (options.minPosition !== undefined)
      await this.waitFor(options.minPosition, options.timeoutMs);
    for (let attempt = 1; ; attempt++) {
      const records = await this.refresh();
      const serving = records.find((r) => r.status === 'serving');
      if (!serving) throw new ProjectionNotReadyError(this.name);
      const position = await this.positionOf(serving);
      try {
        const data = await store.read(identity(serving), query);
        return { data, position, version: serving.version };
      } catch (error) {
        // The build was retired and dropped between finding it and reading it: read the new one.
        if (attempt === 1 && store.isMissingTable(error)) continue;
        throw error;
      }
    }
  }

  /**
   * Resolves once the serving read model has reached `position`. Woken by the progress of the
   * subscriptions this process runs and by the store's commit notifications; a serving build
   * run by another process is looked at every `pollIntervalMs`.
   *
   * @throws {ProjectionWaitTimeoutError} after `timeoutMs` (default 30,000).
   * @throws {ProjectionStoppedError} when the serving build's subscription here stops on an error.
   */
  waitFor(position: number, timeoutMs = 30_000): Promise<void> {
    return this.waitUntil(
      async () => {
        const serving = this.records.find((r) => r.status === 'serving');
        const reached = serving ? await this.positionOf(serving) : 0;
        return { done: reached >= position, reached };
      },
      (reached) => new ProjectionWaitTimeoutError(this.name, position, reached, timeoutMs),
      timeoutMs,
    );
  }

  /**
   * Resolves once no build that this process runs is pending (a rebuild has switched in).
   *
   * @throws {ProjectionWaitTimeoutError} after `timeoutMs` (default 30,000).
   * @throws {ProjectionStoppedError} when the rebuild's subscription stops on an error.
   */
  switched(timeoutMs = 30_000): Promise<void> {
    return this.waitUntil(
      () => {
        const pending = this.pendingRun();
        const error = pending?.runner.error;
        if (error)
          throw new ProjectionStoppedError(
            this.name,
            `its rebuild stopped: ${error.message}`,
            error,
          );
        return Promise.resolve({ done: pending === undefined && !this.settling, reached: 0 });
      },
      () => {
        const serving = this.records.find((r) => r.status === 'serving');
        const run = serving && this.runs.get(buildKey(serving));
        return new ProjectionWaitTimeoutError(
          this.name,
          undefined,
          run?.runner.localPosition() ?? 0,
          timeoutMs,
        );
      },
      timeoutMs,
    );
  }

  /** The subscriptions of the builds this process runs (serving and pending). */
  subscriptions(): Subscription<Tx>[] {
    return [...this.runs.values()].flatMap((r) => r.runner.subscriptions());
  }

  /**
   * Parked events of the builds this process runs, serving build first; of every partition
   * of a partitioned build, whichever member runs it.
   */
  async listParked(options?: ListParkedOptions): Promise<ParkedEvent[]> {
    const lists = await Promise.all(
      [...this.runs.values()].map((r) => r.runner.listParked(options)),
    );
    return lists.flat();
  }

  /** Hands parked events back to the builds run here (every partition); returns how many. */
  async retryParked(which: ParkedSelection): Promise<number> {
    const counts = await Promise.all(
      [...this.runs.values()].map((r) => r.runner.retryParked(which)),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Removes parked events of the builds run here (every partition); returns how many. */
  async skipParked(which: ParkedSelection): Promise<number> {
    const counts = await Promise.all(
      [...this.runs.values()].map((r) => r.runner.skipParked(which)),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Asks for a switch attempt (after parked events of the pending build were handled). */
  nudge(): void {
    this.scheduleSwitch();
  }

  /**
   * The builds an append must apply inline, as `tx` sees the registry: the serving build,
   * when it is inline and maintained. A serving build of an older version that this process
   * has no definition for is frozen at `after` (see {@link ProjectionRecord.frozenAt}).
   *
   * @throws {ProjectionOutdatedError} when the serving build is newer than this process knows.
   */
  async inlineTarget(
    tx: Tx,
    records: readonly ProjectionRecord[],
    after: number,
  ): Promise<{ record: ProjectionRecord; definition: ProjectionDefinition<RM> } | undefined> {
    const serving = records.find((r) => r.name === this.name && r.status === 'serving');
    if (!serving || serving.mode !== 'inline' || serving.frozenAt !== null) return undefined;
    const definition = this.definitions.get(serving.version);
    if (definition) {
      if (modeOf(definition) !== 'inline')
        throw new ProjectionModeConflictError(
          this.name,
          serving.version,
          'inline',
          modeOf(definition),
        );
      return { record: serving, definition };
    }
    if (serving.version > this.target.version)
      throw new ProjectionOutdatedError(this.name, this.target.version, serving.version);
    // An old version this process cannot maintain: it stops here, and says so.
    await this.ctx.store.putBuild(tx, { ...serving, frozenAt: after });
    return undefined;
  }

  /**
   * Whether appends may have to apply this projection inline: it defines an inline version,
   * or an inline build was serving when last looked at (it must then be maintained or frozen).
   */
  mayApplyInline(): boolean {
    for (const definition of this.definitions.values())
      if (modeOf(definition) === 'inline') return true;
    return this.records.some((r) => r.status === 'serving' && r.mode === 'inline');
  }

  /** Tells waiters that inline read models moved (an append through the projector committed). */
  notify(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  private async prepare(): Promise<void> {
    const { store } = this.ctx;
    const records = await store.listBuilds(this.name);
    const serving = records.find((r) => r.status === 'serving');
    if (serving && serving.version > this.target.version)
      throw new ProjectionOutdatedError(this.name, this.target.version, serving.version);
    for (const record of records) {
      const definition = this.definitions.get(record.version);
      if (record.status !== 'retired' && definition && modeOf(definition) !== record.mode)
        throw new ProjectionModeConflictError(
          this.name,
          record.version,
          record.mode,
          modeOf(definition),
        );
    }
    let created = false;
    if (!serving || serving.version < this.target.version) {
      if (!latestBuilding(records, this.target.version)) {
        await this.createBuild(
          this.target,
          nextBuild(records, this.name, this.target.version),
          false,
        );
        created = true;
      }
    }
    // The registry as read above still holds unless a build was set up since: cleanUp starts
    // from it then, and keeps the records it ends with (one read at start, not three).
    await this.cleanUp(created ? undefined : records);
  }

  /**
   * Registers `build` and runs the definition's `setup` for it, in one transaction: a setup
   * that fails leaves nothing behind. It serves at once when nothing else does and there is
   * nothing to catch up on (async builds catch up while serving); otherwise it is a build.
   */
  private async createBuild(
    definition: ProjectionDefinition<RM>,
    build: ProjectionBuild,
    besideServing: boolean,
  ): Promise<void> {
    const { store, clock } = this.ctx;
    const mode = modeOf(definition);
    let inSetup = false;
    try {
      await store.storage.store.transaction(async (tx) => {
        const head = await store.lockLog(tx);
        const current = await store.buildsIn(tx, [this.name]);
        // Another process may have set it (or another build of the version) up meanwhile.
        if (current.some((r) => sameBuild(r, build))) return;
        if (!besideServing && latestBuilding(current, build.version)) return;
        const serving = current.find((r) => r.status === 'serving');
        if (!besideServing && serving && serving.version >= build.version) return;
        const status = !serving && (mode === 'async' || head === 0) ? 'serving' : 'building';
        inSetup = true;
        await definition.setup(store.bind(tx, build));
        const now = new Date(clock.now());
        await store.putBuild(tx, {
          ...build,
          mode,
          status,
          frozenAt: null,
          createdAt: now,
          switchedAt: status === 'serving' ? now : null,
        });
      });
    } catch (error) {
      if (inSetup) throw new ProjectionSetupError(this.name, build.version, error);
      throw error;
    }
  }

  /** Runs the serving build (when async and defined here) and the pending build. */
  private async runBuilds(): Promise<void> {
    const serving = this.records.find((r) => r.status === 'serving');
    if (serving && serving.mode === 'async') {
      const definition = this.definitions.get(serving.version);
      if (definition) await this.run(serving, definition);
    }
    const pending = latestBuilding(this.records, this.target.version);
    if (pending) await this.run(pending, this.target);
  }

  private async run(record: ProjectionRecord, definition: ProjectionDefinition<RM>): Promise<void> {
    const runner = this.partitionedBuild(record)
      ? await this.groupRunner(record, definition)
      : this.subscriptionRunner(record, definition);
    const run: Run<Tx, RM> = { record, definition, runner, unlisten: () => undefined };
    run.unlisten = runner.onStatus(() => this.onRunStatus(run));
    this.runs.set(buildKey(record), run);
    await runner.start();
  }

  private subscriptionRunner(
    record: ProjectionRecord,
    definition: ProjectionDefinition<RM>,
  ): SubscriptionRunner<Tx> {
    return new SubscriptionRunner(
      new Subscription<Tx>({
        ...this.ctx.subscription,
        source: this.ctx.source,
        name: buildSubscriptionName(record),
        storage: this.ctx.store.storage,
        filter: filterOf(definition),
        ...(whereOf(definition) ? { where: whereOf(definition) } : {}),
        from: 'start',
        ...this.handlersFor(record, definition),
      }),
    );
  }

  /**
   * A member of the build's consumer group, named after its subscription. A build run
   * unpartitioned before has a checkpoint of that name: a group met for the first time
   * starts after it, so that turning partitions on does not apply anything twice.
   */
  private async groupRunner(
    record: ProjectionRecord,
    definition: ProjectionDefinition<RM>,
  ): Promise<GroupRunner<Tx>> {
    const partitions = this.ctx.partitions as ProjectionPartitionOptions;
    const { storage } = this.ctx.store;
    const name = buildSubscriptionName(record);
    const before = (await storage.checkpoints.load(name))?.position ?? 0;
    const o = this.ctx.subscription;
    const where = whereOf(definition);
    // As unpartitioned: each partition's transaction takes a batch, its writes flushed once.
    const { handler, batchHandler } = this.handlersFor(record, definition);
    return new GroupRunner(
      new ConsumerGroup<Tx>({
        name,
        partitions: partitions.count,
        membership: partitions.membership,
        ...(partitions.partitionKey ? { partitionKey: partitions.partitionKey } : {}),
        ...(partitions.memberId === undefined ? {} : { memberId: partitions.memberId }),
        ...(partitions.leaseTtlMs === undefined ? {} : { leaseTtlMs: partitions.leaseTtlMs }),
        ...(partitions.heartbeatIntervalMs === undefined
          ? {}
          : { heartbeatIntervalMs: partitions.heartbeatIntervalMs }),
        storage,
        source: this.ctx.source,
        handler,
        batchHandler,
        filter: filterOf(definition),
        ...(where ? { where } : {}),
        from: before > 0 ? { after: before } : 'start',
        ...(o.batchSize === undefined ? {} : { batchSize: o.batchSize }),
        ...(o.catchUp === undefined ? {} : { catchUp: o.catchUp }),
        ...(o.retry === undefined ? {} : { retry: o.retry }),
        ...(o.handlerTimeoutMs === undefined ? {} : { handlerTimeoutMs: o.handlerTimeoutMs }),
        ...(o.clock === undefined ? {} : { clock: o.clock }),
        ...(o.logger === undefined ? {} : { logger: o.logger }),
        ...(o.idleCheckIntervalMs === undefined
          ? {}
          : { idleCheckIntervalMs: o.idleCheckIntervalMs }),
      }),
    );
  }

  /** Whether `record` runs as a consumer group: async builds, when partitions are asked for. */
  private partitionedBuild(record: ProjectionRecord): boolean {
    return this.ctx.partitions !== undefined && record.mode === 'async';
  }

  /** The subscription names of a build: its own, or its partitions'. */
  private subscriptionNames(record: ProjectionRecord): string[] {
    const name = buildSubscriptionName(record);
    if (!this.partitionedBuild(record)) return [name];
    const count = (this.ctx.partitions as ProjectionPartitionOptions).count;
    return [name, ...Array.from({ length: count }, (_, p) => `${name}#${p}`)];
  }

  /** Events a build has parked, in every partition of it. */
  private async parkedOf(record: ProjectionRecord): Promise<number> {
    const { parked } = this.ctx.store.storage;
    const counts = await Promise.all(this.subscriptionNames(record).map((n) => parked.count(n)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * A rebuild switches in once one member has caught every partition of the new build up:
   * it is started with this member alone in the serving build's group.
   */
  private assertAloneForRebuild(): void {
    const serving = this.records.find((r) => r.status === 'serving');
    if (!serving || !this.partitionedBuild(serving)) return;
    const run = this.runs.get(buildKey(serving));
    const members = run?.runner.members() ?? [];
    if (members.length > 1) throw new ProjectionPartitionedRebuildError(this.name, members);
  }

  /**
   * The event handler and the batch handler of a build's subscription. Whether the build is
   * still current is looked up once per transaction (per batch); after that, a synchronous
   * `apply` is called without a turn of the event loop. The read model is bound buffered: the
   * document writes of a batch wait in memory, one last write per document, and are written
   * out as multi-row statements once the batch (or the one event) is applied, before the
   * checkpoint commits with them. The batch handler hands the batch to `applyBatch` when the
   * definition has one, and otherwise calls `apply` for each event in turn: one flush per
   * batch either way.
   */
  private handlersFor(
    record: ProjectionRecord,
    definition: ProjectionDefinition<RM>,
  ): { handler: EventHandler<Tx>; batchHandler: BatchHandler<Tx> } {
    const { store } = this.ctx;
    const bound = new WeakMap<object, RM | null>();
    /**
     * Binds the read model to the transaction of `context`, once per transaction. The lookup
     * reads; the transaction counts as taken only once the projection uses the read model, so
     * a batch that wrote nothing commits relaxed where the adapter can.
     */
    const lookUp = async (tx: Tx, onUse: () => void): Promise<RM | null> => {
      // A store that does not report use: every batch counts as one that wrote.
      if (store.reportsUse !== true) onUse();
      const records = await store.buildsIn(tx, [this.name]);
      const mine = records.find((r) => sameBuild(r, record));
      const readModel =
        mine !== undefined && mine.status !== 'retired'
          ? store.bind(tx, record, { buffered: true, onUse })
          : null;
      bound.set(tx, readModel);
      return readModel;
    };
    const retired = () => `build ${buildKey(record)} of projection "${this.name}" was retired`;
    const forget = definition.forget?.bind(definition);
    /**
     * What `apply` (and `forget`) get for calls made with `context`. One object serves every
     * event of a batch, whose calls share their context: a literal with a getter per event
     * was a new closure per event, garbage that made catch-up batches outlive young-generation
     * collections.
     */
    const applyContextOf = (context: HandlerContext<Tx>): ApplyContext => ({
      projection: this.name,
      version: record.version,
      attempt: context.attempt,
      // Read through, so that the signal is only made if `apply` asks for it.
      get signal() {
        return context.signal;
      },
    });
    const apply = (
      event: RecordedEvent,
      readModel: RM | null,
      applyContext: ApplyContext,
    ): Applied => {
      if (readModel === null) return nack.stop(retired());
      const subject = forgottenSubjectFor(definition, event);
      if (subject !== undefined && forget) return forget(subject, readModel, applyContext);
      // With no OpenTelemetry SDK, no span options (an attributes object per event) either.
      if (!tracingActive()) return definition.apply(event, readModel, applyContext);
      return inSpan(
        'causeway.projection.apply',
        applySpanOptions(this.name, record.version, event),
        () => definition.apply(event, readModel, applyContext),
      );
    };
    /** Writes out the held-back writes of `tx` once `result` acknowledges (else it rolls back). */
    const flushAfter = (tx: Tx, result: void | HandlerResult): Applied => {
      if (!acknowledges(result)) return result;
      const flushed = store.flush?.(tx);
      return flushed instanceof Promise ? flushed.then(() => result) : result;
    };
    const applyOne = (
      event: RecordedEvent,
      readModel: RM | null,
      context: HandlerContext<Tx>,
      tx: Tx,
    ) => {
      const result = apply(event, readModel, applyContextOf(context));
      return result instanceof Promise
        ? result.then((r) => flushAfter(tx, r))
        : flushAfter(tx, result);
    };
    const handler: EventHandler<Tx> = (event, context) => {
      const tx = peekTransaction(context);
      const readModel = bound.get(tx);
      if (readModel !== undefined) return applyOne(event, readModel, context, tx);
      return lookUp(tx, markTaken(context)).then((rm) => applyOne(event, rm, context, tx));
    };
    const applyBatch = definition.applyBatch?.bind(definition);
    /** `apply` on each event in turn, as the first try of each; ends at the first nack. */
    const applyEach = async (
      events: readonly RecordedEvent[],
      readModel: RM,
      context: BatchHandlerContext<Tx>,
    ): Promise<void | HandlerResult> => {
      const eventContext: HandlerContext<Tx> = {
        // Read through: apply is handed the read model, not the transaction.
        get tx() {
          return context.tx;
        },
        subscription: context.subscription,
        attempt: 1,
        retryingParked: false,
        lease: context.lease,
        get signal() {
          return context.signal;
        },
      };
      const applyContext = applyContextOf(eventContext);
      for (const event of events) {
        const applied = apply(event, readModel, applyContext);
        const result = applied instanceof Promise ? await applied : applied;
        if (!acknowledges(result)) return result;
      }
      return undefined;
    };
    /**
     * The events of a batch go to `applyBatch` with no closure of this function holding them:
     * a closure outlives the batch when something already in the old generation (after a
     * young-generation collection, the projection's own objects are) refers to it, and the
     * whole batch then survives every young-generation collection until the next full one.
     */
    const applyAll = (
      events: readonly RecordedEvent[],
      readModel: RM,
      context: BatchHandlerContext<Tx>,
    ): Applied => {
      if (!applyBatch) return applyEach(events, readModel, context);
      const batchContext = applyBatchContextOf(this.name, record.version, context);
      // A forget notice in the batch: apply the events around it as runs, and it between.
      if (forget && events.some((e) => forgottenSubjectFor(definition, e) !== undefined))
        return applyRuns(events, (run) =>
          run.length === 1
            ? applyEach(run, readModel, context)
            : applyBatch(run, readModel, batchContext),
        );
      const [first] = events;
      if (!first || !tracingActive()) return applyBatch(events, readModel, batchContext);
      return tracedBatch(applyBatch, events, readModel, batchContext);
    };
    const batchHandler: BatchHandler<Tx> = async (events, context) => {
      const tx = peekTransaction(context);
      const cached = bound.get(tx);
      const readModel = cached === undefined ? await lookUp(tx, markTaken(context)) : cached;
      // Event by event, the build's retirement stops the subscription.
      if (readModel === null) return nack.retry(retired());
      const applied = applyAll(events, readModel, context);
      return flushAfter(tx, applied instanceof Promise ? await applied : applied);
    };
    return { handler, batchHandler };
  }

  private onRunStatus(run: Run<Tx, RM>): void {
    this.notify();
    if (run.record.status === 'building' && run.runner.caughtUp()) this.scheduleSwitch();
  }

  private scheduleSwitch(): void {
    if (this.switching) {
      this.switchAgain = true;
      return;
    }
    this.switching = true;
    void (async () => {
      try {
        do {
          this.switchAgain = false;
          await this.exclusive(() => this.trySwitch());
        } while (this.switchAgain);
      } catch (error) {
        this.ctx.logger?.warn(
          { projection: this.name, err: error },
          'projection switch failed; it is tried again when the rebuild moves on',
        );
      } finally {
        this.switching = false;
      }
    })();
  }

  /** Switches the pending build in, once it has caught up and has nothing parked. */
  private async trySwitch(): Promise<void> {
    const pending = this.pendingRun();
    if (!this.started || !pending || !pending.runner.caughtUp()) return;
    const parked = await this.parkedOf(pending.record);
    if (parked > 0) return;
    if (modeOf(pending.definition) === 'inline') await this.switchInline(pending);
    else await this.switchAsync(pending);
  }

  private async switchAsync(pending: Run<Tx, RM>): Promise<void> {
    const { store } = this.ctx;
    const records = await store.listBuilds(this.name);
    const serving = records.find((r) => r.status === 'serving');
    // Never switch to a read model behind the one serving: positions seen by readers only grow.
    const reached = pending.runner.localPosition() ?? 0;
    if (serving && reached < (await this.positionOf(serving))) return;
    const switched = await this.commitSwitch(pending, () => Promise.resolve());
    if (switched) await this.afterSwitch(pending);
  }

  /**
   * An inline build takes over from inside the append path, so its subscription stops first;
   * the events committed since it stopped are applied in the switching transaction, which holds
   * back appends: the first append after it is applied to the new build inline.
   */
  private async switchInline(pending: Run<Tx, RM>): Promise<void> {
    const { store, source, inlineTimeoutMs } = this.ctx;
    await pending.runner.stop();
    // Inline builds are never partitioned: their runner is one subscription.
    const from =
      pending.runner instanceof SubscriptionRunner
        ? pending.runner.subscription.status.position
        : 0;
    let switched = false;
    try {
      switched = await this.commitSwitch(pending, async (tx, head) => {
        if (head <= from) return;
        const readModel = store.bind(tx, pending.record);
        for await (const event of source.readAll({
          from: from + 1,
          filter: filterOf(pending.definition),
        })) {
          if (event.position > head) break;
          if (!readsEvent(pending.definition, event)) continue;
          const subject = forgottenSubjectFor(pending.definition, event);
          if (subject !== undefined)
            await forgetInline(
              pending.definition,
              pending.record,
              { event, subject },
              readModel,
              inlineTimeoutMs,
            );
          else
            await applyInline(
              pending.definition,
              pending.record,
              event,
              readModel,
              inlineTimeoutMs,
            );
        }
      });
    } catch (error) {
      this.ctx.logger?.warn(
        { projection: this.name, err: error },
        'switching to the rebuilt inline projection failed; the rebuild resumes',
      );
    }
    if (switched) {
      await this.afterSwitch(pending);
      return;
    }
    if (this.started) await pending.runner.start();
  }

  /** The switch itself: in one transaction holding back appends, the pending build serves. */
  private async commitSwitch(
    pending: Run<Tx, RM>,
    catchUp: (tx: Tx, head: number) => Promise<void>,
  ): Promise<boolean> {
    const { store, clock } = this.ctx;
    return store.storage.store.transaction(async (tx) => {
      const head = await store.lockLog(tx);
      const current = await store.buildsIn(tx, [this.name]);
      const mine = current.find((r) => sameBuild(r, pending.record));
      if (!mine || mine.status !== 'building') return false;
      await catchUp(tx, head);
      const now = new Date(clock.now());
      for (const r of current)
        if (r.status === 'serving')
          await store.putBuild(tx, { ...r, status: 'retired', switchedAt: now });
      await store.putBuild(tx, { ...mine, status: 'serving', switchedAt: now });
      if (mine.mode === 'inline')
        await store.storage.checkpoints.delete(buildSubscriptionName(mine), tx);
      return true;
    });
  }

  private async afterSwitch(pending: Run<Tx, RM>): Promise<void> {
    this.settling = true;
    try {
      const key = buildKey(pending.record);
      pending.record = { ...pending.record, status: 'serving' };
      if (modeOf(pending.definition) === 'inline') {
        pending.unlisten();
        this.runs.delete(key);
      }
      for (const [other, run] of [...this.runs]) {
        if (other === key) continue;
        run.unlisten();
        this.runs.delete(other);
        await run.runner.stop();
      }
      this.ctx.logger?.info(
        { projection: this.name, version: pending.record.version, build: pending.record.build },
        'projection switched to its new build',
      );
      this.records = await this.ctx.store.listBuilds(this.name);
      await this.cleanUp();
    } finally {
      this.settling = false;
      this.notify();
    }
  }

  /**
   * Drops retired builds whose grace period has passed (and schedules the others), and builds
   * left behind by older or superseded rebuilds.
   */
  private async cleanUp(known?: ProjectionRecord[]): Promise<void> {
    const records = known ?? (await this.ctx.store.listBuilds(this.name));
    const pending = latestBuilding(records, this.target.version);
    const now = this.ctx.clock.now();
    let dropped = false;
    for (const record of records) {
      if (record.status === 'retired') {
        const due = (record.switchedAt?.getTime() ?? 0) + this.ctx.retiredGraceMs;
        if (due <= now) {
          await this.dropBuild(record);
          dropped = true;
        } else this.scheduleDrop(record, due - now);
      } else if (
        record.status === 'building' &&
        (record.version < this.target.version ||
          (record.version === this.target.version && pending && record.build < pending.build))
      ) {
        await this.dropBuild(record);
        dropped = true;
      }
    }
    // Read again only when something went: otherwise the records just read are the registry.
    this.records = dropped ? await this.ctx.store.listBuilds(this.name) : records;
  }

  private scheduleDrop(record: ProjectionRecord, delayMs: number): void {
    const timer = setTimeout(() => {
      this.dropTimers.delete(timer);
      this.exclusive(() => this.dropBuild(record)).catch((error: unknown) =>
        this.ctx.logger?.warn(
          { projection: this.name, err: error },
          'could not drop a retired projection build; it is dropped at the next start',
        ),
      );
    }, delayMs);
    timer.unref();
    this.dropTimers.add(timer);
  }

  /** Drops a build's read model, its registration, checkpoint and parked events, together. */
  private async dropBuild(record: ProjectionRecord): Promise<void> {
    const { store } = this.ctx;
    const run = this.runs.get(buildKey(record));
    if (run) {
      run.unlisten();
      this.runs.delete(buildKey(record));
      await run.runner.stop();
    }
    const names = this.subscriptionNames(record);
    await store.storage.store.transaction(async (tx) => {
      const current = await store.buildsIn(tx, [this.name]);
      const mine = current.find((r) => sameBuild(r, record));
      if (mine?.status === 'serving') return;
      await store.drop(tx, identity(record));
      if (mine) await store.deleteBuild(tx, identity(record));
      for (const name of names) {
        await store.storage.checkpoints.delete(name, tx);
        await store.storage.parked.remove(name, 'all', tx);
      }
    });
  }

  private async halt(): Promise<void> {
    this.started = false;
    for (const timer of this.dropTimers) clearTimeout(timer);
    this.dropTimers.clear();
    const runs = [...this.runs.values()];
    this.runs.clear();
    for (const run of runs) {
      await run.runner.stop();
      run.unlisten();
    }
  }

  private pendingRun(): Run<Tx, RM> | undefined {
    for (const run of this.runs.values()) if (run.record.status === 'building') return run;
    return undefined;
  }

  /** How far a build has got: inline serving builds are as far as the log (or frozen). */
  private async positionOf(record: ProjectionRecord, head?: number): Promise<number> {
    if (record.mode === 'inline' && record.status === 'serving')
      return record.frozenAt ?? head ?? (await this.ctx.store.storage.store.headPosition());
    const run = this.runs.get(buildKey(record));
    const local = run?.runner.localPosition();
    if (local !== undefined) return local;
    if (this.partitionedBuild(record)) {
      const partitions = await this.partitionPositions(record, head);
      return Math.min(...partitions.map((p) => p.position));
    }
    const { storage } = this.ctx.store;
    const checkpoint =
      (await storage.checkpoints.load(buildSubscriptionName(record)))?.position ?? 0;
    // Run elsewhere: its checkpoint trails the events it passes over (saved every so often),
    // but the read model is as fresh as the first event after it that it would apply.
    const definition = this.definitions.get(record.version);
    if (!definition) return checkpoint;
    const last = head ?? (await storage.store.headPosition());
    for await (const next of this.ctx.source.readAll({
      from: checkpoint + 1,
      filter: filterOf(definition),
      limit: 1,
    }))
      return Math.max(checkpoint, Math.min(next.position - 1, last));
    return Math.max(checkpoint, last);
  }

  /**
   * Where each partition of a partitioned build is: as this member runs it, or else from its
   * checkpoint, moved up to just before the partition's next event (a checkpoint trails the
   * events a partition passes over, saved every so often).
   */
  private async partitionPositions(
    record: ProjectionRecord,
    head?: number,
  ): Promise<{ partition: number; position: number; here: boolean }[]> {
    const partitions = this.ctx.partitions as ProjectionPartitionOptions;
    const { storage } = this.ctx.store;
    const name = buildSubscriptionName(record);
    const here: ReadonlyMap<number, number> =
      this.runs.get(buildKey(record))?.runner.partitionPositions() ?? new Map<number, number>();
    const last = head ?? (await storage.store.headPosition());
    const definition = this.definitions.get(record.version);
    // A partition without a checkpoint starts where its group started.
    const base =
      (await partitions.membership.definition(name))?.startAfter ??
      (await storage.checkpoints.load(name))?.position ??
      0;
    const result: { partition: number; position: number; here: boolean }[] = [];
    for (let partition = 0; partition < partitions.count; partition++) {
      const local = here.get(partition);
      if (local !== undefined) {
        result.push({ partition, position: local, here: true });
        continue;
      }
      const checkpoint = (await storage.checkpoints.load(`${name}#${partition}`))?.position ?? base;
      const next = definition
        ? await this.nextInPartition(definition, partition, checkpoint)
        : undefined;
      const position =
        definition === undefined
          ? checkpoint
          : Math.max(checkpoint, Math.min(next === undefined ? last : next - 1, last));
      result.push({ partition, position, here: false });
    }
    return result;
  }

  /** The position of the first event of `partition` after `after` the build would read. */
  private async nextInPartition(
    definition: ProjectionDefinition<RM>,
    partition: number,
    after: number,
  ): Promise<number | undefined> {
    const { count, partitionKey } = this.ctx.partitions as ProjectionPartitionOptions;
    const filter = filterOf(definition);
    if (!partitionKey) {
      for await (const next of this.ctx.source.readAll({
        from: after + 1,
        filter: { ...filter, partition: { count, index: partition } },
        limit: 1,
      }))
        return next.position;
      return undefined;
    }
    // A custom key is not known to the store: look through the build's events for it.
    for await (const next of this.ctx.source.readAll({ from: after + 1, filter })) {
      let key: string;
      try {
        key = partitionKey(next);
      } catch {
        return next.position;
      }
      if (fnv1a32(key) % count === partition) return next.position;
    }
    return undefined;
  }

  /** Each partition of a partitioned build: where it is, its lag and parked events. */
  private async partitionStatuses(
    record: ProjectionRecord,
    head: number,
  ): Promise<ProjectionPartitionStatus[]> {
    const { parked } = this.ctx.store.storage;
    const name = buildSubscriptionName(record);
    const positions = await this.partitionPositions(record, head);
    return Promise.all(
      positions.map(async (p) => ({
        partition: p.partition,
        position: p.position,
        lag: await this.lag(p.position, head),
        parked: await parked.count(`${name}#${p.partition}`),
        runningHere: p.here,
      })),
    );
  }

  private async lag(position: number, head: number): Promise<ProjectionLag> {
    const events = Math.max(0, head - position);
    if (events === 0) return { events, seconds: 0 };
    let oldest: RecordedEvent | undefined;
    for await (const event of this.ctx.store.storage.store.readAll({
      from: position + 1,
      limit: 1,
    }))
      oldest = event;
    const seconds = oldest
      ? Math.max(0, (this.ctx.clock.now() - oldest.recordedAt.getTime()) / 1000)
      : 0;
    return { events, seconds };
  }

  private stateOf(
    serving: ProjectionRecord | undefined,
    building: ProjectionRecord | undefined,
    error: Error | undefined,
  ): ProjectionStatus['state'] {
    if (error || !this.started) return 'stopped';
    if (building) return serving ? 'rebuilding' : 'catching-up';
    if (!serving) return 'stopped';
    if (serving.mode === 'inline') return 'running';
    const run = this.runs.get(buildKey(serving));
    if (!run) return 'running';
    const state = run.runner.state;
    if (state === 'live') return 'running';
    if (state === 'waiting-for-lease') return 'standby';
    if (state === 'stopped' || state === 'stopping') return 'stopped';
    return 'catching-up';
  }

  /**
   * Waits, re-checking on every change this process sees and on commits; polls when the
   * serving build runs elsewhere (its progress is only visible in the database).
   */
  private waitUntil(
    check: () => Promise<{ done: boolean; reached: number }>,
    timeout: (reached: number) => Error,
    timeoutMs: number,
  ): Promise<void> {
    const store = this.ctx.store.storage.store;
    return new Promise((resolve, reject) => {
      let settled = false;
      let checking = false;
      let again = false;
      let reached = 0;
      const cleanups: (() => void)[] = [];
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        for (const cleanup of cleanups) cleanup();
        if (error) reject(error);
        else resolve();
      };
      const run = async () => {
        if (settled) return;
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        try {
          do {
            again = false;
            const result = await check();
            reached = result.reached;
            if (result.done) return finish();
            if (this.servingStopError()) {
              // Perhaps another process switched and retired it: look again first.
              await this.refresh();
              const stopped = this.servingStopError();
              if (stopped) return finish(stopped);
              again = true;
            }
          } while (again && !settled);
        } catch (error) {
          finish(toError(error));
        } finally {
          checking = false;
        }
      };
      const poll = async () => {
        if (settled || !this.servingRunsElsewhere()) return;
        await this.refresh();
        await run();
      };
      const listen = () => {
        cleanups.push(this.onChange(() => void run()));
        // Commits by other processes move inline read models: the store reports them.
        if (this.records.some((r) => r.status === 'serving' && r.mode === 'inline'))
          cleanups.push(store.watch(() => void run()));
        const poller = setInterval(
          () => void poll().catch(() => undefined),
          this.ctx.pollIntervalMs,
        );
        cleanups.push(() => clearInterval(poller));
        const timer = setTimeout(() => finish(timeout(reached)), timeoutMs);
        cleanups.push(() => clearTimeout(timer));
      };
      // Most waits are over at once (an inline read model, a subscription already there):
      // look first, and listen only if needed, then look again for what came meanwhile.
      check().then(
        (first) => {
          reached = first.reached;
          if (first.done) return finish();
          listen();
          void run();
        },
        (error: unknown) => finish(toError(error)),
      );
    });
  }

  /**
   * Reads the registry again, and brings the builds this process runs in line with it:
   * another process may have switched (a build it ran here now serves, or was retired).
   */
  private async refresh(): Promise<ProjectionRecord[]> {
    const records = await this.ctx.store.listBuilds(this.name);
    this.records = records;
    for (const [key, run] of [...this.runs]) {
      const record = records.find((r) => sameBuild(r, run.record));
      if (record && record.status === run.record.status) continue;
      if (record?.status === 'serving' && record.mode === 'async') {
        run.record = record;
        continue;
      }
      // Retired, dropped, or an inline build now maintained by appends: not run here any more.
      run.unlisten();
      this.runs.delete(key);
      run.runner.stop().catch(() => undefined);
    }
    return records;
  }

  /** Why the serving build's subscription here stopped, if it stopped on an error. */
  private servingStopError(): Error | undefined {
    const serving = this.records.find((r) => r.status === 'serving');
    const run = serving && this.runs.get(buildKey(serving));
    const error = run?.runner.error;
    return error && new ProjectionStoppedError(this.name, error.message, error);
  }

  /** True when nothing in this process reports the serving build's progress. */
  private servingRunsElsewhere(): boolean {
    const serving = this.records.find((r) => r.status === 'serving');
    if (!serving) return true;
    if (serving.mode === 'inline') return false;
    return this.runs.get(buildKey(serving))?.runner.localPosition() === undefined;
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work, work);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** The newest build in progress (of `version`, if given). */
function latestBuilding(
  records: readonly ProjectionRecord[],
  version?: number,
): ProjectionRecord | undefined {
  let latest: ProjectionRecord | undefined;
  for (const r of records) {
    if (r.status !== 'building' || (version !== undefined && r.version !== version)) continue;
    if (
      !latest ||
      r.version > latest.version ||
      (r.version === latest.version && r.build > latest.build)
    )
      latest = r;
  }
  return latest;
}

/** The next build of `version`: one past every build of it ever registered and still known. */
function nextBuild(
  records: readonly ProjectionRecord[],
  name: string,
  version: number,
): ProjectionBuild {
  let build = 0;
  for (const r of records) if (r.version === version && r.build > build) build = r.build;
  return { name, version, build: build + 1 };
}

/** What `apply`, `forget` or `applyBatch` give back, at once or later. */
type Applied = void | HandlerResult | Promise<void | HandlerResult>;

/** Whether a handler's result acknowledges (nothing, or `ack`): its writes are to commit. */
function acknowledges(result: unknown): boolean {
  return (
    result === undefined ||
    (typeof result === 'object' && result !== null && (result as HandlerResult).action === 'ack')
  );
}

/**
 * Hands `events` to `apply` in runs of consecutive events a projection applies, each forget
 * notice a run of its own; stops at the first result that is not an acknowledgement and
 * returns it (the subscription then goes event by event).
 */
async function applyRuns(
  events: readonly RecordedEvent[],
  apply: (run: RecordedEvent[]) => unknown,
): Promise<HandlerResult | void> {
  let run: RecordedEvent[] = [];
  const flush = async (): Promise<HandlerResult | void> => {
    if (run.length === 0) return undefined;
    const result = (await apply(run)) as HandlerResult | void;
    run = [];
    return result;
  };
  for (const event of events) {
    if (event.type === SUBJECT_FORGOTTEN_EVENT) {
      const before = await flush();
      if (before !== undefined && before.action !== 'ack') return before;
      run = [event];
      const own = await flush();
      if (own !== undefined && own.action !== 'ack') return own;
      continue;
    }
    run.push(event);
  }
  return flush();
}

/** What `applyBatch` gets besides the events: the signal read through, made only if asked. */
function applyBatchContextOf(
  projection: string,
  version: number,
  context: { readonly signal: AbortSignal },
): ApplyBatchContext {
  return {
    projection,
    version,
    get signal() {
      return context.signal;
    },
  };
}

/**
 * One `applyBatch` of `events` in a span, where an OpenTelemetry SDK records them. The thunk
 * the span runs is made here, so no closure of the caller holds the batch.
 */
function tracedBatch<RM, T>(
  applyBatch: (events: readonly RecordedEvent[], readModel: RM, context: ApplyBatchContext) => T,
  events: readonly RecordedEvent[],
  readModel: RM,
  context: ApplyBatchContext,
): T {
  return inSpan(
    'causeway.projection.apply',
    applySpanOptions(
      context.projection,
      context.version,
      events[0] as RecordedEvent,
      events.length,
    ),
    () => applyBatch(events, readModel, context),
  );
}
