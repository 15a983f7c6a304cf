import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore, SqliteKeyStore } from '@causewayjs/sqlite';
import { describeKeyStoreConformance } from '@causewayjs/testing';

describeKeyStoreConformance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-sqlite-keys-'));
  const file = join(dir, 'events.db');
  const opened: SqliteEventStore[] = [];
  return Promise.resolve({
    durable: true,
    // Each open is a new connection to the file, as another process's would be.
    open: () => {
      const events = SqliteEventStore.open(file);
      opened.push(events);
      return Promise.resolve(SqliteKeyStore.open(events));
    },
    cleanup: async () => {
      await Promise.all(opened.map((events) => events.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  });
});
