import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SqliteEventStore,
  type SqliteTransaction,
  sqliteProjectionStore,
  type SqliteReadModel,
} from '@causewayjs/sqlite';
import { describeProjectionConformance } from '@causewayjs/testing';

describeProjectionConformance<SqliteTransaction, SqliteReadModel>('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-projection-'));
  const file = join(dir, 'events.db');
  return Promise.resolve({
    durable: true,
    open: async () => {
      const store = SqliteEventStore.open(file, { pollIntervalMs: 10 });
      return { store, projections: await sqliteProjectionStore(store) };
    },
    model: {
      setup: (rm) => {
        rm.database.exec(`CREATE TABLE ${rm.table('streams')} (
          stream TEXT PRIMARY KEY, count INTEGER NOT NULL, sum INTEGER NOT NULL)`);
        rm.database.exec(`CREATE TABLE ${rm.table('applied')} (position INTEGER PRIMARY KEY)`);
      },
      add: (rm, event) => {
        // A second application of the event breaks the primary key.
        rm.database
          .prepare(`INSERT INTO ${rm.table('applied')} (position) VALUES (?)`)
          .run(event.position);
        rm.database
          .prepare(
            `INSERT INTO ${rm.table('streams')} (stream, count, sum) VALUES (?, 1, ?)
             ON CONFLICT (stream) DO UPDATE SET count = count + 1, sum = sum + excluded.sum`,
          )
          .run(event.stream, (event.data as { n: number }).n);
      },
      read: (rm) => ({
        streams: rm.database
          .prepare<[], [string, number, number]>(
            `SELECT stream, count, sum FROM ${rm.table('streams')} ORDER BY stream`,
          )
          .raw(true)
          .all(),
        applied: rm.database
          .prepare<[], { position: number }>(
            `SELECT position FROM ${rm.table('applied')} ORDER BY position`,
          )
          .all()
          .map((r) => r.position),
      }),
    },
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});
