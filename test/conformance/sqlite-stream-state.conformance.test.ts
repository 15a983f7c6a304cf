import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore, sqliteStreamStateStore } from '@causewayjs/sqlite';
import type { StreamStateStore } from '@causewayjs/core';
import { describeStreamStateConformance } from '@causewayjs/testing';

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
