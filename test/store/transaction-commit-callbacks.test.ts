import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '@causewayjs/core';

describe('transaction commit callbacks', () => {
  it('run before the next queued transaction starts, so in-memory state is never lost', async () => {
    // In-memory components (saga instances, checkpoints) apply a transaction's writes in its
    // onCommit callbacks and read them back in the next transaction: a transaction that
    // starts before the previous one's callbacks have run reads stale state and overwrites
    // what that one wrote.
    const store = new MemoryEventStore();
    let count = 0;
    const bump = () =>
      store.transaction(async (tx) => {
        const seen = count;
        await tx.append('counter-1', [{ type: 'counter.bumped', data: {} }]);
        tx.onCommit(() => {
          count = seen + 1;
        });
      });
    await Promise.all([bump(), bump(), bump(), bump()]);
    expect(count).toBe(4);
    await store.close();
  });
});
