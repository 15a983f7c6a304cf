import {
  StreamJob,
  arraySource,
  callbackSink,
  collectSink,
  type Stream,
  type StreamSource,
} from '@causewayjs/core';
import type { NexmarkEvent } from './model.js';
import { queries, type QueryName } from './queries.js';

/** Options of {@link runQuery}. */
export interface RunQueryOptions {
  /** Most events per batch (default 1,000). */
  batchSize?: number;
  /** Keep the results (default); false only counts them (for benchmarks). */
  collect?: boolean;
}

/**
 * Runs one Nexmark query over `events` (an array, or a source such as `nexmarkSource`; bounded:
 * every window fires at the end) and
 * returns its results (or only their count).
 *
 * @example
 * ```ts
 * const events = new NexmarkGenerator({ seed: 1 }).events(0, 100_000);
 * const { results } = await runQuery('q5', events);
 * ```
 */
export async function runQuery(
  name: QueryName,
  events: readonly NexmarkEvent[] | StreamSource<NexmarkEvent>,
  options: RunQueryOptions = {},
): Promise<{ results: unknown[]; count: number; late: number }> {
  const job = new StreamJob<NexmarkEvent>({
    name: `nexmark-${name}`,
    source: 'read' in events ? events : arraySource(events),
    timestamp: (e) => e.dateTime,
    batchSize: options.batchSize ?? 1000,
    maxFutureMs: Number.POSITIVE_INFINITY,
    idleCheckIntervalMs: 0,
  });
  const query = queries[name] as (input: Stream<NexmarkEvent>) => Stream<unknown>;
  const out = query(job.input);
  let count = 0;
  const kept = collectSink<unknown>();
  if (options.collect === false)
    out.to(
      callbackSink((items) => {
        count += items.length;
      }),
    );
  else out.to(kept);
  await job.run();
  return {
    results: kept.items,
    count: options.collect === false ? count : kept.items.length,
    late: job.status().late,
  };
}
