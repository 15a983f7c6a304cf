import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../src/adapters/sqlite/index.js';
import { describeEventStoreConformance } from './event-store.suite.js';

describeEventStoreConformance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-sqlite-'));
  const file = join(dir, 'events.db');
  return Promise.resolve({
    durable: true,
    open: (options) => Promise.resolve(SqliteEventStore.open(file, options)),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});
