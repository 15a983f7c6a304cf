import {
  MemoryEventStore,
  StreamJob,
  arraySource,
  collectSink,
  iterableSource,
  memoryStreamStateStore,
  type InvalidElement,
  type LateElement,
  type Stream,
  type StreamJobOptions,
  type TimedOutMatch,
} from '@causewayjs/core';

/** A test element: key, event time, value. */
export interface Tick {
  k: string;
  t: number;
  v: number;
}

/** Shorthand for a test element. */
export function tick(k: string, t: number, v = 1): Tick {
  return { k, t, v };
}

/**
 * Runs a dataflow over `items` (bounded: every window fires at the end) and returns what the
 * sink and the side outputs received.
 */
export async function runOver<T, R>(
  items: readonly T[],
  build: (input: Stream<T>) => Stream<R>,
  options: Partial<StreamJobOptions<T>> = {},
): Promise<{
  results: R[];
  late: LateElement[];
  invalid: InvalidElement[];
  timedOut: TimedOutMatch[];
  job: StreamJob<T>;
}> {
  const job = new StreamJob<T>({
    name: 'test',
    source: arraySource(items),
    timestamp: 't',
    maxFutureMs: Number.POSITIVE_INFINITY,
    batchSize: 3,
    idleCheckIntervalMs: 0,
    ...options,
  });
  const results = collectSink<R>();
  const late = collectSink<LateElement>();
  const invalid = collectSink<InvalidElement>();
  const timedOut = collectSink<TimedOutMatch>();
  build(job.input).to(results);
  job.late.to(late);
  job.invalid.to(invalid);
  job.timedOut.to(timedOut);
  await job.run();
  return {
    results: results.items,
    late: late.items,
    invalid: invalid.items,
    timedOut: timedOut.items,
    job,
  };
}

/** What {@link runInTwo} collects from its two runs. */
export interface RunOutput<R> {
  results: R[];
  late: LateElement[];
  timedOut: TimedOutMatch[];
}

/**
 * Runs a checkpointed dataflow over `items` in two jobs of one name: the first reads the
 * first `at` elements and stops (its source is not bounded: it is only caught up), the second
 * restores its checkpoint and reads the rest to the end. Returns what both committed.
 */
export async function runInTwo<T, R>(
  items: readonly T[],
  at: number,
  build: (input: Stream<T>) => Stream<R>,
  options: Partial<StreamJobOptions<T>> = {},
): Promise<RunOutput<R>> {
  const checkpoints = memoryStreamStateStore(new MemoryEventStore());
  const out: RunOutput<R> = { results: [], late: [], timedOut: [] };
  const sources = [iterableSource(items.slice(0, at), { bounded: false }), arraySource(items)];
  for (const source of sources) {
    const job = new StreamJob<T>({
      name: 'split',
      timestamp: 't',
      maxFutureMs: Number.POSITIVE_INFINITY,
      batchSize: 3,
      idleCheckIntervalMs: 0,
      ...options,
      source,
      checkpoints,
    });
    const results = collectSink<R>();
    const late = collectSink<LateElement>();
    const timedOut = collectSink<TimedOutMatch>();
    build(job.input).to(results);
    job.late.to(late);
    job.timedOut.to(timedOut);
    await job.run();
    out.results.push(...results.items);
    out.late.push(...late.items);
    out.timedOut.push(...timedOut.items);
  }
  return out;
}
