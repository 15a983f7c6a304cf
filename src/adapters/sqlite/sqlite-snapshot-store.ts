import type Database from 'better-sqlite3';
import { StoreClosedError } from '../../core/errors.js';
import { decodeJson } from '../../core/json-codec.js';
import {
  assertStateVersion,
  prepareSnapshot,
  type Snapshot,
  type SnapshotStore,
} from '../../domain/snapshot-store.js';
import type { Migration } from '../../store/migrations.js';
import { assertStreamName } from '../../store/validation.js';
import { SqliteEventStore } from './sqlite-event-store.js';
import { migrateSqlite } from './sqlite-migrations.js';

/** The name under which the snapshot table records its schema version. */
const COMPONENT = 'snapshots';

/**
 * The snapshot table, version by version. Never edit a published step: add one.
 *
 * One row per stream and state version key. A rowid table (not `WITHOUT ROWID`): states can
 * be large, and SQLite keeps large rows out of a rowid table's key b-tree.
 */
const migrations: readonly Migration[] = [
  {
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
  },
];

type Row = { revision: number; state: string; taken_at: number };

/**
 * Snapshots in the event store's SQLite file, in their own table (`causeway_snapshots`,
 * migrated as the `snapshots` component), so they live and are backed up with the events.
 *
 * Saving is one upsert that keeps the higher revision, so concurrent savers, in this process
 * or another on the same file, never replace a newer snapshot with an older one.
 *
 * @example
 * ```ts
 * import { SqliteEventStore, SqliteSnapshotStore } from 'causeway/sqlite';
 *
 * const store = SqliteEventStore.open('./data/events.db');
 * const orders = new CommandHandler({
 *   store,
 *   decider: orderDecider,
 *   snapshots: { store: SqliteSnapshotStore.open(store), stateVersion: 'order@1' },
 * });
 * ```
 */
export class SqliteSnapshotStore implements SnapshotStore {
  private readonly statements;

  private constructor(
    private readonly database: Database.Database,
    /** Runs a write; with an event store, under its write lock (see `withWriteLock`). */
    private readonly write: <T>(work: () => T) => Promise<T>,
  ) {
    this.statements = {
      load: database.prepare<[string, string], Row>(
        `SELECT revision, state, taken_at FROM causeway_snapshots
         WHERE stream = ? AND state_version = ?`,
      ),
      save: database.prepare<[string, string, number, string, number]>(
        `INSERT INTO causeway_snapshots (stream, state_version, revision, state, taken_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (stream, state_version) DO UPDATE
           SET revision = excluded.revision, state = excluded.state, taken_at = excluded.taken_at
           WHERE excluded.revision >= causeway_snapshots.revision`,
      ),
      delete: database.prepare<[string]>('DELETE FROM causeway_snapshots WHERE stream = ?'),
    };
  }

  /**
   * A snapshot store in the same file as `source`, an open {@link SqliteEventStore} or its
   * `database`. Creates or migrates the snapshot table. Closing the event store (or the
   * database) closes this too; it holds nothing of its own to close.
   *
   * @throws {SchemaTooNewError} when a newer Causeway migrated the snapshot table.
   */
  static open(source: SqliteEventStore | Database.Database): SqliteSnapshotStore {
    const database = source instanceof SqliteEventStore ? source.database : source;
    if (!database.open) throw new StoreClosedError();
    migrateSqlite(database, COMPONENT, migrations);
    return new SqliteSnapshotStore(
      database,
      source instanceof SqliteEventStore
        ? (work) => source.withWriteLock(work)
        : (work) => new Promise((resolve) => resolve(work())),
    );
  }

  load<S = unknown>(stream: string, stateVersion: string): Promise<Snapshot<S> | undefined> {
    // A promise executor turns whatever is thrown into a rejection.
    return new Promise((resolve) => {
      assertStreamName(stream);
      assertStateVersion(stream, stateVersion);
      this.assertOpen();
      const row = this.statements.load.get(stream, stateVersion);
      resolve(
        row && {
          revision: row.revision,
          stateVersion,
          state: decodeJson<S>(row.state),
          takenAt: new Date(row.taken_at),
        },
      );
    });
  }

  save(stream: string, snapshot: Snapshot): Promise<void> {
    return this.write(() => {
      const s = prepareSnapshot(stream, snapshot);
      this.assertOpen();
      this.statements.save.run(s.stream, s.stateVersion, s.revision, s.state, s.takenAt);
    });
  }

  delete(stream: string): Promise<void> {
    return this.write(() => {
      assertStreamName(stream);
      this.assertOpen();
      this.statements.delete.run(stream);
    });
  }

  private assertOpen(): void {
    if (!this.database.open) throw new StoreClosedError();
  }
}
