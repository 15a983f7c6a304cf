import type { StoreTransaction } from '../store/event-store.js';
import type { MemoryEventStore } from '../store/memory-event-store.js';
import { afterCommit } from '../subscriptions/memory-checkpoint-store.js';
import { StreamJobFencedError } from './stream-errors.js';
import type { SourcePosition } from './stream-source.js';
import {
  assertCheckpointData,
  assertJobName,
  assertOwner,
  type StreamCheckpoint,
  type StreamCheckpointData,
  type StreamStateStore,
} from './stream-state-store.js';

/**
 * Stream checkpoints in process memory, beside a {@link MemoryEventStore}: a write given a
 * transaction applies when it commits. Lost with the process: for tests and demos.
 *
 * Fencing leans on the store's write lock, which a transaction holds from its start to its
 * end: a claim is made in a transaction, so it cannot fall between another transaction's
 * epoch check and its commit.
 */
export class MemoryStreamStateStore implements StreamStateStore {
  private readonly saved = new Map<string, StreamCheckpointData & { updatedAt: number }>();
  private readonly fences = new Map<string, { epoch: number; owner: string }>();

  constructor(
    readonly store: MemoryEventStore,
    private readonly now: () => number = Date.now,
  ) {}

  load(job: string): Promise<StreamCheckpoint | undefined> {
    return new Promise((resolve) => {
      assertJobName(job);
      const c = this.saved.get(job);
      resolve(
        c && {
          position: c.position,
          watermark: c.watermark,
          state: c.state,
          epoch: c.epoch,
          updatedAt: new Date(c.updatedAt),
        },
      );
    });
  }

  save(job: string, checkpoint: StreamCheckpointData, tx?: StoreTransaction): Promise<void> {
    return new Promise((resolve) => {
      assertJobName(job);
      assertCheckpointData(checkpoint);
      const epoch = checkpoint.epoch;
      if (epoch !== undefined) {
        const current = this.fences.get(job);
        if (current?.epoch !== epoch)
          throw new StreamJobFencedError(job, epoch, current && { ...current });
      }
      const copy = {
        position: checkpoint.position,
        watermark: checkpoint.watermark,
        state: checkpoint.state,
        epoch,
      };
      afterCommit(tx, () => this.saved.set(job, { ...copy, updatedAt: this.now() }));
      resolve();
    });
  }

  async claim(job: string, owner: string, tx?: StoreTransaction): Promise<number> {
    assertJobName(job);
    assertOwner(owner);
    // In a transaction of its own without `tx`: it then waits for the one in hand to end.
    if (!tx) return this.store.transaction((own) => this.claim(job, owner, own));
    const epoch = (this.fences.get(job)?.epoch ?? 0) + 1;
    tx.onCommit(() => this.fences.set(job, { epoch, owner }));
    return epoch;
  }

  delete(job: string, tx?: StoreTransaction): Promise<void> {
    return new Promise((resolve) => {
      assertJobName(job);
      afterCommit(tx, () => this.saved.delete(job));
      resolve();
    });
  }

  list(): Promise<
    {
      job: string;
      position: SourcePosition | undefined;
      watermark: number | null;
      bytes: number;
      updatedAt: Date;
    }[]
  > {
    return Promise.resolve(
      [...this.saved]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([job, c]) => ({
          job,
          position: c.position,
          watermark: c.watermark,
          bytes: Buffer.byteLength(c.state),
          updatedAt: new Date(c.updatedAt),
        })),
    );
  }
}

/**
 * Stream checkpoint storage in process memory, beside a {@link MemoryEventStore}.
 *
 * @example
 * ```ts
 * const store = new MemoryEventStore();
 * const job = new StreamJob({ name: 'demo', source: storeSource(store), checkpoints: memoryStreamStateStore(store) });
 * ```
 */
export function memoryStreamStateStore(
  store: MemoryEventStore,
  options: { now?: () => number } = {},
): StreamStateStore {
  return new MemoryStreamStateStore(store, options.now);
}
