import type { EventInput, RecordedEvent } from '../core/envelope.js';
import type { ExpectedRevisionValue } from '../core/errors.js';
import type { Clock } from '../core/clock.js';

/**
 * What an append expects of its stream:
 * - `'any'`: no check;
 * - `'no_stream'`: the stream has no events (never written, or soft-deleted);
 * - `'stream_exists'`: the stream has at least one visible event;
 * - a number: the revision of the stream's last event, exactly.
 */
export type ExpectedRevision = ExpectedRevisionValue;

/** Options of {@link EventStore.append}. */
export interface AppendOptions {
  /** Defaults to `'any'`. */
  expectedRevision?: ExpectedRevision;
}

/** One stream's part of {@link EventStore.appendMany}. */
export interface AppendRequest {
  stream: string;
  events: readonly EventInput[];
  expectedRevision?: ExpectedRevision;
}

/** Where an append put its last event. */
export interface AppendResult {
  stream: string;
  /** Revision of the last event appended (or, for an idempotent retry, of the stored one). */
  revision: number;
  /** Global position of that event. */
  position: number;
}

/** Options of {@link EventStore.readStream}. */
export interface ReadStreamOptions {
  /**
   * First revision to read (inclusive). Defaults to the start when reading forward and to
   * the end when reading backward; `'start'` and `'end'` may be given explicitly.
   */
  from?: number | 'start' | 'end';
  direction?: 'forward' | 'backward';
  /** Maximum number of events to yield. */
  limit?: number;
}

/** Which events of the global log to read. */
export interface ReadAllFilter {
  /** Only events of these types. */
  types?: readonly string[];
  /** Only events of streams whose name starts with this (a category such as `order-`). */
  streamPrefix?: string;
  /**
   * Only events of one hash partition of the streams: those whose stream name hashes to
   * `index` out of `count` (`partitionOf(stream, count) === index`, FNV-1a of the UTF-8 name).
   * Durable adapters filter in the database, on a hash stored with each event, so a consumer
   * group member reads only its own partitions' events.
   */
  partition?: StreamPartition;
}

/** One hash partition of the streams: see {@link ReadAllFilter.partition}. */
export interface StreamPartition {
  /** How many partitions the streams are split into (1 to 1,024). */
  count: number;
  /** Which of them (0 to `count - 1`). */
  index: number;
}

/** Options of {@link EventStore.readAll}. */
export interface ReadAllOptions {
  /**
   * First position to read (inclusive). Defaults to 1 (the start) forward and to the end
   * backward.
   */
  from?: number | 'start' | 'end';
  direction?: 'forward' | 'backward';
  filter?: ReadAllFilter;
  /** Maximum number of events to yield. */
  limit?: number;
}

/**
 * Per-stream settings honoured by `readStream` (and `streamInfo`), plus free user keys.
 * Like other event stores, the global log (`readAll`) keeps every event; these settings
 * shape what a stream read shows. The events they hide stay stored until a scavenge removes
 * them (see `Scavengeable`).
 */
export interface StreamMetadata {
  /** Show only the newest `maxCount` events. */
  maxCount?: number;
  /** Show only events recorded in the last `maxAge` seconds. */
  maxAge?: number;
  /** Hide events with a revision below this. Soft delete sets it. */
  truncateBefore?: number;
  [key: string]: unknown;
}

/** What {@link EventStore.streamInfo} reports. */
export interface StreamInfo {
  stream: string;
  /** True when the stream has events and is not deleted. */
  exists: boolean;
  /** Revision of the last event ever written to it, or `null` if none ever was. */
  revision: number | null;
  /** `'soft'` after a soft delete (until written again), `'hard'` after a tombstone. */
  deleted: false | 'soft' | 'hard';
  metadata: StreamMetadata;
}

/** Options of {@link EventStore.listStreams}. */
export interface ListStreamsOptions {
  /** Only streams whose name starts with this (e.g. a category `order-`). */
  prefix?: string;
  /** Continue after this stream name (exclusive): the last name of the previous page. */
  after?: string;
  /** At most this many streams. Default: all. */
  limit?: number;
  /** Also list soft-deleted and tombstoned streams. Default false. */
  includeDeleted?: boolean;
}

/** Options of {@link EventStore.countStreams}. */
export type CountStreamsOptions = Pick<ListStreamsOptions, 'prefix' | 'includeDeleted'>;

/** One stream as {@link EventStore.listStreams} reports it. */
export interface StreamSummary {
  stream: string;
  /** Revision of the stream's last event. */
  revision: number;
  /** Position of the stream's last event in the global log; 0 once a scavenge removed it. */
  lastPosition: number;
  deleted: false | 'soft' | 'hard';
}

/** Options of {@link EventStore.deleteStream}. */
export interface DeleteStreamOptions {
  expectedRevision?: ExpectedRevision;
  /**
   * `false` (default): soft delete; reads find nothing, and a later append revives the
   * stream, continuing its revisions. `true`: tombstone; every later write fails with
   * `StreamDeletedError`.
   */
  hard?: boolean;
}

/**
 * Told that events were committed. `position` is a hint: the highest position the store knows
 * to be committed when it calls, or 0 when it does not know (after reconnecting, say). A
 * listener must be quick and must not throw: it is called synchronously, right after a
 * commit. It is also called once when the store closes, so a reader waiting on it looks
 * again and finds the store closed.
 */
export type CommitListener = (position: number) => void;

/**
 * One unit of work on a store's database (see {@link EventStore.transaction}). What its work
 * writes, appends included, commits together or not at all. Each adapter's transaction adds
 * access to its database (`database` on SQLite, `client` on PostgreSQL), so components keeping
 * tables there (checkpoints, read models, parked events) write in the same commit.
 */
export interface StoreTransaction {
  /**
   * Appends inside the transaction, with the same checks and results as
   * {@link EventStore.append}; other readers see the events once the transaction commits.
   */
  append(
    stream: string,
    events: readonly EventInput[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /** {@link EventStore.appendMany}, inside the transaction. */
  appendMany(requests: readonly AppendRequest[]): Promise<AppendResult[]>;
  /**
   * Runs `callback` right after the transaction commits (never if it rolls back), in the
   * order registered. Meant for in-process effects that must follow the commit, such as
   * updating an in-memory read model. The commit stands even if a callback throws; the first
   * error is then thrown by `transaction()`.
   */
  onCommit(callback: () => void): void;
  /**
   * Runs `callback` once the commit is durable, after the {@link StoreTransaction.onCommit}
   * callbacks (never if the transaction rolls back or its commit cannot be made durable), in
   * the order registered. For most adapters that is right after them; a SQLite store that
   * flushes in the background (`backgroundFlush`) runs it once the flush ends, while others
   * may already read the commit. Meant for effects that leave the process on the strength of
   * the commit, such as waking a dispatcher that sends the commands it recorded. The first
   * error a callback throws is thrown by `transaction()`.
   */
  onDurable(callback: () => void): void;
  /** False once the transaction has ended; using it then throws. */
  readonly active: boolean;
}

/**
 * The event store port. Every adapter (memory, SQLite, PostgreSQL) implements it and passes
 * `src/testing/event-store.suite.ts`.
 *
 * @example
 * ```ts
 * const store = await openEventStore('sqlite:./data/events.db');
 * await store.append('order-42', [{ type: 'order.placed', data: { total: 10 } }], { expectedRevision: 'no_stream' });
 * for await (const event of store.readStream('order-42')) handle(event);
 * await store.close();
 * ```
 */
export interface EventStore {
  /**
   * Appends events to one stream, atomically, checking `expectedRevision`. Re-appending
   * events whose ids are already stored at the same place returns the original result.
   *
   * @throws WrongExpectedRevisionError, StreamDeletedError, InvalidStreamNameError,
   *   InvalidEventError, EmptyAppendError, NotJsonError, EventTooLargeError,
   *   DuplicateEventIdError, StoreClosedError
   */
  append(
    stream: string,
    events: readonly EventInput[],
    options?: AppendOptions,
  ): Promise<AppendResult>;

  /** Appends to several streams in one atomic step: every part is written, or none is. */
  appendMany(requests: readonly AppendRequest[]): Promise<AppendResult[]>;

  /**
   * Reads one stream in revision order, streamed in pages. A stream that does not exist
   * (or was soft-deleted) yields nothing; a tombstoned one throws `StreamDeletedError`.
   */
  readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;

  /**
   * Reads the global log in position order, streamed in pages. Events of tombstoned
   * (hard-deleted) streams are never returned. Positions may have gaps where a scavenge
   * removed events; they are never reused.
   */
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;

  /** Position of the last committed event (0 when the store is empty). */
  headPosition(): Promise<number>;

  streamInfo(stream: string): Promise<StreamInfo>;

  /**
   * Lists the streams that have events, ordered by name (Unicode code point order, the same
   * on every adapter), streamed in pages. Streams that only have metadata are not listed.
   *
   * @example
   * ```ts
   * for await (const s of store.listStreams({ prefix: 'order-', limit: 50 })) show(s.stream);
   * ```
   */
  listStreams(options?: ListStreamsOptions): AsyncIterable<StreamSummary>;

  /**
   * How many streams {@link EventStore.listStreams} would list with these options: exact, one
   * `COUNT` over the streams table on the durable adapters (an index range with a prefix).
   * Optional: without it, a caller counts by listing.
   *
   * @example
   * ```ts
   * const orders = await store.countStreams?.({ prefix: 'order-' });
   * ```
   */
  countStreams?(options?: CountStreamsOptions): Promise<number>;

  deleteStream(stream: string, options?: DeleteStreamOptions): Promise<void>;

  /** Replaces a stream's metadata. The stream need not have events yet. */
  setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void>;

  /**
   * Calls `listener` after events are committed, by this process or, on durable adapters,
   * by others (SQLite: by polling the head position; PostgreSQL: `LISTEN/NOTIFY`, polling
   * while the listening connection is down), until the returned function is called. Live
   * subscriptions wait on it instead of polling. Optional: a reader of a store without it
   * polls {@link EventStore.headPosition}.
   */
  watch?(listener: CommitListener): () => void;

  /**
   * Runs `work` in one transaction of the store's database and commits when it resolves;
   * rolls back, and rethrows, when it rejects. Appends through `tx` and every write made on
   * the adapter's own connection (`tx.database`, `tx.client`) commit together. Calling the
   * store's own write methods from inside `work` throws (use `tx`); reads see committed
   * events only. Optional: every Causeway adapter has it.
   *
   * @example
   * ```ts
   * await store.transaction(async (tx) => {
   *   await tx.append('order-42', [{ type: 'order.shipped', data: {} }], { expectedRevision: 3 });
   *   // ...and the same adapter's checkpoint or read-model writes, given `tx`
   * });
   * ```
   */
  transaction?<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>;

  /** Releases every connection and handle. Later calls fail with `StoreClosedError`. */
  close(): Promise<void>;

  /** True once `close()` has been called. */
  readonly isClosed: boolean;
}

/**
 * A store with both seams of the read side: notification of commits and units of work. Every
 * Causeway adapter is one; `Tx` is its transaction type.
 */
export interface TransactionalEventStore<
  Tx extends StoreTransaction = StoreTransaction,
> extends EventStore {
  watch(listener: CommitListener): () => void;
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}

/** Settings every adapter accepts. */
export interface EventStoreOptions {
  /** Largest accepted event (data plus metadata, as UTF-8 JSON), in bytes. Default 1 MiB. */
  maxEventBytes?: number;
  /** Source of `recordedAt` and of "now" for `maxAge`. Default: the system clock. */
  clock?: Clock;
}
