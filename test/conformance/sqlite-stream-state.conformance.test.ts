import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore, sqliteStreamStateStore } from '../../src/adapters/sqlite/index.js';
import type { StreamStateStore } from '../../src/index.js';
import { describeStreamStateConformance } from '../../src/testing/stream-state.suite.js';

describeStreamStateConformance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-stream-state-'));
  const file = join(dir, 'events.db');
  return Promise.resolve({
    durable: true,
    open: async () => {
      const store = SqliteEventStore.open(file, { pollIntervalMs: 10 });
      return {
        store,
        states: (await sqliteStreamStateStore(store)) as unknown as StreamStateStore,
      };
    },
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});
