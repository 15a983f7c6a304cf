import type { AppendResult } from './event-store.js';
import type { PreparedAppend } from './validation.js';

/** The result of one unit of a batch: its results, or the error that failed it alone. */
export type UnitResult = AppendResult[] | Error;

/** Writes a batch of units in one transaction and reports each unit's fate. */
export type BatchWriter = (units: PreparedAppend[][]) => Promise<UnitResult[]>;

interface Pending {
  unit: PreparedAppend[];
  resolve: (results: AppendResult[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit. Appends arriving while a batch is being written wait and then go together
 * in the next batch, so N concurrent callers share one transaction and one fsync instead of
 * paying N. A lone caller is barely delayed: with nothing in flight its append is written
 * when `schedule` runs the flush — at the end of the current tick by default, which coalesces
 * appends issued in the same tick.
 *
 * A writer that commits synchronously (SQLite) blocks the event loop while it writes, so no
 * append can arrive during a batch; requests arriving from the network then come in one
 * I/O callback each, and a microtask flush would commit each alone. Such a writer schedules
 * with `setImmediate`, which runs after every I/O callback of the loop's poll phase: all of
 * them share one commit.
 */
export class AppendQueue {
  private pending: Pending[] = [];
  private flushing = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;

  constructor(
    private readonly write: BatchWriter,
    private readonly maxUnitsPerBatch = 256,
    private readonly schedule: (flush: () => void) => void = queueMicrotask,
  ) {}

  /** Queues one unit (an append, or an appendMany's parts) and resolves with its results. */
  enqueue(unit: PreparedAppend[]): Promise<AppendResult[]> {
    return new Promise<AppendResult[]>((resolve, reject) => {
      this.pending.push({ unit, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        this.idle = new Promise((r) => (this.markIdle = r));
        this.schedule(() => void this.flush());
      }
    });
  }

  /** Resolves once everything queued so far has been written (or failed). */
  drained(): Promise<void> {
    return this.flushing ? this.idle : Promise.resolve();
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxUnitsPerBatch);
      try {
        const results = await this.write(batch.map((p) => p.unit));
        batch.forEach((p, i) => {
          const r = results[i];
          if (r instanceof Error) p.reject(r);
          else if (r) p.resolve(r);
          else p.reject(new Error('internal: batch writer returned no result for a unit'));
        });
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    this.flushing = false;
    this.markIdle();
  }
}
