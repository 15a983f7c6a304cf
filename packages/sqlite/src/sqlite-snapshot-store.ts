import type Database from 'better-sqlite3';
import {
  StoreClosedError,
  decodeJson,
  prepareSnapshot,
  type PreparedSnapshot,
  type Snapshot,
  type SnapshotStore,
} from '@causewayjs/core';
import {
  assertSnapshotSubject,
  assertStateVersion,
  type Migration,
  assertStreamName,
} from '@causewayjs/core/internals';
import type { SqliteEventStore } from './sqlite-event-store.js';
import { openSqliteComponent, type SqliteComponentConnection } from './sqlite-component.js';

/** The name under which the snapshot table records its schema version. */
const COMPONENT = 'snapshots';

/**
 * The snapshot table, version by version. Never edit a published step: add one.
 *
 * One row per stream and state version key. A rowid table (not `WITHOUT ROWID`): states can
 * be large, and SQLite keeps large rows out of a rowid table's key b-tree.
 *
 * Version 2 records the encryption subjects of each snapshot: in the row (`subjects`, a JSON
 * array; NULL for unknown, as every snapshot saved before is) and, to find a subject's
 * snapshots without a scan, one row per subject in `causeway_snapshot_subjects`. A partial
 * index finds the snapshots of unknown subjects, which forgetting anyone drops.
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
  {
    version: 2,
    description: 'encryption subjects of snapshots',
    statements: [
      `ALTER TABLE causeway_snapshots ADD COLUMN subjects TEXT`,
      `CREATE INDEX causeway_snapshots_unknown_subjects
         ON causeway_snapshots (stream, state_version) WHERE subjects IS NULL`,
      `CREATE TABLE causeway_snapshot_subjects (
         subject TEXT NOT NULL,
         stream TEXT NOT NULL,
         state_version TEXT NOT NULL,
         PRIMARY KEY (subject, stream, state_version)
       ) WITHOUT ROWID`,
      `CREATE INDEX causeway_snapshot_subjects_snapshot
         ON causeway_snapshot_subjects (stream, state_version)`,
    ],
  },
];

type Row = { revision: number; state: string; taken_at: number; subjects: string | null };
type Key = { stream: string; state_version: string };

/**
 * Snapshots in the event store's SQLite file, in their own table (`causeway_snapshots`,
 * migrated as the `snapshots` component), so they live and are backed up with the events.
 *
 * Saving is one upsert that keeps the higher revision, so concurrent savers, in this process
 * or another on the same file, never replace a newer snapshot with an older one; the
 * snapshot's subjects are replaced in the same transaction.
 *
 * @example
 * ```ts
 * import { SqliteEventStore, SqliteSnapshotStore } from '@causewayjs/sqlite';
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
  private readonly saveTx: (snapshot: PreparedSnapshot) => void;
  private readonly deleteTx: (stream: string) => void;
  private readonly deleteBySubjectTx: (subject: string) => number;

  private readonly database: Database.Database;

  private constructor(
    /** Where every statement runs, its driver failures typed. */
    private readonly connection: SqliteComponentConnection,
  ) {
    const database = (this.database = connection.database);
    this.statements = {
      load: database.prepare<[string, string], Row>(
        `SELECT revision, state, taken_at, subjects FROM causeway_snapshots
         WHERE stream = ? AND state_version = ?`,
      ),
      // RETURNING yields a row only when the snapshot was written (not kept back as older).
      save: database.prepare<[string, string, number, string, number, string | null], unknown>(
        `INSERT INTO causeway_snapshots (stream, state_version, revision, state, taken_at, subjects)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (stream, state_version) DO UPDATE
           SET revision = excluded.revision, state = excluded.state,
               taken_at = excluded.taken_at, subjects = excluded.subjects
           WHERE excluded.revision >= causeway_snapshots.revision
         RETURNING 1`,
      ),
      clearSubjects: database.prepare<[string, string]>(
        'DELETE FROM causeway_snapshot_subjects WHERE stream = ? AND state_version = ?',
      ),
      addSubject: database.prepare<[string, string, string]>(
        `INSERT INTO causeway_snapshot_subjects (subject, stream, state_version) VALUES (?, ?, ?)
         ON CONFLICT DO NOTHING`,
      ),
      delete: database.prepare<[string]>('DELETE FROM causeway_snapshots WHERE stream = ?'),
      deleteSubjects: database.prepare<[string]>(
        'DELETE FROM causeway_snapshot_subjects WHERE stream = ?',
      ),
      ofSubject: database.prepare<[string], Key>(
        `SELECT stream, state_version FROM causeway_snapshot_subjects WHERE subject = ?
         UNION
         SELECT stream, state_version FROM causeway_snapshots WHERE subjects IS NULL`,
      ),
      deleteOne: database.prepare<[string, string]>(
        'DELETE FROM causeway_snapshots WHERE stream = ? AND state_version = ?',
      ),
    };
    this.saveTx = database.transaction((s: PreparedSnapshot) => {
      const saved = this.statements.save.get(
        s.stream,
        s.stateVersion,
        s.revision,
        s.state,
        s.takenAt,
        s.subjects && JSON.stringify(s.subjects),
      );
      if (saved === undefined) return;
      this.statements.clearSubjects.run(s.stream, s.stateVersion);
      for (const subject of s.subjects ?? [])
        this.statements.addSubject.run(subject, s.stream, s.stateVersion);
    });
    this.deleteTx = database.transaction((stream: string) => {
      this.statements.delete.run(stream);
      this.statements.deleteSubjects.run(stream);
    });
    this.deleteBySubjectTx = database.transaction((subject: string) => {
      let deleted = 0;
      for (const key of this.statements.ofSubject.all(subject)) {
        deleted += this.statements.deleteOne.run(key.stream, key.state_version).changes;
        this.statements.clearSubjects.run(key.stream, key.state_version);
      }
      return deleted;
    });
  }

  /**
   * A snapshot store in the same file as `source`, an open {@link SqliteEventStore} or its
   * `database`. Creates or migrates the snapshot table. Closing the event store (or the
   * database) closes this too; it holds nothing of its own to close.
   *
   * @throws {SchemaTooNewError} when a newer Causeway migrated the snapshot table.
   */
  static open(source: SqliteEventStore | Database.Database): SqliteSnapshotStore {
    return openSqliteComponent(
      source,
      { component: COMPONENT, migrations },
      (connection) => new SqliteSnapshotStore(connection),
    );
  }

  load<S = unknown>(stream: string, stateVersion: string): Promise<Snapshot<S> | undefined> {
    return this.connection.read(() => {
      assertStreamName(stream);
      assertStateVersion(stream, stateVersion);
      this.assertOpen();
      const row = this.statements.load.get(stream, stateVersion);
      if (!row) return undefined;
      const snapshot: Snapshot<S> = {
        revision: row.revision,
        stateVersion,
        state: decodeJson<S>(row.state),
        takenAt: new Date(row.taken_at),
      };
      if (row.subjects !== null) snapshot.subjects = decodeJson<string[]>(row.subjects);
      return snapshot;
    });
  }

  save(stream: string, snapshot: Snapshot): Promise<void> {
    return this.connection.write(() => {
      const s = prepareSnapshot(stream, snapshot);
      this.assertOpen();
      this.saveTx(s);
    });
  }

  delete(stream: string): Promise<void> {
    return this.connection.write(() => {
      assertStreamName(stream);
      this.assertOpen();
      this.deleteTx(stream);
    });
  }

  deleteBySubject(subject: string): Promise<number> {
    return this.connection.write(() => {
      assertSnapshotSubject(subject);
      this.assertOpen();
      return this.deleteBySubjectTx(subject);
    });
  }

  private assertOpen(): void {
    if (!this.database.open) throw new StoreClosedError();
  }
}
