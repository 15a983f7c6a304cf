import type { RecordedEvent } from '../core/envelope.js';
import type { EventStore, ReadAllFilter } from '../store/event-store.js';
import { assertPartitionCount } from '../store/partition.js';
import { WakeSignal } from '../subscriptions/wake-signal.js';
import { partitionCheckpoints } from './partitioned-stream-job.js';
import { InvalidStreamDefinitionError } from './stream-errors.js';
import { storeSource, type SourceBatch, type StreamSource } from './stream-source.js';
import { END_OF_EVENT_TIME, type StreamStateStore } from './stream-state-store.js';

/** Options of {@link partitionedOutputSource}. */
export interface PartitionedOutputSourceOptions {
  /** The store the upstream job's sinks append to. */
  store: EventStore;
  /** The upstream job's derived events (their types or streams). */
  filter: ReadAllFilter;
  /** The upstream job's checkpoints (its backend's `streamStateStore()`). */
  checkpoints: Pick<StreamStateStore, 'list'>;
  /** The upstream partitioned job: its name and partition count. */
  upstream: { name: string; partitions: number };
  /**
   * True: end once every upstream partition has reached the end of event time and everything
   * it wrote has been read (for an upstream over a bounded source). Default false.
   */
  bounded?: boolean;
  /** How often to look for progress upstream, in ms (default 100). */
  pollIntervalMs?: number;
}

/**
 * The derived events of a partitioned job, read from the store as the input of a further
 * stage, with event time kept by the upstream partitions: the watermark is the lowest of
 * the watermarks their checkpoints committed. This is how a second keyed stage (a re-key, a
 * global top-N) follows a partitioned one: the upstream's results go through the store, like
 * Kafka Streams' repartition topics, and the watermark, like Flink's, is the minimum over
 * the input channels.
 *
 * The watermarks are read before the events, and a partition commits its results in the same
 * transaction as the checkpoint holding its watermark; so once a pass has read the store to
 * its end, everything stamped at or before that watermark has been read, and the watermark
 * is attached to the pass's last batch. An upstream result is stamped as its window's last
 * instant (`end - 1`): read the time with the job's `timestamp` option.
 *
 * @example
 * ```ts
 * const merged = new StreamJob({
 *   name: 'top-auctions',
 *   source: partitionedOutputSource({ store, checkpoints, filter: { types: ['auction.counted'] }, upstream: { name: 'bid-counts', partitions: 16 } }),
 *   timestamp: (e) => (e.data as { end: number }).end - 1,
 *   checkpoints,
 * });
 * ```
 */
export function partitionedOutputSource(
  options: PartitionedOutputSourceOptions,
): StreamSource<RecordedEvent> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidStreamDefinitionError(
      'partitionedOutputSource',
      'needs { store, filter, checkpoints, upstream }',
    );
  const { store, checkpoints, upstream } = options;
  if (typeof store?.readAll !== 'function')
    throw new InvalidStreamDefinitionError('store', 'must be an event store');
  if (typeof checkpoints?.list !== 'function')
    throw new InvalidStreamDefinitionError('checkpoints', 'must be stream state storage');
  if (typeof upstream?.name !== 'string')
    throw new InvalidStreamDefinitionError('upstream', 'must be { name, partitions }');
  assertPartitionCount(upstream.partitions, 'upstream.partitions');
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  const events = storeSource(store, { filter: options.filter, live: false });
  const watermark = async (): Promise<number> => {
    let low = Number.POSITIVE_INFINITY;
    for (const c of await partitionCheckpoints(checkpoints, upstream.name, upstream.partitions))
      low = Math.min(low, c.watermark ?? Number.NEGATIVE_INFINITY);
    return low;
  };
  return {
    bounded: options.bounded ?? false,
    watermarks: true,
    async *read({ after, batchSize, signal }) {
      let position = after;
      let sent = Number.NEGATIVE_INFINITY;
      const wake = new WakeSignal();
      const unwatch = store.watch ? store.watch(() => wake.set()) : undefined;
      const onAbort = () => wake.set();
      signal.addEventListener('abort', onAbort);
      try {
        while (!signal.aborted) {
          wake.reset();
          // First the watermark, then the events: all committed with it are read below.
          const wm = await watermark();
          let held: SourceBatch<RecordedEvent> | undefined;
          for await (const batch of events.read({ after: position, batchSize, signal })) {
            if (held) yield held;
            held = batch;
            position = batch.position;
          }
          if (signal.aborted) {
            if (held) yield held;
            return;
          }
          if (wm > sent) {
            sent = wm;
            held = { ...(held ?? { items: [], position }), watermark: wm };
          }
          if (held) yield held;
          if (options.bounded && wm >= END_OF_EVENT_TIME) return;
          // Watermarks move without events (a checkpoint alone): poll as well as watch.
          await wake.wait(pollIntervalMs);
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
        unwatch?.();
      }
    },
    head: async () => store.headPosition(),
  };
}
