import type { EventInput } from '../core/envelope.js';
import type { EventStore, StoreTransaction } from '../store/event-store.js';
import { currentTraceContext } from '../observability/tracing.js';
import { InvalidStreamDefinitionError } from './stream-errors.js';

/** What a sink is given with each flush. */
export interface SinkContext<Tx extends StoreTransaction = StoreTransaction> {
  /**
   * The checkpoint's transaction, when the job checkpoints: writes made through it commit
   * together with the job's state and source position (exactly-once), or not at all.
   */
  tx: Tx | undefined;
  /** The job's name. */
  job: string;
}

/**
 * Where a dataflow's results go. `write` gets each checkpoint's results (inside its
 * transaction when the job checkpoints); `committed` is called once they committed.
 */
export interface StreamSink<T, Tx extends StoreTransaction = StoreTransaction> {
  write?(items: readonly T[], ctx: SinkContext<Tx>): Promise<void> | void;
  committed?(items: readonly T[]): void;
}

/** A sink that keeps every committed result in memory, in order (`items`). */
export interface CollectSink<T> extends StreamSink<T> {
  readonly items: T[];
  /** Forgets what was collected. */
  clear(): void;
}

/**
 * Collects results in memory once they are committed: for tests, dashboards and demos.
 *
 * @example
 * ```ts
 * const totals = collectSink<WindowResult<string, number>>();
 * keyed.window(tumbling({ size: 60_000 })).aggregate(count()).to(totals);
 * ```
 */
export function collectSink<T>(): CollectSink<T> {
  const items: T[] = [];
  return {
    items,
    committed(batch) {
      for (const item of batch) items.push(item);
    },
    clear() {
      items.length = 0;
    },
  };
}

/**
 * Calls `write` with each checkpoint's results, inside the checkpoint's transaction when the
 * job has one (so database writes through `ctx.tx` are exactly-once).
 */
export function callbackSink<T, Tx extends StoreTransaction = StoreTransaction>(
  write: (items: readonly T[], ctx: SinkContext<Tx>) => Promise<void> | void,
): StreamSink<T, Tx> {
  if (typeof write !== 'function')
    throw new InvalidStreamDefinitionError('callbackSink', 'needs a function (items, ctx)');
  return { write };
}

/** Options of {@link storeSink}. */
export interface StoreSinkOptions<T> {
  /** The store to append to when the job does not checkpoint (otherwise the transaction's). */
  store: EventStore;
  /** The stream each result is appended to. */
  stream: (result: T) => string;
  /** The event each result becomes. */
  event: (result: T) => EventInput;
}

/**
 * Appends results to the event store as derived events. With checkpoints, the appends and
 * the checkpoint commit in one transaction: a job killed and restarted writes each derived
 * event exactly once. The current trace context goes into metadata `traceparent`.
 *
 * @example
 * ```ts
 * results.to(storeSink({ store, stream: (r) => `sales-${r.key}`, event: (r) => ({ type: 'sales.counted', data: r }) }));
 * ```
 */
export function storeSink<T>(options: StoreSinkOptions<T>): StreamSink<T> {
  if (typeof options?.stream !== 'function' || typeof options.event !== 'function')
    throw new InvalidStreamDefinitionError(
      'storeSink',
      'needs { store, stream(result), event(result) }',
    );
  return {
    async write(items, { tx }) {
      if (items.length === 0) return;
      const trace = currentTraceContext();
      const byStream = new Map<string, EventInput[]>();
      for (const item of items) {
        const stream = options.stream(item);
        let event = options.event(item);
        if (trace.traceparent !== undefined && event.metadata?.traceparent === undefined)
          event = { ...event, metadata: { ...event.metadata, ...trace } };
        let list = byStream.get(stream);
        if (!list) byStream.set(stream, (list = []));
        list.push(event);
      }
      const requests = [...byStream].map(([stream, events]) => ({ stream, events }));
      if (tx) await tx.appendMany(requests);
      else await options.store.appendMany(requests);
    },
  };
}
