import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventInput, RecordedEvent } from '../core/envelope.js';
import { InvalidArgumentError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { decodeJson, encodeJson } from '../core/json-codec.js';
import type {
  AppendOptions,
  AppendRequest,
  AppendResult,
  StoreTransaction,
  TransactionalEventStore,
} from '../store/event-store.js';
import { ForwardingEventStore, type AppendTarget } from '../store/forwarding-event-store.js';
import { applyInlineAll } from './apply-inline.js';
import { handlesEvent, type ProjectionDefinition } from './projection.js';
import type { ProjectionRuntime } from './projection-runtime.js';
import type { ProjectionRecord, ProjectionStore } from './projection-store.js';

/** The builds one transaction applies inline, found at its first append. */
interface InlineState<RM> {
  /** The last position committed before the transaction, then the last it appended. */
  after: number;
  targets: { record: ProjectionRecord; definition: ProjectionDefinition<RM> }[];
}

/**
 * The event store as seen through a projector (`projector.store`): every append, and every
 * append made with `tx.append` in its `transaction()`, also applies the inline projections to
 * the appended events, in the same transaction. Reads, watching and the rest go to the store
 * unchanged.
 *
 * The trade-off of inline projections: the read model is never behind the log, but a
 * projection that fails (throws, times out, returns something else than nothing) fails the
 * append, which is rolled back with a `ProjectionApplyError`; and an append holds the store's
 * write lock (SQLite) or commit-order lock (PostgreSQL) while the projections run. Every
 * writer of the store must append through a projector that defines its inline projections;
 * an append made on the store directly is not applied.
 *
 * @example
 * ```ts
 * const projector = new Projector({ store: await sqliteProjectionStore(store), projections: [totals] });
 * await projector.start();
 * const { position } = await projector.store.append('order-42', [placed]);
 * ```
 */
export class InlineProjections<Tx extends StoreTransaction, RM> extends ForwardingEventStore<Tx> {
  /** Marks the work of this store's running transactions (their async context). */
  private readonly running = new AsyncLocalStorage<{ active: boolean }>();

  constructor(
    inner: TransactionalEventStore<Tx>,
    private readonly projections: ProjectionStore<Tx, RM>,
    private readonly runtimes: readonly ProjectionRuntime<Tx, RM>[],
    private readonly timeoutMs: number,
  ) {
    super(inner);
  }

  /** {@link EventStore.append}, with the inline projections applied in its transaction. */
  override append(
    stream: string,
    events: readonly EventInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    if (!this.hasInline()) return this.inner.append(stream, events, options);
    if (this.insideTransaction()) return Promise.reject(insideTransaction('append'));
    return this.inner.transaction((tx) =>
      this.transactionAppends(tx).append(stream, events, options),
    );
  }

  /** {@link EventStore.appendMany}, with the inline projections applied in its transaction. */
  override appendMany(requests: readonly AppendRequest[]): Promise<AppendResult[]> {
    if (!this.hasInline()) return this.inner.appendMany(requests);
    if (this.insideTransaction()) return Promise.reject(insideTransaction('appendMany'));
    return this.inner.transaction((tx) => this.transactionAppends(tx).appendMany(requests));
  }

  override async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const scope = { active: true };
    try {
      return await this.running.run(scope, () => super.transaction(work));
    } finally {
      scope.active = false;
    }
  }

  /**
   * True inside the work of this store's transaction: an append of the store there would open
   * a transaction of its own, and wait for the running one forever, as the adapter says.
   */
  private insideTransaction(): boolean {
    return this.running.getStore()?.active === true;
  }

  /** Closes the underlying store (stop the projector first). */
  override close(): Promise<void> {
    return this.inner.close();
  }

  private hasInline(): boolean {
    return this.runtimes.some((r) => r.mayApplyInline());
  }

  /**
   * Appends of `tx` that also apply the inline projections to the appended events, in `tx`
   * ({@link EventStore.transaction} hands the work a transaction with these appends).
   */
  protected override transactionAppends(tx: Tx): AppendTarget {
    let state: InlineState<RM> | undefined;
    const begin = async (): Promise<InlineState<RM>> => {
      if (state) return state;
      const after = await this.projections.lockLog(tx);
      const records = await this.projections.buildsIn(
        tx,
        this.runtimes.map((r) => r.name),
      );
      const targets: InlineState<RM>['targets'] = [];
      for (const runtime of this.runtimes) {
        const target = await runtime.inlineTarget(tx, records, after);
        if (target) targets.push(target);
      }
      state = { after, targets };
      return state;
    };
    const appendAll = async (
      requests: readonly AppendRequest[],
      write: (withIds: AppendRequest[]) => Promise<AppendResult[]>,
    ): Promise<AppendResult[]> => {
      const current = await begin();
      // Ids are given here, so the events can be told apart from stored ones by id.
      const withIds = requests.map((r) => ({ ...r, events: withEventIds(r.events) }));
      const results = await write(withIds);
      if (current.targets.length === 0) return results;
      const appended = asGiven(
        withIds,
        await this.projections.appended(
          tx,
          current.after,
          withIds.map((r, i) => ({
            stream: r.stream,
            events: r.events,
            result: results[i] as AppendResult,
          })),
        ),
      );
      for (const event of appended) {
        if (event.position > current.after) current.after = event.position;
      }
      // Each read model gets the append's events in position order, in one call when its
      // definition has `applyBatch`; their document writes are held back and written out
      // together, one multi-row statement per collection, before the append can commit.
      let applied = false;
      for (const { record, definition } of current.targets) {
        const mine = appended.filter((event) => handlesEvent(definition, event));
        if (mine.length === 0) continue;
        applied = true;
        await applyInlineAll(
          definition,
          record,
          mine,
          this.projections.bind(tx, record, { buffered: true }),
          this.timeoutMs,
        );
      }
      if (applied) await this.projections.flush?.(tx);
      if (appended.length > 0) tx.onCommit(() => this.notifyAll());
      return results;
    };
    const append = async (
      stream: string,
      events: readonly EventInput[],
      options?: AppendOptions,
    ) => {
      const [result] = await appendAll(
        [
          {
            stream,
            events,
            ...(options?.expectedRevision === undefined
              ? {}
              : { expectedRevision: options.expectedRevision }),
          },
        ],
        async ([request]) => [await tx.append(stream, (request as AppendRequest).events, options)],
      );
      return result as AppendResult;
    };
    const appendMany = (requests: readonly AppendRequest[]) =>
      Array.isArray(requests) && requests.every(isObject)
        ? appendAll(requests, (withIds) => tx.appendMany(withIds))
        : tx.appendMany(requests);
    return { append, appendMany };
  }

  private notifyAll(): void {
    for (const runtime of this.runtimes) runtime.notify();
  }
}

/**
 * The appended events with their data as appended through this store: what a reader of the
 * store will see of them once committed. The projection store reads them back from the
 * database, where the layers under this store may keep the data otherwise (encrypted).
 */
function asGiven(requests: readonly AppendRequest[], events: RecordedEvent[]): RecordedEvent[] {
  const given = new Map<string, unknown>();
  for (const request of requests)
    for (const event of request.events)
      if (typeof event.id === 'string') given.set(event.id.toLowerCase(), event.data);
  return events.map((event) =>
    given.has(event.id) ? { ...event, data: decodeJson(encodeJson(given.get(event.id))) } : event,
  );
}

/** What a store append made inside the store's own transaction fails with, as on the adapter. */
function insideTransaction(operation: string): InvalidArgumentError {
  return new InvalidArgumentError(
    'call',
    `store.${operation}() inside a transaction of the same store would wait for that transaction forever; use tx.${operation}() instead`,
  );
}

/** The events, each with an id (a new UUIDv7 where none was given). Bad input passes as is. */
function withEventIds(events: readonly EventInput[]): readonly EventInput[] {
  if (!Array.isArray(events)) return events;
  return events.map((e: EventInput) =>
    typeof e === 'object' && e !== null && e.id === undefined ? { ...e, id: newId() } : e,
  );
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}
