import type { RecordedEvent } from '../core/envelope.js';
import { EventDecodeError } from '../core/errors.js';
import type { EventStore, ReadAllFilter } from '../store/event-store.js';
import { WakeSignal } from '../subscriptions/wake-signal.js';
import { InvalidStreamDefinitionError } from './stream-errors.js';

/** Where a source has got to: a store position, a bus sequence, an offset. */
export type SourcePosition = number | string;

/** Elements read together, and the position of the last of them. */
export interface SourceBatch<T> {
  items: readonly T[];
  /** Resume after this position; undefined if the source cannot resume. */
  position: SourcePosition | undefined;
  /**
   * Stored events the source passed over because they cannot be decoded (or decrypted), after
   * `items` and at or before `position`: the job refuses each as an invalid element of reason
   * `undecodable` instead of stopping. Only {@link storeSource} fills it.
   */
  undecodable?: readonly EventDecodeError[];
  /**
   * From a source that keeps event time itself ({@link StreamSource.watermarks}): the
   * watermark once this batch's elements are in. Every element still to come is later.
   */
  watermark?: number;
}

/** What a job passes to {@link StreamSource.read}. */
export interface SourceReadOptions {
  /** Resume after this position (from a checkpoint); undefined to read from the beginning. */
  after: SourcePosition | undefined;
  /** Most elements per batch. */
  batchSize: number;
  /** Aborted when the job stops: end the iteration then. */
  signal: AbortSignal;
}

/**
 * Any source of elements a stream job can read: the store, an async iterable, or anything a
 * bus consumer pushes into ({@link queueSource}). Positions let a checkpointed job resume
 * where it committed.
 */
export interface StreamSource<T> {
  /**
   * True when the source ends for good (a file, a generated set): at its end, the job moves
   * its watermark to +Infinity and every window fires, as Flink does for bounded input.
   * False for sources that may grow (a store, a bus): their end only means "caught up".
   */
  readonly bounded: boolean;
  /**
   * True when the source tells the job its watermark (`SourceBatch.watermark`) instead of the
   * job deriving one from its elements' times, as {@link partitionedOutputSource} does with
   * the watermarks its upstream partitions committed. The job's idle timeout then does not
   * apply. Default false.
   */
  readonly watermarks?: boolean;
  read(options: SourceReadOptions): AsyncIterable<SourceBatch<T>>;
  /** The position of the newest element available, for the job's lag. Optional. */
  head?(): Promise<SourcePosition | undefined>;
  /**
   * Told that the job committed (checkpointed) everything up to `position`: the moment a
   * source that acknowledges upstream (a bus consumer) may acknowledge it. Optional.
   */
  committed?(position: SourcePosition): void;
}

/**
 * An in-memory array as a bounded source; positions are element counts.
 *
 * @example
 * ```ts
 * const job = new StreamJob({ name: 'test', source: arraySource(events), timestamp: (e) => e.at });
 * ```
 */
export function arraySource<T>(items: readonly T[]): StreamSource<T> {
  if (!Array.isArray(items))
    throw new InvalidStreamDefinitionError('arraySource', 'needs an array');
  return {
    bounded: true,
    // An async generator for the AsyncIterable shape; it has nothing to wait for.
    // eslint-disable-next-line @typescript-eslint/require-await
    async *read({ after, batchSize, signal }) {
      let i = typeof after === 'number' ? after : 0;
      while (i < items.length && !signal.aborted) {
        const end = Math.min(items.length, i + batchSize);
        yield { items: items.slice(i, end), position: end };
        i = end;
      }
    },
    head: () => Promise.resolve(items.length),
  };
}

/**
 * An iterable or async iterable as a source; positions are element counts. Resuming skips
 * that many elements, which is right only for an iterable that replays the same elements.
 */
export function iterableSource<T>(
  iterable: Iterable<T> | AsyncIterable<T>,
  options: { bounded?: boolean } = {},
): StreamSource<T> {
  const isIterable =
    typeof iterable === 'object' &&
    iterable !== null &&
    (Symbol.asyncIterator in iterable || Symbol.iterator in iterable);
  if (!isIterable)
    throw new InvalidStreamDefinitionError('iterableSource', 'needs an iterable or async iterable');
  return {
    bounded: options.bounded ?? true,
    async *read({ after, batchSize, signal }) {
      const skip = typeof after === 'number' ? after : 0;
      let n = 0;
      let batch: T[] = [];
      for await (const item of iterable) {
        if (signal.aborted) return;
        n++;
        if (n <= skip) continue;
        batch.push(item);
        if (batch.length >= batchSize) {
          yield { items: batch, position: n };
          batch = [];
        }
      }
      if (batch.length > 0) yield { items: batch, position: n };
    },
  };
}

/** Options of {@link storeSource}. */
export interface StoreSourceOptions {
  /** Only these event types / streams (filtered by the store). */
  filter?: ReadAllFilter;
  /** Keep reading new events as they commit (default true); false ends at the head. */
  live?: boolean;
  /**
   * How often to look for new events when the store cannot be watched, in ms (default 200);
   * a watched store is woken by its commits.
   */
  pollIntervalMs?: number;
}

/**
 * The event store's global log as a source (positions are store positions). Live by default:
 * after catching up it waits for commits (`store.watch`) and reads on. A stored event that
 * cannot be decoded or decrypted is passed over and handed to the job as
 * {@link SourceBatch.undecodable}, which refuses it as invalid (reason `undecodable`).
 *
 * @example
 * ```ts
 * const job = new StreamJob({ name: 'sales', source: storeSource(store, { filter: { types: ['order.placed'] } }) });
 * ```
 */
export function storeSource(
  store: EventStore,
  options: StoreSourceOptions = {},
): StreamSource<RecordedEvent> {
  if (typeof store !== 'object' || store === null || typeof store.readAll !== 'function')
    throw new InvalidStreamDefinitionError('storeSource', 'needs an event store');
  const live = options.live ?? true;
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  return {
    bounded: false,
    async *read({ after, batchSize, signal }) {
      let from = (typeof after === 'number' ? after : 0) + 1;
      const wake = new WakeSignal();
      const unwatch = live && store.watch ? store.watch(() => wake.set()) : undefined;
      const onAbort = () => wake.set();
      signal.addEventListener('abort', onAbort);
      try {
        while (!signal.aborted) {
          wake.reset();
          // With a filter, the events it leaves out still move the position on: read the head
          // first, and once a read comes back short, everything up to that head was seen.
          const head = options.filter ? await store.headPosition() : 0;
          const items: RecordedEvent[] = [];
          // A stored event that cannot be decoded ends the read at its place: the batch is the
          // events before it, with it as `undecodable`, and the next read starts after it.
          let undecodable: EventDecodeError | undefined;
          try {
            for await (const e of store.readAll({ from, limit: batchSize, filter: options.filter }))
              items.push(e);
          } catch (error) {
            if (!(error instanceof EventDecodeError && error.position >= from)) throw error;
            undecodable = error;
          }
          if (undecodable) {
            from = undecodable.position + 1;
            yield { items, position: undecodable.position, undecodable: [undecodable] };
            continue;
          }
          let last =
            items.length > 0 ? (items[items.length - 1] as RecordedEvent).position : from - 1;
          if (items.length < batchSize && head > last) last = head;
          if (last >= from) {
            from = last + 1;
            yield { items, position: last };
            if (items.length > 0) continue;
          }
          if (items.length > 0) continue;
          if (!live) return;
          // A watched store wakes the reader on commits; the timeout is only a safety net.
          await wake.wait(store.watch ? Math.max(pollIntervalMs, 5_000) : pollIntervalMs);
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
        unwatch?.();
      }
    },
    head: async () => store.headPosition(),
  };
}

/** A source fed by pushes: what a bus consumer (or any callback API) hands to a job. */
export interface QueueSource<T> extends StreamSource<T> {
  /**
   * Adds elements, with the position of the last (for checkpoints). With a position, resolves
   * once the job has committed them (its checkpoint covers that position): acknowledge the
   * message upstream then, and a crash before it means redelivery, never loss. Without one,
   * resolves once the job has taken them. Either way a producer awaiting it is held back
   * (backpressure). A producer that awaits each push before the next needs the job's
   * default `checkpointEveryElements` of 1.
   */
  push(items: readonly T[], position?: SourcePosition): Promise<void>;
  /** No more elements: a bounded queue then ends the job's input. */
  end(): void;
  /**
   * Rejects every push not yet committed (when the job stops): their producers must not
   * acknowledge them, so they are delivered again.
   */
  abandon(reason: Error): void;
}

/**
 * A push-fed source, adapter-agnostic: a message-bus consumer calls `push` with what it
 * receives (and its sequence number as position), and acknowledges once `push` resolves.
 *
 * @example
 * ```ts
 * const source = queueSource<Message>();
 * bus.subscribe('orders', async (message) => source.push([message], message.sequence));
 * ```
 */
export function queueSource<T>(options: { bounded?: boolean } = {}): QueueSource<T> {
  const queue: {
    items: readonly T[];
    position: SourcePosition | undefined;
    taken: () => void;
    fail: (error: Error) => void;
  }[] = [];
  /** Entries taken into a batch, waiting for a checkpoint to cover their position. */
  const uncommitted: {
    position: SourcePosition;
    done: () => void;
    fail: (error: Error) => void;
  }[] = [];
  const wake = new WakeSignal();
  let ended = false;
  let last: SourcePosition | undefined;
  return {
    bounded: options.bounded ?? false,
    push(items, position) {
      if (ended)
        return Promise.reject(new InvalidStreamDefinitionError('queueSource', 'push after end()'));
      return new Promise<void>((resolve, reject) => {
        queue.push({ items, position, taken: resolve, fail: reject });
        if (position !== undefined) last = position;
        wake.set();
      });
    },
    end() {
      ended = true;
      wake.set();
    },
    abandon(reason) {
      for (const entry of queue.splice(0)) entry.fail(reason);
      for (const entry of uncommitted.splice(0)) entry.fail(reason);
    },
    async *read({ after, batchSize, signal }) {
      const onAbort = () => wake.set();
      signal.addEventListener('abort', onAbort);
      try {
        while (!signal.aborted) {
          wake.reset();
          const entry = queue.shift();
          if (entry) {
            // A position at or before the checkpoint was already processed: a redelivery.
            if (
              after !== undefined &&
              entry.position !== undefined &&
              typeof after === typeof entry.position &&
              entry.position <= after
            ) {
              entry.taken();
              continue;
            }
            if (entry.position === undefined) entry.taken();
            else
              uncommitted.push({ position: entry.position, done: entry.taken, fail: entry.fail });
            for (let i = 0; i < entry.items.length; i += batchSize)
              yield {
                items: entry.items.slice(i, i + batchSize),
                position: i + batchSize >= entry.items.length ? entry.position : undefined,
              };
            continue;
          }
          if (ended) return;
          await wake.wait(60_000);
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
    head: () => Promise.resolve(last),
    committed(position) {
      let kept = 0;
      for (const u of uncommitted) {
        if (typeof u.position === typeof position && u.position <= position) u.done();
        else uncommitted[kept++] = u;
      }
      uncommitted.length = kept;
    },
  };
}
