import type { StoreTransaction } from '../store/event-store.js';
import type { Checkpoint, CheckpointStore } from './checkpoint-store.js';
import { assertName, assertPosition } from './validation.js';

/**
 * Checkpoints in process memory, for the memory store: a write given a transaction applies
 * when that transaction commits.
 */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly checkpoints = new Map<string, { position: number; updatedAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  load(name: string): Promise<Checkpoint | undefined> {
    return new Promise((resolve) => {
      assertName(name);
      const c = this.checkpoints.get(name);
      resolve(c && { position: c.position, updatedAt: new Date(c.updatedAt) });
    });
  }

  save(name: string, position: number, tx?: StoreTransaction): Promise<void> {
    return new Promise((resolve) => {
      assertName(name);
      assertPosition(position);
      afterCommit(tx, () => this.checkpoints.set(name, { position, updatedAt: this.now() }));
      resolve();
    });
  }

  delete(name: string, tx?: StoreTransaction): Promise<void> {
    return new Promise((resolve) => {
      assertName(name);
      afterCommit(tx, () => this.checkpoints.delete(name));
      resolve();
    });
  }

  list(): Promise<({ name: string } & Checkpoint)[]> {
    return Promise.resolve(
      [...this.checkpoints]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, c]) => ({ name, position: c.position, updatedAt: new Date(c.updatedAt) })),
    );
  }
}

/** Applies `write` when `tx` commits, or now without one. */
export function afterCommit(tx: StoreTransaction | undefined, write: () => void): void {
  if (tx) tx.onCommit(write);
  else write();
}
