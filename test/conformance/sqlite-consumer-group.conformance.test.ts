import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SqliteEventStore,
  type SqliteTransaction,
  sqliteGroupMembership,
  sqliteSubscriptionStorage,
} from '@causewayjs/sqlite';
import { describeConsumerGroupConformance } from '@causewayjs/testing';

describeConsumerGroupConformance<SqliteTransaction>('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-group-'));
  const file = join(dir, 'events.db');
  return Promise.resolve({
    durable: true,
    oneWriter: true,
    open: async () => {
      const store = SqliteEventStore.open(file, { pollIntervalMs: 10 });
      return {
        store,
        storage: await sqliteSubscriptionStorage(store),
        membership: await sqliteGroupMembership(store),
      };
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
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});
