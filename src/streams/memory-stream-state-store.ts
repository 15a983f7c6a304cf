import type { StoreTransaction } from '../store/event-store.js';
import type { MemoryEventStore } from '../store/memory-event-store.js';
import { afterCommit } from '../subscriptions/memory-checkpoint-store.js';
import type { SourcePosition } from './stream-source.js';
import {
  assertCheckpointData,
  assertJobName,
  type StreamCheckpoint,
  type StreamCheckpointData,
  type StreamStateStore,
} from './stream-state-store.js';

/**
 * Stream checkpoints in process memory, beside a {@link MemoryEventStore}: a write given a
 * transaction applies when it commits. Lost with the process: for tests and demos.
 */
export class MemoryStreamStateStore implements StreamStateStore {
  private readonly saved = new Map<string, StreamCheckpointData & { updatedAt: number }>();

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
          updatedAt: new Date(c.updatedAt),
        },
      );
    });
  }

  save(job: string, checkpoint: StreamCheckpointData, tx?: StoreTransaction): Promise<void> {
    return new Promise((resolve) => {
      assertJobName(job);
      assertCheckpointData(checkpoint);
      const copy = {
        position: checkpoint.position,
        watermark: checkpoint.watermark,
        state: checkpoint.state,
      };
      afterCommit(tx, () => this.saved.set(job, { ...copy, updatedAt: this.now() }));
      resolve();
    });
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
