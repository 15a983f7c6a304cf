/** One timed measurement: how many items were processed in how long. */
export interface Sample {
  items: number;
  ms: number;
}

/**
 * Runs `work` once and measures it with the monotonic clock. `work` returns how many items
 * it processed (events written or read), so the rate is computed from what really happened.
 *
 * @example
 * ```ts
 * const sample = await measure(async () => { await writeAll(); return 10_000; });
 * perSecond(sample); // events/s
 * ```
 */
export async function measure(work: () => Promise<number> | number): Promise<Sample> {
  const start = performance.now();
  const items = await work();
  return { items, ms: performance.now() - start };
}

/** Items per second of a sample. */
export function perSecond(sample: Sample): number {
  return sample.ms > 0 ? (sample.items * 1000) / sample.ms : Number.POSITIVE_INFINITY;
}

/** The median (the mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Rates of several runs of one measurement, and their median. */
export interface RateSummary {
  /** Median items per second. */
  median: number;
  /** Items per second of each run, in run order. */
  runs: number[];
}

/** Summarises per-run rates. */
export function summarizeRates(rates: readonly number[]): RateSummary {
  return { median: median(rates), runs: [...rates] };
}
