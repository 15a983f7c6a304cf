import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore, SqliteSchemaStorage } from '@causewayjs/sqlite';
import { describeSchemaStorageConformance } from '@causewayjs/testing';

describeSchemaStorageConformance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-sqlite-schemas-'));
  const file = join(dir, 'events.db');
  const opened: SqliteEventStore[] = [];
  return Promise.resolve({
    // Each open is a new connection to the file, as another process's would be.
    open: () => {
      const events = SqliteEventStore.open(file);
      opened.push(events);
      return Promise.resolve(SqliteSchemaStorage.open(events));
    },
    cleanup: async () => {
      await Promise.all(opened.map((events) => events.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  });
});
