import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore, migrateSqlite, SqliteSnapshotStore } from '@causewayjs/sqlite';
import { describeSnapshotStoreConformance } from '@causewayjs/testing';

/** Version 1 of the snapshot table, as published: what an older Causeway created. */
const version1 = {
  version: 1,
  description: 'snapshots',
  statements: [
    `CREATE TABLE causeway_snapshots (
       stream TEXT NOT NULL,
       state_version TEXT NOT NULL,
       revision INTEGER NOT NULL,
       state TEXT NOT NULL,
       taken_at INTEGER NOT NULL,
       PRIMARY KEY (stream, state_version)
     )`,
  ],
};

describeSnapshotStoreConformance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-sqlite-snapshots-'));
  const file = join(dir, 'events.db');
  const opened: SqliteEventStore[] = [];
  return Promise.resolve({
    durable: true,
    // Each open is a new connection to the file, as another process's would be.
    open: () => {
      const events = SqliteEventStore.open(file);
      opened.push(events);
      return Promise.resolve(SqliteSnapshotStore.open(events));
    },
    seedPreviousVersion: (rows) => {
      const database = new Database(file);
      try {
        migrateSqlite(database, 'snapshots', [version1]);
        const insert = database.prepare(
          `INSERT INTO causeway_snapshots (stream, state_version, revision, state, taken_at)
           VALUES (?, ?, ?, ?, ?)`,
        );
        for (const row of rows) {
          insert.run(
            row.stream,
            row.stateVersion,
            row.revision,
            JSON.stringify(row.state),
            row.takenAt.getTime(),
          );
        }
      } finally {
        database.close();
      }
      return Promise.resolve();
    },
    cleanup: async () => {
      await Promise.all(opened.map((events) => events.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  });
});
