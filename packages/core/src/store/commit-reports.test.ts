import { describe, expect, it } from 'vitest';
import type { UnitResult } from './append-queue.js';
import { MemoryEventStore } from './memory-event-store.js';
import type { PreparedAppend } from './validation.js';

/**
 * A store whose commit listener hears of each commit before the append reports it itself, as
 * a PostgreSQL NOTIFY can: the report must reach the watchers once, not twice.
 */
class HeardFirstStore extends MemoryEventStore {
  protected override async writeBatch(units: PreparedAppend[][]): Promise<UnitResult[]> {
    const results = await super.writeBatch(units);
    let head = 0;
    for (const r of results)
      if (!(r instanceof Error)) for (const a of r) if (a.position > head) head = a.position;
    if (head > 0) this.notifyCommitted(head);
    return results;
  }
}

describe('commit reports to watchers', () => {
  it('an append reports a commit its listener already reported only once', async () => {
    const store = new HeardFirstStore();
    const seen: number[] = [];
    const stop = store.watch((position) => seen.push(position));
    await store.append('a', [{ type: 't', data: 1 }]);
    await store.append('b', [
      { type: 't', data: 2 },
      { type: 't', data: 3 },
    ]);
    expect(seen).toEqual([1, 3]);
    stop();
    await store.close();
  });

  it('a transaction reports a commit its listener already reported only once', async () => {
    const store = new HeardFirstStore();
    const seen: number[] = [];
    const stop = store.watch((position) => seen.push(position));
    await store.transaction(async (tx) => {
      await tx.append('a', [{ type: 't', data: 1 }]);
      await tx.append('b', [{ type: 't', data: 2 }]);
    });
    expect(seen).toEqual([2]);
    stop();
    await store.close();
  });

  it('an append that commits past what was reported still reports', async () => {
    const store = new MemoryEventStore();
    const seen: number[] = [];
    const stop = store.watch((position) => seen.push(position));
    await store.append('a', [{ type: 't', data: 1 }]);
    await store.append('a', [{ type: 't', data: 2 }]);
    expect(seen).toEqual([1, 2]);
    stop();
    await store.close();
  });
});
