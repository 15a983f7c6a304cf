import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SqliteEventStore,
  sqliteProjectionStore,
  sqliteSubscriptionStorage,
} from '@causewayjs/sqlite';
import { describeHttpApi } from './http-api.suite.js';

describeHttpApi('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-http-'));
  const store = SqliteEventStore.open(join(dir, 'events.db'));
  return Promise.resolve({
    store,
    projectionStore: () => sqliteProjectionStore(store),
    subscriptionStorage: () => sqliteSubscriptionStorage(store),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});
