import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SqliteEventStore,
  type SqliteTransaction,
  sqliteSubscriptionStorage,
} from '@causewayjs/sqlite';
import { describeSubscriptionConformance } from '@causewayjs/testing';

describeSubscriptionConformance<SqliteTransaction>('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-subscription-'));
  const file = join(dir, 'events.db');
  return Promise.resolve({
    durable: true,
    open: async () => {
      const store = SqliteEventStore.open(file, { pollIntervalMs: 10 });
      return { store, storage: await sqliteSubscriptionStorage(store) };
    },
    sink: {
      setup: (store) =>
        store.transaction((tx) => {
          tx.database.exec(
            'CREATE TABLE IF NOT EXISTS test_effects (key TEXT PRIMARY KEY, value INTEGER NOT NULL)',
          );
          return Promise.resolve();
        }),
      write: (tx, key, value) =>
        new Promise<void>((resolve) => {
          tx.database
            .prepare('INSERT INTO test_effects (key, value) VALUES (?, ?)')
            .run(key, value);
          resolve();
        }),
      read: (store) =>
        Promise.resolve(
          new Map(
            (store as SqliteEventStore).database
              .prepare<[], { key: string; value: number }>('SELECT key, value FROM test_effects')
              .all()
              .map((r) => [r.key, r.value]),
          ),
        ),
    },
    // The commit syncs the WAL before it returns (synchronous 2, FULL, or 3, EXTRA), or the
    // store flushes it in the background and the transaction waits for that.
    commitWaitsForFlush: (tx) =>
      Promise.resolve(
        Number(tx.database.pragma('synchronous', { simple: true })) >= 2 ||
          (tx.database.pragma('synchronous', { simple: true }) === 1 && tx.waitsForFlush),
      ),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});
