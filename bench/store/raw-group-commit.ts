import type { RawRow } from './plan.js';
import type { RawBaseline } from './raw-baseline.js';

/**
 * The raw baseline of the concurrent-writers workload: `writers` concurrent writers, each
 * writing its rows one at a time and waiting for each to be committed, as the store's
 * callers do. A hand-written group commit over the raw driver: whatever rows are waiting
 * when the previous commit ends go in together, in one transaction
 * (`insertInTransactionsOf`). This is the best a raw writer can do on one connection, and
 * on SQLite the only way: SQLite serialises writers, so 64 connections would take turns
 * committing one row each.
 *
 * Resolves when every writer's rows are committed; rejects with the first error (the other
 * writers are still left to finish, so nothing is writing when this settles).
 */
export async function groupCommitWriters(
  raw: RawBaseline,
  writers: readonly (readonly RawRow[])[],
): Promise<void> {
  const committer = new GroupCommitter(raw);
  const outcomes = await Promise.allSettled(
    writers.map(async (rows) => {
      for (const row of rows) await committer.write(row);
    }),
  );
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Commits the rows written while the previous commit was running, all in one transaction. */
class GroupCommitter {
  private queue: { row: RawRow; done: () => void; fail: (error: unknown) => void }[] = [];
  private committing = false;

  constructor(private readonly raw: RawBaseline) {}

  write(row: RawRow): Promise<void> {
    return new Promise((done, fail) => {
      this.queue.push({ row, done, fail });
      if (!this.committing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.committing = true;
    // Let every writer that is ready queue its row before the first commit.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.raw.insertInTransactionsOf(
          batch.map((b) => b.row),
          batch.length,
        );
        for (const b of batch) b.done();
      } catch (error) {
        for (const b of batch) b.fail(error);
      }
      // Writers whose row just committed queue their next one before the next commit.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.committing = false;
  }
}
