import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@causewayjs/sqlite';
import { describeSubscriptionSeamsConformance } from '@causewayjs/testing';

describeSubscriptionSeamsConformance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-seams-'));
  const file = join(dir, 'events.db');
  return Promise.resolve({
    durable: true,
    open: () => Promise.resolve(SqliteEventStore.open(file, { pollIntervalMs: 10 })),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});
