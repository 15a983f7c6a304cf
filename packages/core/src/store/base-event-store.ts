import { AsyncLocalStorage } from 'node:async_hooks';
import type { RecordedEvent, EventInput } from '../core/envelope.js';
import { type Clock, systemClock } from '../core/clock.js';
import {
  CausewayError,
  ErrorCode,
  InvalidArgumentError,
  StoreClosedError,
} from '../core/errors.js';
import type {
  AppendOptions,
  AppendRequest,
  AppendResult,
  CommitListener,
  CountStreamsOptions,
  DeleteStreamOptions,
  EventStoreOptions,
  ListStreamsOptions,
  ReadAllOptions,
  ReadStreamOptions,
  StoreTransaction,
  StreamInfo,
  StreamMetadata,
  StreamSummary,
  TransactionalEventStore,
} from './event-store.js';
import { deletedLabel, type StreamState } from './append-plan.js';
import { AppendQueue, type UnitResult } from './append-queue.js';
import type { BaseStoreTransaction } from './store-transaction.js';
import {
  MAX_PAGE_SIZE,
  allWindow,
  checkListStreams,
  checkReadStream,
  pagedIterable,
  streamWindow,
  type AllWindow,
  type StreamWindow,
  type StreamsQuery,
} from './reading.js';
import {
  DEFAULT_MAX_EVENT_BYTES,
  assertStreamName,
  prepareAppend,
  prepareAppendMany,
  prepareStreamMetadata,
  type PreparedAppend,
} from './validation.js';
import type { WriteLock } from './write-lock.js';
import {
  runScavenge,
  scavengeSettings,
  type ScavengeIo,
  type ScavengeOptions,
  type ScavengeReport,
} from './scavenge.js';

/** A stream's stored row, as adapters load it. */
export interface StoredStream {
  state: StreamState;
  metadata: StreamMetadata;
}

/** Marks the async context of a running transaction, to refuse the store's own writes in it. */
interface TransactionScope {
  store: object;
  active: boolean;
}

const transactionScope = new AsyncLocalStorage<TransactionScope>();

/**
 * The part of every adapter that is not about its database: argument checking, group commit,
 * paging, commit notification, the transaction frame and the closed state. Adapters supply
 * the storage primitives.
 */
export abstract class BaseEventStore<
  Tx extends StoreTransaction = StoreTransaction,
> implements TransactionalEventStore<Tx> {
  protected readonly clock: Clock;
  protected readonly maxEventBytes: number;
  private closed = false;
  private readonly queue: AppendQueue;
  private readonly watchers = new Set<CommitListener>();
  private openTransactions = 0;
  /** Highest position passed to watchers so far. */
  protected notifiedPosition = 0;
  /**
   * Largest page a streamed read fetches. Larger pages save round trips to a server; an
   * in-process database has none to save, and a large page costs there instead: its events
   * all stay alive until iterated, long enough to outlive a young-generation collection.
   */
  protected readonly maxReadPageSize: number = MAX_PAGE_SIZE;

  /**
   * @param writeLock for adapters whose connection cannot run two write transactions at
   *   once: held around every write and around each whole transaction.
   */
  protected constructor(
    options: EventStoreOptions = {},
    private readonly writeLock?: WriteLock,
  ) {
    this.clock = options.clock ?? systemClock;
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.queue = new AppendQueue((units) => this.exclusive(() => this.writeBatch(units)), {
      schedule: (flush) => this.scheduleFlush(flush),
      isolate: (error) => this.isolatesFailure(error),
      afterWrite: (written) => this.afterAppend(written),
    });
  }

  /**
   * Whether an error that failed a whole batch of appends (thrown by `writeBatch`) may be
   * the doing of one of them: the batch is then written again without it (see
   * `AppendQueue`), so the others do not fail with it. True for `WRITE_REJECTED` (a trigger
   * or constraint of the database refused rows) and `STORAGE_FULL` (one large append may not
   * fit where the others do); an adapter maps its driver's errors to these codes.
   */
  protected isolatesFailure(error: unknown): boolean {
    return (
      error instanceof CausewayError &&
      (error.code === ErrorCode.WRITE_REJECTED || error.code === ErrorCode.STORAGE_FULL)
    );
  }

  /**
   * When queued appends are written (see `AppendQueue`): at the end of the current tick by
   * default. An adapter whose commits are synchronous overrides this with `setImmediate`.
   */
  protected scheduleFlush(flush: () => void): void {
    queueMicrotask(flush);
  }

  /**
   * Called after each commit of this store's appends and transactions (`tx`: the transaction
   * committed, for a transaction): a promise that settles
   * once the commit is durable, when the adapter's commits return before they are (it flushes
   * them in the background), rejecting if it cannot make them durable; undefined when commits
   * are durable as they return (the default). Appends and transactions resolve, and watchers
   * hear of their commits, only once it settles; the next commit does not wait for it.
   */
  protected durable(tx?: BaseStoreTransaction): Promise<void> | undefined {
    void tx;
    return undefined;
  }

  /**
   * Why this store takes no more writes, or undefined while it does: checked by every write
   * (appends, transactions, deletes, `withWriteLock`) once it holds the write lock. An adapter
   * whose flush failed returns that failure (see `durable`).
   */
  protected writeRefusal(): Error | undefined {
    return undefined;
  }

  /**
   * Writes a batch of units in one transaction (see `planAppends`). A unit's own failure (a
   * conflict) is its result; a failure of the transaction is thrown, mapped to a Causeway
   * error (see `BaseEventStore.isolatesFailure`).
   */
  protected abstract writeBatch(units: PreparedAppend[][]): Promise<UnitResult[]>;
  /** Loads a stream's row, or undefined if it has none. */
  protected abstract loadStream(stream: string): Promise<StoredStream | undefined>;
  /** One page of a stream read, starting at revision `next` (see {@link StreamWindow}). */
  protected abstract fetchStreamPage(
    stream: string,
    window: StreamWindow,
    next: number,
    size: number,
  ): Promise<RecordedEvent[]>;
  /** One page of the global log, starting at position `next`. */
  protected abstract fetchAllPage(
    window: AllWindow,
    next: number,
    size: number,
  ): Promise<RecordedEvent[]>;
  /** Up to `size` streams of `query`, ordered by name in code point order. */
  protected abstract fetchStreamsPage(query: StreamsQuery, size: number): Promise<StreamSummary[]>;
  /**
   * How many streams `query` (without `after`) matches. This default counts page by page;
   * adapters override it with one `COUNT`.
   */
  protected async fetchStreamCount(query: StreamsQuery): Promise<number> {
    let count = 0;
    let after: string | undefined;
    for (;;) {
      const page = await this.fetchStreamsPage({ ...query, after }, 1000);
      count += page.length;
      const last = page[page.length - 1];
      if (!last || page.length < 1000) return count;
      after = last.stream;
    }
  }
  protected abstract deleteStreamNow(stream: string, options: DeleteStreamOptions): Promise<void>;
  protected abstract setStreamMetadataNow(stream: string, metadataJson: string): Promise<void>;
  protected abstract readHeadPosition(): Promise<number>;
  protected abstract release(): Promise<void>;
  /**
   * Runs `work` in a database transaction and commits it, or rolls back and rethrows. Called
   * holding the write lock (if any). The adapter ends `tx` before committing; the caller
   * notifies watchers and runs the commit callbacks.
   */
  protected abstract runTransaction<T>(
    work: (tx: Tx) => Promise<T>,
  ): Promise<{ result: T; tx: BaseStoreTransaction }>;
  /** First watcher arrived: start listening to other processes' commits (if the adapter can). */
  protected startWatching(): void {}
  /** Last watcher left, or the store is closing: stop listening. */
  protected stopWatching(): Promise<void> | void {}

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  protected assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  async append(
    stream: string,
    events: readonly EventInput[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.assertOpen();
    if (this.openTransactions > 0) this.assertOutsideTransaction('append', 'tx.append');
    const prepared = prepareAppend(
      stream,
      events,
      options.expectedRevision === undefined ? 'any' : options.expectedRevision,
      this.maxEventBytes,
    );
    const [result] = await this.queue.enqueue([prepared]);
    if (!result) throw new Error('internal: append produced no result');
    return result;
  }

  async appendMany(requests: readonly AppendRequest[]): Promise<AppendResult[]> {
    this.assertOpen();
    if (this.openTransactions > 0) this.assertOutsideTransaction('appendMany', 'tx.appendMany');
    return this.queue.enqueue(prepareAppendMany(requests, this.maxEventBytes));
  }

  readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    this.assertOpen();
    checkReadStream(stream, options);
    return pagedIterable(
      options.limit ?? Number.MAX_SAFE_INTEGER,
      () => {
        let window: StreamWindow | undefined;
        let next = 0;
        let loaded = false;
        return async (size) => {
          this.assertOpen();
          if (!loaded) {
            loaded = true;
            const row = await this.loadStream(stream);
            window = streamWindow(
              stream,
              row?.state,
              row?.metadata ?? {},
              options,
              this.clock.now(),
            );
            if (window) next = window.start;
          }
          // Not an integer: the last page ended on a row whose revision could not be decoded.
          if (
            !window ||
            !Number.isSafeInteger(next) ||
            (window.forward ? next > Number.MAX_SAFE_INTEGER : next < window.lowest)
          )
            return [];
          const page = await this.fetchStreamPage(stream, window, next, size);
          const last = page[page.length - 1];
          if (last) next = window.forward ? last.revision + 1 : last.revision - 1;
          return page;
        };
      },
      this.maxReadPageSize,
    );
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    this.assertOpen();
    const window = allWindow(options);
    return pagedIterable(
      window.limit,
      () => {
        let next = window.start;
        return async (size) => {
          if (window.forward ? next > Number.MAX_SAFE_INTEGER - 1 : next < 1) return [];
          this.assertOpen();
          const page = await this.fetchAllPage(window, next, size);
          const last = page[page.length - 1];
          if (last) next = window.forward ? last.position + 1 : last.position - 1;
          return page;
        };
      },
      this.maxReadPageSize,
    );
  }

  async headPosition(): Promise<number> {
    this.assertOpen();
    return this.readHeadPosition();
  }

  async streamInfo(stream: string): Promise<StreamInfo> {
    this.assertOpen();
    assertStreamName(stream);
    const row = await this.loadStream(stream);
    const revision = row && row.state.revision >= 0 ? row.state.revision : null;
    const deleted = row ? deletedLabel(row.state.deleted) : false;
    return {
      stream,
      exists: revision !== null && deleted === false,
      revision,
      deleted,
      metadata: row?.metadata ?? {},
    };
  }

  listStreams(options: ListStreamsOptions = {}): AsyncIterable<StreamSummary> {
    this.assertOpen();
    const query = checkListStreams(options);
    return pagedIterable(options.limit ?? Number.MAX_SAFE_INTEGER, () => {
      let after = query.after;
      return async (size) => {
        this.assertOpen();
        const page = await this.fetchStreamsPage({ ...query, after }, size);
        const last = page[page.length - 1];
        if (last) after = last.stream;
        return page;
      };
    });
  }

  countStreams(options: CountStreamsOptions = {}): Promise<number> {
    this.assertOpen();
    const query = checkListStreams({
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      ...(options.includeDeleted === undefined ? {} : { includeDeleted: options.includeDeleted }),
    });
    return this.fetchStreamCount({ ...query, after: undefined });
  }

  async deleteStream(stream: string, options: DeleteStreamOptions = {}): Promise<void> {
    this.assertOpen();
    if (this.openTransactions > 0) this.assertOutsideTransaction('deleteStream');
    assertStreamName(stream);
    // Deletes wait for queued appends so they apply in the order they were called.
    await this.queue.drained();
    await this.exclusive(() => this.deleteStreamNow(stream, options));
  }

  async setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void> {
    this.assertOpen();
    if (this.openTransactions > 0) this.assertOutsideTransaction('setStreamMetadata');
    assertStreamName(stream);
    const json = prepareStreamMetadata(metadata);
    await this.queue.drained();
    await this.exclusive(() => this.setStreamMetadataNow(stream, json));
  }

  /**
   * The scavenge frame for adapters that offer `scavenge()` (see `Scavengeable`): checks the
   * options and the state, waits for queued appends, then runs the batches of `io`, each
   * holding the write lock (if any) only for its own transaction, so appends interleave.
   */
  protected async scavengeWith(
    io: ScavengeIo,
    options: ScavengeOptions | undefined,
  ): Promise<ScavengeReport> {
    this.assertOpen();
    if (this.openTransactions > 0) this.assertOutsideTransaction('scavenge');
    const settings = scavengeSettings(options);
    await this.queue.drained();
    return runScavenge(io, settings, {
      now: this.clock.now(),
      runBatch: (work) => {
        this.assertOpen();
        return this.exclusive(work);
      },
    });
  }

  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    this.assertOpen();
    if (this.openTransactions > 0) this.assertOutsideTransaction('transaction');
    if (typeof work !== 'function')
      throw new InvalidArgumentError('work', 'transaction needs a function (tx) => Promise');
    const scope: TransactionScope = { store: this, active: true };
    const outcome = await this.exclusive(async () => {
      this.openTransactions += 1;
      let done: { result: T; tx: BaseStoreTransaction };
      try {
        done = await transactionScope.run(scope, () => this.runTransaction(work));
      } finally {
        scope.active = false;
        this.openTransactions -= 1;
      }
      // The commit callbacks run before the write lock passes to the next transaction:
      // in-memory components apply their writes in them, and the next transaction must read
      // those writes, not the state before them (else it overwrites them).
      try {
        done.tx.committed();
        return { ...done, failure: undefined };
      } catch (error) {
        return { ...done, failure: { error } };
      }
    });
    const { result, tx } = outcome;
    let failure = outcome.failure;
    // Outside the write lock: the next transaction or batch commits while this one is flushed.
    const durable = this.durable(tx);
    if (durable) await durable;
    // Unless already reported: a commit listener may hear of this commit (or of a later one)
    // before this line runs, and positions commit in order, so watchers have nothing new.
    if (tx.lastPosition > this.notifiedPosition && this.watchers.size > 0)
      this.notifyCommitted(tx.lastPosition);
    try {
      tx.madeDurable();
    } catch (error) {
      failure ??= { error };
    }
    if (failure) throw failure.error;
    return result;
  }

  watch(listener: CommitListener): () => void {
    this.assertOpen();
    if (typeof listener !== 'function')
      throw new InvalidArgumentError('listener', 'watch needs a function (position) => void');
    // Wrapped, so one function watching twice is two independent registrations.
    const entry: CommitListener = (position) => listener(position);
    this.watchers.add(entry);
    if (this.watchers.size === 1) this.startWatching();
    return () => {
      if (this.watchers.delete(entry) && this.watchers.size === 0 && !this.closed)
        void this.stopWatching();
    };
  }

  /** Tells the watchers that events up to `position` (0: unknown) are committed. */
  protected notifyCommitted(position: number): void {
    if (position > this.notifiedPosition) this.notifiedPosition = position;
    for (const watcher of [...this.watchers]) {
      try {
        watcher(position);
      } catch {
        // A watcher's failure is its own; it must not fail the commit that was reported.
      }
    }
  }

  /** True while at least one watcher is registered. */
  protected get watched(): boolean {
    return this.watchers.size > 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.drained();
    if (this.watchers.size > 0) {
      await this.stopWatching();
      this.notifyCommitted(0);
      this.watchers.clear();
    }
    // Waits for a running transaction to end before the connection goes away.
    await this.exclusive(() => this.release(), false);
  }

  /** After a batch of appends is written: waits for it to be durable, then tells watchers. */
  private afterAppend(written: readonly AppendResult[][]): Promise<void> | undefined {
    let head = 0;
    for (const r of written) for (const a of r) if (a.position > head) head = a.position;
    if (head === 0) return undefined;
    const durable = this.durable();
    if (!durable) {
      this.reportAppended(head);
      return undefined;
    }
    return durable.then(() => this.reportAppended(head));
  }

  private reportAppended(head: number): void {
    // As for transactions: a commit listener may have reported this commit, or a later one.
    if (this.watchers.size > 0 && head > this.notifiedPosition) this.notifyCommitted(head);
  }

  /**
   * Runs `work` while none of this store's appends, deletes or transactions is writing. For
   * Causeway components that write to the store's own database outside its transactions
   * (snapshots and schema storage on SQLite), so they never meet a busy database file.
   */
  async withWriteLock<T>(work: () => T | Promise<T>): Promise<T> {
    this.assertOpen();
    return this.exclusive(async () => work());
  }

  /** Runs a write holding the write lock, when the adapter has one. */
  private exclusive<T>(work: () => Promise<T>, writes = true): Promise<T> {
    const guarded = writes
      ? () => {
          const refusal = this.writeRefusal();
          return refusal ? Promise.reject(refusal) : work();
        }
      : work;
    return this.writeLock ? this.writeLock.run(guarded) : guarded();
  }

  /** True when the caller runs inside the work of an open transaction of this store. */
  protected insideTransaction(): boolean {
    const scope = transactionScope.getStore();
    return scope?.store === this && scope.active;
  }

  /**
   * The store's own writes wait for a running transaction (SQLite, memory) or for its locks
   * (PostgreSQL), so one called from inside a transaction's work would never finish.
   */
  private assertOutsideTransaction(operation: string, instead?: string): void {
    const scope = transactionScope.getStore();
    if (scope?.store === this && scope.active) {
      throw new InvalidArgumentError(
        'call',
        `store.${operation}() inside a transaction of the same store would wait for that transaction forever; ${instead ? `use ${instead}() instead` : 'do it outside the transaction'}`,
      );
    }
  }
}
