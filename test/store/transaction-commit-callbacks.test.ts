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

  it('onDurable runs after the onCommit callbacks, in order, and never for a rollback', async () => {
    const store = new MemoryEventStore();
    const calls: string[] = [];
    await store.transaction(async (tx) => {
      tx.onDurable(() => calls.push('durable 1'));
      tx.onCommit(() => calls.push('commit'));
      tx.onDurable(() => calls.push('durable 2'));
      await tx.append('s-1', [{ type: 'x', data: 1 }]);
    });
    expect(calls).toEqual(['commit', 'durable 1', 'durable 2']);
    calls.length = 0;
    await expect(
      store.transaction((tx) => {
        tx.onDurable(() => calls.push('durable'));
        return Promise.reject(new Error('rolled back'));
      }),
    ).rejects.toThrow('rolled back');
    expect(calls).toEqual([]);
    // A callback that throws: the commit stands, the others run, transaction() throws.
    await expect(
      store.transaction(async (tx) => {
        tx.onDurable(() => {
          throw new Error('callback failed');
        });
        tx.onDurable(() => calls.push('after'));
        await tx.append('s-2', [{ type: 'x', data: 2 }]);
      }),
    ).rejects.toThrow('callback failed');
    expect(calls).toEqual(['after']);
    expect(await store.headPosition()).toBe(2);
    await store.close();
  });
});
