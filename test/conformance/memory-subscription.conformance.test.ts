import {
  MemoryEventStore,
  type StoreTransaction,
  memorySubscriptionStorage,
} from '@causewayjs/core';
import { describeSubscriptionConformance } from '@causewayjs/testing';

describeSubscriptionConformance<StoreTransaction>('memory', () => {
  // The memory adapter's "table": rows applied when the transaction commits.
  const rows = new Map<string, number>();
  const pending = new WeakMap<StoreTransaction, Set<string>>();
  return Promise.resolve({
    durable: false,
    open: () => {
      const store = new MemoryEventStore();
      return Promise.resolve({ store, storage: memorySubscriptionStorage(store) });
    },
    sink: {
      setup: () => Promise.resolve(),
      write: (tx, key, value) =>
        new Promise<void>((resolve) => {
          let keys = pending.get(tx);
          if (!keys) pending.set(tx, (keys = new Set()));
          if (rows.has(key) || keys.has(key)) throw new Error(`duplicate key ${key}`);
          keys.add(key);
          tx.onCommit(() => rows.set(key, value));
          resolve();
        }),
      read: () => Promise.resolve(new Map(rows)),
    },
    cleanup: () => Promise.resolve(),
  });
});
