import type Database from 'better-sqlite3';
import { fnv1a32 } from '@causewayjs/core';
import { pendingMigrations, type Migration } from '@causewayjs/core/internals';

/**
 * The SQL function, registered on the store's connections, that gives a stream name's
 * `fnv1a32` (the hash the partition filter of readAll uses). Appends compute the hash in
 * JavaScript; the migration fills existing rows with it, and readAll's partition filter hashes
 * the rows that a process of an older version appended without it (`stream_hash` 0).
 */
export const STREAM_HASH_FUNCTION = 'causeway_stream_hash';

/** Registers {@link STREAM_HASH_FUNCTION} on `db`. */
export function registerStreamHash(db: Database.Database): void {
  db.function(STREAM_HASH_FUNCTION, { deterministic: true }, (stream: unknown) =>
    fnv1a32(String(stream)),
  );
}

/** The event store's tables, version by version. Never edit a published step: add one. */
export const sqliteEventStoreMigrations: readonly Migration[] = [
  {
    version: 1,
    description: 'streams, events',
    statements: [
      `CREATE TABLE causeway_streams (
         name TEXT PRIMARY KEY,
         revision INTEGER NOT NULL,
         deleted INTEGER NOT NULL DEFAULT 0,
         metadata TEXT
       ) WITHOUT ROWID`,
      `CREATE TABLE causeway_events (
         position INTEGER PRIMARY KEY,
         id TEXT NOT NULL,
         stream TEXT NOT NULL,
         revision INTEGER NOT NULL,
         type TEXT NOT NULL,
         data TEXT NOT NULL,
         metadata TEXT NOT NULL,
         schema_version INTEGER NOT NULL,
         recorded_at INTEGER NOT NULL
       )`,
      `CREATE UNIQUE INDEX causeway_events_id ON causeway_events (id)`,
      `CREATE UNIQUE INDEX causeway_events_stream_revision ON causeway_events (stream, revision)`,
    ],
  },
  {
    version: 2,
    description:
      'position floor: the highest position ever given, kept when scavenge removes the last events',
    statements: [
      `CREATE TABLE causeway_position_floor (
         id INTEGER PRIMARY KEY CHECK (id = 1),
         position INTEGER NOT NULL
       )`,
    ],
  },
  {
    version: 3,
    description: 'tombstoned streams, indexed: readAll leaves their events out',
    statements: [
      `CREATE INDEX causeway_streams_tombstones ON causeway_streams (name) WHERE deleted = 2`,
    ],
  },
  {
    version: 4,
    description:
      "stream hash on each event (FNV-1a of the stream name): readAll's partition filter runs in SQL",
    statements: [
      `ALTER TABLE causeway_events ADD COLUMN stream_hash INTEGER NOT NULL DEFAULT 0`,
      // The function is registered by the store on the connection that migrates (see
      // STREAM_HASH_FUNCTION): FNV-1a over UTF-8 bytes is not expressible in plain SQL.
      `UPDATE causeway_events SET stream_hash = ${STREAM_HASH_FUNCTION}(stream)`,
    ],
  },
];

/**
 * Brings one component's tables up to date inside an IMMEDIATE transaction, so two processes
 * opening the same file at once migrate it once. Any Causeway component keeping tables in the
 * store's SQLite file (snapshots, checkpoints...) migrates through this with its own name.
 *
 * @throws {SchemaTooNewError} when the file was migrated by a newer Causeway.
 */
export function migrateSqlite(
  db: Database.Database,
  component: string,
  migrations: readonly Migration[],
): void {
  // Already up to date: nothing to write, so no write lock to wait for. Opening a store on a
  // file that another connection is writing to (even in this process) then never blocks.
  const current = readVersion(db, component);
  if (current !== undefined && pendingMigrations(current, migrations).length === 0) return;
  db.exec(`CREATE TABLE IF NOT EXISTS causeway_schema_version (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    applied_at INTEGER NOT NULL
  ) WITHOUT ROWID`);
  db.transaction(() => {
    const row = db
      .prepare('SELECT version FROM causeway_schema_version WHERE component = ?')
      .get(component) as { version: number } | undefined;
    const pending = pendingMigrations(row?.version ?? 0, migrations);
    for (const m of pending) {
      for (const sql of m.statements) db.exec(sql);
    }
    const last = pending[pending.length - 1];
    if (last) {
      db.prepare(
        `INSERT INTO causeway_schema_version (component, version, applied_at) VALUES (?, ?, ?)
         ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at`,
      ).run(component, last.version, Date.now());
    }
  }).immediate();
}

/** The component's recorded version, 0 if it has none, undefined if there is no table yet. */
function readVersion(db: Database.Database, component: string): number | undefined {
  const table = db
    .prepare(
      "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'causeway_schema_version'",
    )
    .get();
  if (!table) return undefined;
  const row = db
    .prepare('SELECT version FROM causeway_schema_version WHERE component = ?')
    .get(component) as { version: number } | undefined;
  return row?.version ?? 0;
}
