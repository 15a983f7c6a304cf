import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SqliteEventStore,
  type SqliteTransaction,
  sqliteProjectionStore,
  type SqliteReadModel,
} from '@causewayjs/sqlite';
import { describeDocumentStoreConformance } from '@causewayjs/testing';

describeDocumentStoreConformance<SqliteTransaction, SqliteReadModel>('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-documents-'));
  const file = join(dir, 'events.db');
  let opened: SqliteEventStore | undefined;
  return Promise.resolve({
    open: async () => {
      const store = SqliteEventStore.open(file, { pollIntervalMs: 10 });
      opened = store;
      return { store, projections: await sqliteProjectionStore(store) };
    },
    indexCount: (_process, table) => {
      // Declared indexes only: the primary key's automatic index has no SQL.
      const row = (opened as SqliteEventStore).database
        .prepare<[string], { n: number }>(
          "SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        )
        .get(table);
      return Promise.resolve(row?.n ?? 0);
    },
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});
