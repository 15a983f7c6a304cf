import type { EventInput, RecordedEvent } from '../core/envelope.js';
import type {
  AppendOptions,
  AppendRequest,
  AppendResult,
  CommitListener,
  DeleteStreamOptions,
  EventStore,
  ListStreamsOptions,
  ReadAllOptions,
  ReadStreamOptions,
  StoreTransaction,
  StreamInfo,
  StreamMetadata,
  StreamSummary,
} from '../store/event-store.js';

/**
 * An event store that hands every call to `inner`: the base of the security decorators, which
 * override the calls they change. `watch` and `transaction` exist when the inner store has
 * them; a transaction's appends go through {@link ForwardingEventStore.wrapTransaction}.
 */
export abstract class ForwardingEventStore implements EventStore {
  readonly watch?: (listener: CommitListener) => () => void;
  readonly transaction?: <T>(work: (tx: StoreTransaction) => Promise<T>) => Promise<T>;

  protected constructor(protected readonly inner: EventStore) {
    if (typeof inner.watch === 'function') {
      const watch = inner.watch.bind(inner);
      this.watch = (listener: CommitListener) => watch(listener);
    }
    if (typeof inner.transaction === 'function') {
      const transaction = inner.transaction.bind(inner);
      this.transaction = <T>(work: (tx: StoreTransaction) => Promise<T>) =>
        transaction((tx) => work(this.wrapTransaction(tx)));
    }
  }

  get isClosed(): boolean {
    return this.inner.isClosed;
  }

  append(
    stream: string,
    events: readonly EventInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    return this.inner.append(stream, events, options);
  }

  appendMany(requests: readonly AppendRequest[]): Promise<AppendResult[]> {
    return this.inner.appendMany(requests);
  }

  readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    return this.inner.readStream(stream, options);
  }

  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    return this.inner.readAll(options);
  }

  listStreams(options?: ListStreamsOptions): AsyncIterable<StreamSummary> {
    return this.inner.listStreams(options);
  }

  headPosition(): Promise<number> {
    return this.inner.headPosition();
  }

  streamInfo(stream: string): Promise<StreamInfo> {
    return this.inner.streamInfo(stream);
  }

  deleteStream(stream: string, options?: DeleteStreamOptions): Promise<void> {
    return this.inner.deleteStream(stream, options);
  }

  setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void> {
    return this.inner.setStreamMetadata(stream, metadata);
  }

  /** Closes the wrapped store. */
  close(): Promise<void> {
    return this.inner.close();
  }

  /** The transaction handed to `transaction`'s work; by default the inner one. */
  protected wrapTransaction(tx: StoreTransaction): StoreTransaction {
    return tx;
  }
}

/** Calls `work`, turning a synchronous throw into a rejection. */
export function attempt<T>(work: () => Promise<T>): Promise<T> {
  try {
    return work();
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/**
 * Whether a value typed as a list really is one (callers may pass anything at run time).
 * Unlike `Array.isArray`, it keeps the element type instead of narrowing to `any[]`.
 */
export function isList<T>(value: readonly T[]): boolean {
  return Array.isArray(value);
}
