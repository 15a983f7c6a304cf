import type Database from 'better-sqlite3';
import { type Migration, assertOwner } from '@causewayjs/core/internals';
import {
  StreamJobFencedError,
  assertCheckpointData,
  assertJobName,
  decodePosition,
  encodePosition,
  type StreamCheckpoint,
  type StreamCheckpointData,
  type StreamStateStore,
  type SourcePosition,
} from '@causewayjs/core';
import type { SqliteEventStore, SqliteTransaction } from './sqlite-event-store.js';
import { migrateSqlite } from './sqlite-migrations.js';
import { SqliteStatementCache } from './sqlite-statement-cache.js';

/** The name under which the stream-job tables record their schema version. */
export const SQLITE_STREAMS_COMPONENT = 'streams';

/** The stream-job tables, version by version. Never edit a published step: add one. */
export const sqliteStreamMigrations: readonly Migration[] = [
  {
    version: 1,
    description: 'stream job checkpoints',
    statements: [
      // A rowid table: operator state can be large, and SQLite keeps long rows out of its key b-tree.
      `CREATE TABLE causeway_stream_checkpoints (
         job TEXT PRIMARY KEY,
         position TEXT,
         watermark INTEGER,
         state TEXT NOT NULL,
         updated_at INTEGER NOT NULL
       )`,
    ],
  },
  {
    version: 2,
    description: 'stream job fencing epochs',
    statements: [
      `CREATE TABLE causeway_stream_fences (
         job TEXT PRIMARY KEY,
         epoch INTEGER NOT NULL,
         owner TEXT NOT NULL,
         claimed_at INTEGER NOT NULL
       ) WITHOUT ROWID`,
      `ALTER TABLE causeway_stream_checkpoints ADD COLUMN epoch INTEGER`,
    ],
  },
];

type Row = {
  position: string | null;
  watermark: number | null;
  state: string;
  epoch: number | null;
  updated_at: number;
};

function prepare(db: Database.Database) {
  return {
    load: db.prepare<[string], Row>(
      'SELECT position, watermark, state, epoch, updated_at FROM causeway_stream_checkpoints WHERE job = ?',
    ),
    save: db.prepare<[string, string | null, number | null, string, number | null, number]>(
      `INSERT INTO causeway_stream_checkpoints (job, position, watermark, state, epoch, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (job) DO UPDATE SET position = excluded.position, watermark = excluded.watermark,
         state = excluded.state, epoch = excluded.epoch, updated_at = excluded.updated_at`,
    ),
    fence: db.prepare<[string], { epoch: number; owner: string }>(
      'SELECT epoch, owner FROM causeway_stream_fences WHERE job = ?',
    ),
    claim: db.prepare<[string, string, number], { epoch: number }>(
      `INSERT INTO causeway_stream_fences (job, epoch, owner, claimed_at) VALUES (?, 1, ?, ?)
       ON CONFLICT (job) DO UPDATE SET epoch = causeway_stream_fences.epoch + 1,
         owner = excluded.owner, claimed_at = excluded.claimed_at
       RETURNING epoch`,
    ),
    delete: db.prepare<[string]>('DELETE FROM causeway_stream_checkpoints WHERE job = ?'),
    list: db.prepare<
      [],
      {
        job: string;
        position: string | null;
        watermark: number | null;
        bytes: number;
        updated_at: number;
      }
    >(
      'SELECT job, position, watermark, length(CAST(state AS BLOB)) AS bytes, updated_at FROM causeway_stream_checkpoints ORDER BY job',
    ),
  };
}

/**
 * Stream-job checkpoints in the store's SQLite file (`causeway_stream_checkpoints`), and their
 * fencing epochs (`causeway_stream_fences`). A write transaction holds the file's write lock
 * from `BEGIN IMMEDIATE` to its end, so an epoch checked in it cannot change before it commits.
 */
class SqliteStreamStateStore implements StreamStateStore<SqliteTransaction> {
  private readonly sql: SqliteStatementCache<ReturnType<typeof prepare>>;

  constructor(readonly store: SqliteEventStore) {
    this.sql = new SqliteStatementCache(store, prepare, 'stream-job state');
  }

  load(job: string): Promise<StreamCheckpoint | undefined> {
    return this.sql.read((s) => {
      assertJobName(job);
      const row = s.load.get(job);
      return (
        row && {
          position: decodePosition(row.position),
          watermark: row.watermark,
          state: row.state,
          epoch: row.epoch ?? undefined,
          updatedAt: new Date(row.updated_at),
        }
      );
    });
  }

  async save(job: string, checkpoint: StreamCheckpointData, tx?: SqliteTransaction): Promise<void> {
    assertJobName(job);
    assertCheckpointData(checkpoint);
    const position = encodePosition(checkpoint.position);
    const epoch = checkpoint.epoch;
    const now = Date.now();
    await this.sql.write(tx, (s) => {
      if (epoch !== undefined) {
        const current = s.fence.get(job);
        if (current?.epoch !== epoch)
          throw new StreamJobFencedError(job, epoch, current && { ...current });
      }
      s.save.run(job, position, checkpoint.watermark, checkpoint.state, epoch ?? null, now);
    });
  }

  async claim(job: string, owner: string, tx?: SqliteTransaction): Promise<number> {
    assertJobName(job);
    assertOwner(owner);
    const now = Date.now();
    return this.sql.write(tx, (s) => {
      const row = s.claim.get(job, owner, now);
      if (!row) throw new Error('internal: a claim returned no epoch');
      return row.epoch;
    });
  }

  async delete(job: string, tx?: SqliteTransaction): Promise<void> {
    assertJobName(job);
    await this.sql.write(tx, (s) => s.delete.run(job));
  }

  list(): Promise<
    {
      job: string;
      position: SourcePosition | undefined;
      watermark: number | null;
      bytes: number;
      updatedAt: Date;
    }[]
  > {
    return this.sql.read((s) =>
      s.list.all().map((r) => ({
        job: r.job,
        position: decodePosition(r.position),
        watermark: r.watermark,
        bytes: r.bytes,
        updatedAt: new Date(r.updated_at),
      })),
    );
  }
}

/**
 * Stream-job checkpoint storage in the store's SQLite file, migrated first (component
 * `streams`). A job's derived events and its checkpoint then commit in one transaction.
 *
 * @example
 * ```ts
 * const store = SqliteEventStore.open('./data/events.db');
 * const job = new StreamJob({ name: 'sales', source: storeSource(store), checkpoints: await sqliteStreamStateStore(store) });
 * ```
 */
export async function sqliteStreamStateStore(
  store: SqliteEventStore,
): Promise<StreamStateStore<SqliteTransaction>> {
  await store.transaction((tx) => {
    migrateSqlite(tx.database, SQLITE_STREAMS_COMPONENT, sqliteStreamMigrations);
    return Promise.resolve();
  });
  return new SqliteStreamStateStore(store);
}
