import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SqliteEventStore,
  sqliteSagaStore,
  sqliteSubscriptionStorage,
} from '../../src/adapters/sqlite/index.js';
import type { SagaStore, SubscriptionStorage } from '../../src/index.js';
import { describeSagaStoreConformance } from './saga-store.suite.js';

describeSagaStoreConformance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-sagas-'));
  const file = join(dir, 'events.db');
  return Promise.resolve({
    durable: true,
    open: async () => {
      const store = SqliteEventStore.open(file, { pollIntervalMs: 10 });
      return {
        store,
        sagaStore: (await sqliteSagaStore(store)) as unknown as SagaStore,
        storage: (await sqliteSubscriptionStorage(store)) as unknown as SubscriptionStorage,
      };
    },
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});
