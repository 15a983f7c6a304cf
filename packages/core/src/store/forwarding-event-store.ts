import type { EventInput, RecordedEvent } from '../core/envelope.js';
import type {
  AppendOptions,
  AppendRequest,
  AppendResult,
  CommitListener,
  DeleteStreamOptions,
  CountStreamsOptions,
  ListStreamsOptions,
  ReadAllOptions,
  ReadStreamOptions,
  StoreTransaction,
  StreamInfo,
  StreamMetadata,
  StreamSummary,
  TransactionalEventStore,
} from './event-store.js';
import { StoreClosedError } from '../core/errors.js';
import { withMembers } from './with-members.js';
import {
  ScavengeUnsupportedError,
  isScavengeable,
  type ScavengeOptions,
  type ScavengeReport,
  type Scavengeable,
} from './scavenge.js';

/** What appends go to: a store, or a transaction of one. */
export type AppendTarget = Pick<StoreTransaction, 'append' | 'appendMany'>;

/**
 * The base of every store decorator (schemas, encryption, hash chain, tenant scope, tracing,
 * inline projections): it forwards every member of the event store port to `inner`,
 * `watch` and `transaction` included, so a decorator overrides only what it changes.
 *
 * Appends have one seam, {@link ForwardingEventStore.writeAppend} and
 * {@link ForwardingEventStore.writeAppendMany}: the store's own `append`/`appendMany` call
 * them with the inner store as the target, and a transaction's `tx.append`/`tx.appendMany`
 * call them with the inner transaction as the target. A decorator that overrides those two
 * hooks therefore treats an append inside a transaction exactly as one outside it. The
 * transaction handed to `work` is the adapter's own (`tx.database` on SQLite, `tx.client` on
 * PostgreSQL stay reachable), with only its appends routed through the decorator.
 *
 * @example
 * ```ts
 * class StampingStore<Tx extends StoreTransaction> extends ForwardingEventStore<Tx> {
 *   protected override writeAppend(to: AppendTarget, stream: string, events: readonly EventInput[], options?: AppendOptions) {
 *     return to.append(stream, events.map((e) => ({ ...e, metadata: { ...e.metadata, app: 'shop' } })), options);
 *   }
 * }
 * ```
 */
export abstract class ForwardingEventStore<Tx extends StoreTransaction = StoreTransaction>
  implements TransactionalEventStore<Tx>, Scavengeable
{
  protected constructor(
    /** The store this one decorates (the next layer down). */
    readonly inner: TransactionalEventStore<Tx>,
  ) {}

  get isClosed(): boolean {
    return this.inner.isClosed;
  }

  append(
    stream: string,
    events: readonly EventInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    return attempt(() => this.writeAppend(this.inner, stream, events, options));
  }

  appendMany(requests: readonly AppendRequest[]): Promise<AppendResult[]> {
    return attempt(() => this.writeAppendMany(this.inner, requests));
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

  /** The inner store's count, or a count by listing when it has none. */
  countStreams(options: CountStreamsOptions = {}): Promise<number> {
    if (this.inner.countStreams) return this.inner.countStreams(options);
    return countListed(this.listStreams(options));
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

  watch(listener: CommitListener): () => void {
    return this.inner.watch(listener);
  }

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    // Anything but a function goes as it is, for the adapter to refuse with its own error.
    if (typeof work !== 'function') return this.inner.transaction(work);
    return this.inner.transaction((tx) => work(this.decorateTransaction(tx)));
  }

  /**
   * Scavenges the store at the bottom of the stack (see `Scavengeable`): forwarded to `inner`,
   * or a `ScavengeUnsupportedError` when the adapter cannot scavenge.
   *
   * This is the hook of a decorator that keeps state tied to the events a scavenge removes
   * (the hash chain's start of a stream, say): it overrides `scavenge`, and may
   *
   * - before calling `super.scavenge(options)`, record for each stream what will be its first
   *   stored event (`hiddenEvents(state, metadata, now)` tells which revisions go), e.g. a
   *   signed new chain start, so verification never meets a stream without its anchor;
   * - wrap `options.onProgress`: each batch reports the `streams` it removed events from,
   *   once its transaction has committed;
   * - after it resolves, finish (every removed event is gone by then).
   *
   * A dry run (`options.dryRun`) removes nothing and should record nothing.
   *
   * @example
   * ```ts
   * class AnchoringStore<Tx extends StoreTransaction> extends ForwardingEventStore<Tx> {
   *   override async scavenge(options?: ScavengeOptions) {
   *     const report = await super.scavenge({
   *       ...options,
   *       onProgress: (p) => { for (const s of p.streams) this.moved.add(s); options?.onProgress?.(p); },
   *     });
   *     await this.reanchor(this.moved);
   *     return report;
   *   }
   * }
   * ```
   */
  scavenge(options?: ScavengeOptions): Promise<ScavengeReport> {
    // A view may be closed on its own (a tenant view): it refuses, as its other members do.
    if (this.isClosed) return Promise.reject(new StoreClosedError());
    const inner: unknown = this.inner;
    if (!isScavengeable(this.inner))
      return Promise.reject(new ScavengeUnsupportedError(describeStore(inner)));
    return attempt(() =>
      (this.inner as TransactionalEventStore<Tx> & Scavengeable).scavenge(options),
    );
  }

  /** Closes the decorated store. */
  close(): Promise<void> {
    return this.inner.close();
  }

  /** Writes one append to `to` (the inner store, or the inner transaction). Default: as given. */
  protected writeAppend(
    to: AppendTarget,
    stream: string,
    events: readonly EventInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    return to.append(stream, events, options);
  }

  /** Writes one multi-stream append to `to`. Default: as given. */
  protected writeAppendMany(
    to: AppendTarget,
    requests: readonly AppendRequest[],
  ): Promise<AppendResult[]> {
    return to.appendMany(requests);
  }

  /**
   * The appends of `tx` as this decorator makes them. Default: through
   * {@link ForwardingEventStore.writeAppend} and {@link ForwardingEventStore.writeAppendMany}
   * with `tx` as the target. A decorator that keeps per-transaction state overrides this.
   */
  protected transactionAppends(tx: Tx): AppendTarget {
    return {
      append: (stream, events, options) =>
        attempt(() => this.writeAppend(tx, stream, events, options)),
      appendMany: (requests) => attempt(() => this.writeAppendMany(tx, requests)),
    };
  }

  /** `tx` with its appends replaced by {@link ForwardingEventStore.transactionAppends}. */
  protected decorateTransaction(tx: Tx): Tx {
    return withAppends(tx, this.transactionAppends(tx));
  }
}

/**
 * `tx` with `append` and `appendMany` replaced; every other member (`database`, `client`,
 * `onCommit`, `active`, an adapter's own) is the transaction's own, bound to it, so private
 * state and getters keep working.
 */
export function withAppends<Tx extends StoreTransaction>(tx: Tx, appends: AppendTarget): Tx {
  return withMembers(tx, { append: appends.append, appendMany: appends.appendMany } as Partial<Tx>);
}

/**
 * The adapter's own store under any number of {@link ForwardingEventStore} layers: `store`
 * itself when it decorates nothing.
 */
export function undecorated<Tx extends StoreTransaction>(
  store: TransactionalEventStore<Tx>,
): TransactionalEventStore<Tx> {
  let inner = store;
  while (inner instanceof ForwardingEventStore) inner = inner.inner as TransactionalEventStore<Tx>;
  return inner;
}

/** A store's class name, for messages. */
function describeStore(store: unknown): string {
  let s = store;
  while (s instanceof ForwardingEventStore) s = s.inner;
  return (s as { constructor?: { name?: string } } | null)?.constructor?.name ?? 'given';
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

/** How many streams a listing yields. */
async function countListed(listing: AsyncIterable<StreamSummary>): Promise<number> {
  let count = 0;
  for await (const summary of listing) if (summary) count++;
  return count;
}
