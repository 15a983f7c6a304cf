// The job the fencing tests run in several instances: counts readings per key in tumbling
// windows of 100 ms and appends one derived event per closed window, checkpointed with the
// appends in one transaction. Also: its input, its output as comparable text, one plain run
// of it as the reference, and a way to pause an instance just before one of its commits.
import {
  MemoryEventStore,
  StreamJob,
  collect,
  count,
  memoryStreamStateStore,
  storeSink,
  storeSource,
  tumbling,
  withMembers,
  type EventStore,
  type RecordedEvent,
  type StoreTransaction,
  type StreamJobOptions,
  type StreamStateStore,
  type TransactionalEventStore,
} from '@causewayjs/core';

const KEYS = 7;

/** The job's name: every instance shares it. */
export const JOB = 'reading-counts';

/** Appends `count` readings over 7 keys, slightly out of order (within 20 ms). */
export async function appendReadings(store: EventStore, count: number): Promise<void> {
  for (let i = 0; i < count; i += 10) {
    await store.appendMany(
      Array.from({ length: Math.min(10, count - i) }, (_, j) => {
        const n = i + j;
        return {
          stream: `sensor-${n % KEYS}`,
          events: [
            { type: 'reading.taken', data: { key: `k${n % KEYS}`, at: n * 7 - (n % 3) * 5 } },
          ],
        };
      }),
    );
  }
}

/**
 * One instance of the job, reading `store` to its head (not live) in batches of 10, each
 * batch one checkpoint.
 */
export function readingCountsJob<Tx extends StoreTransaction>(
  store: TransactionalEventStore<Tx>,
  checkpoints: StreamStateStore<Tx>,
  options: Partial<StreamJobOptions<RecordedEvent, Tx>> = {},
): StreamJob<RecordedEvent, Tx> {
  const job = new StreamJob<RecordedEvent, Tx>({
    name: JOB,
    source: storeSource(store, { filter: { types: ['reading.taken'] }, live: false }),
    timestamp: 'data.at',
    watermark: { outOfOrdernessMs: 20 },
    maxFutureMs: Number.POSITIVE_INFINITY,
    checkpoints,
    batchSize: 10,
    idleCheckIntervalMs: 0,
    ...options,
  });
  job.input
    .keyBy((e) => (e.data as { key: string }).key)
    .window(tumbling({ size: 100 }))
    .aggregate(count())
    .to(
      storeSink({
        store,
        stream: (r) => `reading-counts-${r.key}`,
        event: (r) => ({
          type: 'readings.counted',
          data: { key: r.key, start: r.window.start, count: r.value },
        }),
      }),
    );
  return job;
}

/** The derived events as `stream@revision data`, sorted: equal output, exactly once. */
export async function derivedEvents(store: EventStore): Promise<string[]> {
  const events = await collect(store.readAll({ filter: { types: ['readings.counted'] } }));
  return events.map((e) => `${e.stream}@${e.revision} ${JSON.stringify(e.data)}`).sort();
}

/** What one instance running alone over `readings` readings derives. */
export async function singleRun(readings: number): Promise<string[]> {
  const store = new MemoryEventStore();
  try {
    await appendReadings(store, readings);
    await readingCountsJob(store, memoryStreamStateStore(store)).run();
    return await derivedEvents(store);
  } finally {
    await store.close();
  }
}

/**
 * `states` with a pause before its store's `nth` transaction (the job's claim at start is its
 * first, then one per checkpoint): the instance has processed a batch and not committed it.
 */
export function pauseBeforeTransaction<Tx extends StoreTransaction>(
  states: StreamStateStore<Tx>,
  nth: number,
): { states: StreamStateStore<Tx>; paused: Promise<void>; resume: () => void } {
  let signalPaused: () => void = () => undefined;
  let resume: () => void = () => undefined;
  const paused = new Promise<void>((resolve) => (signalPaused = resolve));
  const resumed = new Promise<void>((resolve) => (resume = resolve));
  let started = 0;
  const inner = states.store;
  const store = withMembers(inner, {
    async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
      started++;
      if (started === nth) {
        signalPaused();
        await resumed;
      }
      return inner.transaction(work);
    },
  });
  return { states: withMembers(states, { store }), paused, resume };
}
