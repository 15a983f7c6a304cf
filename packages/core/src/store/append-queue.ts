import type { AppendResult } from './event-store.js';
import type { PreparedAppend } from './validation.js';

/** The result of one unit of a batch: its results, or the error that failed it alone. */
export type UnitResult = AppendResult[] | Error;

/** Writes a batch of units in one transaction and reports each unit's fate. */
export type BatchWriter = (units: PreparedAppend[][]) => Promise<UnitResult[]>;

/** Options of an {@link AppendQueue}. */
export interface AppendQueueOptions {
  /** Most units written in one batch (default 256). */
  maxUnitsPerBatch?: number;
  /** Runs the flush of queued units (default `queueMicrotask`). */
  schedule?: (flush: () => void) => void;
  /**
   * Whether the error that failed a whole batch may be one unit's own doing (a trigger or
   * constraint of the database refusing its rows, say): the batch is then written again in
   * halves, down to the unit at fault, so only that unit fails. Default: never.
   */
  isolate?: (error: unknown) => boolean;
  /**
   * Runs after each batch is written, with the results of its units that were written: a promise that settles once the
   * batch is durable, when the write returned before it was (its flush runs in the
   * background), or undefined when it already is. The batch's callers hear of their results
   * only after it settles, and get its error if it fails (their own failures stay theirs);
   * meanwhile the next batch is written.
   */
  afterWrite?: (written: readonly AppendResult[][]) => Promise<void> | undefined;
}

interface Pending {
  unit: PreparedAppend[];
  resolve: (results: AppendResult[]) => void;
  reject: (error: unknown) => void;
}

/** A failure of a whole write, as each of its units meets it (it may not be an `Error`). */
class Thrown {
  constructor(readonly error: unknown) {}
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
 *
 * Sharing a commit must not mean sharing a failure. The writer reports a unit's own failures
 * (a conflict) as that unit's result; when the database fails the whole transaction for what
 * may be one unit's rows (see {@link AppendQueueOptions.isolate}), the units are written
 * again in order, in halves, until the failure is pinned on the units that cause it. Each
 * retry is a transaction of its own, committed before the next is planned, so later units
 * see earlier ones and positions stay gap-free and in order.
 */
export class AppendQueue {
  private pending: Pending[] = [];
  private flushing = false;
  /** Batches written whose durability is still awaited. */
  private awaiting = 0;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  private readonly maxUnitsPerBatch: number;
  private readonly schedule: (flush: () => void) => void;
  private readonly isolate: (error: unknown) => boolean;
  private readonly afterWrite: AppendQueueOptions['afterWrite'];

  constructor(
    private readonly write: BatchWriter,
    options: AppendQueueOptions = {},
  ) {
    this.maxUnitsPerBatch = options.maxUnitsPerBatch ?? 256;
    this.schedule = options.schedule ?? queueMicrotask;
    this.isolate = options.isolate ?? (() => false);
    this.afterWrite = options.afterWrite;
  }

  /** Queues one unit (an append, or an appendMany's parts) and resolves with its results. */
  enqueue(unit: PreparedAppend[]): Promise<AppendResult[]> {
    return new Promise<AppendResult[]>((resolve, reject) => {
      this.pending.push({ unit, resolve, reject });
      if (!this.flushing) {
        if (this.awaiting === 0) this.idle = new Promise((r) => (this.markIdle = r));
        this.flushing = true;
        this.schedule(() => void this.flush());
      }
    });
  }

  /** Resolves once everything queued so far has been written (or failed), and is durable. */
  drained(): Promise<void> {
    return this.flushing || this.awaiting > 0 ? this.idle : Promise.resolve();
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxUnitsPerBatch);
      const results = await this.settle(batch.map((p) => p.unit));
      let durable: Promise<void> | undefined;
      try {
        durable = this.afterWrite?.(results.filter((r): r is AppendResult[] => Array.isArray(r)));
      } catch (error) {
        // A hook that throws fails the batch's written units as a failed flush would.
        deliver(batch, results, { error });
        continue;
      }
      if (!durable) {
        deliver(batch, results);
        continue;
      }
      // Not awaited: the next batch is written while this one is flushed.
      this.awaiting += 1;
      durable
        .then(
          () => deliver(batch, results),
          (error: unknown) => deliver(batch, results, { error }),
        )
        .finally(() => {
          this.awaiting -= 1;
          if (this.awaiting === 0 && !this.flushing) this.markIdle();
        });
    }
    this.flushing = false;
    if (this.awaiting === 0) this.markIdle();
  }

  /** Writes `units`, isolating a failure of the whole write when it may be one unit's. */
  private async settle(units: PreparedAppend[][]): Promise<(UnitResult | Thrown | undefined)[]> {
    let failure: unknown;
    try {
      return await this.write(units);
    } catch (error) {
      failure = error;
    }
    let isolate = false;
    if (units.length > 1) {
      try {
        isolate = this.isolate(failure);
      } catch {
        // A predicate that fails cannot tell: the whole batch fails, as it did.
      }
    }
    if (!isolate) return units.map(() => new Thrown(failure));
    const half = Math.ceil(units.length / 2);
    const first = await this.settle(units.slice(0, half));
    const second = await this.settle(units.slice(half));
    return [...first, ...second];
  }
}

/**
 * Settles each caller of a batch with its result, or with `failure` (the batch's writes were
 * not made durable) when its unit was written.
 */
function deliver(
  batch: readonly Pending[],
  results: readonly (UnitResult | Thrown | undefined)[],
  failure?: { error: unknown },
): void {
  batch.forEach((p, i) => {
    const r = results[i];
    if (r instanceof Thrown) p.reject(r.error);
    else if (r instanceof Error) p.reject(r);
    else if (!r) p.reject(new Error('internal: batch writer returned no result for a unit'));
    else if (failure) p.reject(failure.error);
    else p.resolve(r);
  });
}
