/** How much work each store workload does. */
export interface StoreSizes {
  /** Workload 1: sequential single-event appends, spread round-robin over `streams`. */
  sequential: { appends: number; streams: number };
  /** Workload 2: appends of `eventsPerAppend` events, each to a new stream. */
  batched: { appends: number; eventsPerAppend: number };
  /** Workload 3: `writers` concurrent writers, `appends` single-event appends in total. */
  concurrent: { writers: number; appends: number; streamsPerWriter: number };
  /** Workload 5: events in the stream read back whole (written in appends of 100). */
  longStream: number;
  /** Events generated for the bounded-memory read on SQLite. */
  memoryEvents: number;
}

/** The sizes of record. Workload 4 reads back workload 2's events. */
export const fullSizes: StoreSizes = {
  sequential: { appends: 10_000, streams: 1_000 },
  batched: { appends: 1_000, eventsPerAppend: 100 },
  concurrent: { writers: 64, appends: 20_000, streamsPerWriter: 4 },
  longStream: 10_000,
  memoryEvents: 1_000_000,
};

/** `--quick`: a tenth of the work or less, for trying changes (not for quoting). */
export const quickSizes: StoreSizes = {
  sequential: { appends: 600, streams: 100 },
  batched: { appends: 100, eventsPerAppend: 100 },
  concurrent: { writers: 64, appends: 2_000, streamsPerWriter: 4 },
  longStream: 2_000,
  memoryEvents: 50_000,
};
