import type { TransactionalEventStore } from '@causewayjs/core';

/**
 * Opens a transaction on `store` that appends one event and then stays open until
 * `release()` is called, so a test can check what other writers do meanwhile. Resolves once
 * the transaction holds its write lock; `release()` resolves once it has committed.
 */
export async function holdTransaction(
  store: TransactionalEventStore,
): Promise<{ release: () => Promise<void> }> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let inTransaction!: () => void;
  const started = new Promise<void>((resolve) => (inTransaction = resolve));
  const done = store.transaction(async (t) => {
    await t.append('held-1', [{ type: 'held', data: null }]);
    inTransaction();
    await held;
  });
  await started;
  return {
    release: async () => {
      release();
      await done;
    },
  };
}
