/** What the store benchmark measures, per store: the five workloads and the raw baselines. */
export const WORKLOADS = ['sequential', 'batched', 'concurrent', 'readAll', 'readStream'] as const;
export const RAW_MEASURES = [
  'onePerTransaction',
  'transactionsOf100',
  'allInOneTransaction',
  'concurrentWriters',
  'selectAll',
  'selectStream',
  // Floors (informational, no bar): raw with the store's writes (PostgreSQL, workload 1) and
  // raw with encoding (SQLite, workload 2).
  'storeWritesPerRow',
  'transactionsOf100Encoding',
] as const;
export type MeasureId = (typeof WORKLOADS)[number] | (typeof RAW_MEASURES)[number];

/** The name under which raw-driver baselines are recorded. */
export const RAW = 'raw';

/** Per-run rates of one measurement of one store, and the errors of runs that failed. */
export interface Measured {
  /** Items per second by run number (1-based), for successful runs only. */
  rates: Record<number, number>;
  /** Error message by run number, for failed runs. */
  errors: Record<number, string>;
}

/** Collects rates run after run, by store name and measurement. */
export class Recorder {
  private readonly data = new Map<string, Map<MeasureId, Measured>>();

  /** Records the rate of a successful run. */
  record(store: string, measure: MeasureId, run: number, rate: number): void {
    this.entry(store, measure).rates[run] = rate;
  }

  /** Records a failed run. */
  fail(store: string, measure: MeasureId, run: number, error: unknown): void {
    const message = error instanceof Error ? error.message || error.name : String(error);
    this.entry(store, measure).errors[run] = message.split('\n')[0] ?? message;
  }

  /** Everything recorded, as plain data. */
  snapshot(): Record<string, Partial<Record<MeasureId, Measured>>> {
    const out: Record<string, Partial<Record<MeasureId, Measured>>> = {};
    for (const [store, measures] of this.data) out[store] = Object.fromEntries(measures);
    return out;
  }

  private entry(store: string, measure: MeasureId): Measured {
    let measures = this.data.get(store);
    if (!measures) this.data.set(store, (measures = new Map<MeasureId, Measured>()));
    let entry = measures.get(measure);
    if (!entry) measures.set(measure, (entry = { rates: {}, errors: {} }));
    return entry;
  }
}
