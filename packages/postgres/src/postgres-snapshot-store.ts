import { escapeIdentifier } from 'pg';
import { prepareSnapshot, type Snapshot, type SnapshotStore } from '@causewayjs/core';
import {
  assertSnapshotSubject,
  assertStateVersion,
  type Migration,
  assertStreamName,
} from '@causewayjs/core/internals';
import {
  connectPostgresComponent,
  type PostgresComponentConnection,
  type PostgresComponentOptions,
  type PostgresComponentSource,
} from './postgres-component.js';

/** The name under which the snapshot table records its schema version. */
const COMPONENT = 'snapshots';

/**
 * The snapshot table, version by version, for a given PostgreSQL schema. Never edit a
 * published step: add one.
 *
 * The state is `json`, not `jsonb`: written verbatim with only a syntax check (nothing
 * queries inside it), and strings holding `\u0000`, which `jsonb` refuses, are kept.
 *
 * Version 2 records the encryption subjects of each snapshot: in the row (`subjects text[]`;
 * NULL for unknown, as every snapshot saved before is) and, to find a subject's snapshots
 * without a scan, one row per subject in `causeway_snapshot_subjects`. A partial index finds
 * the snapshots of unknown subjects, which forgetting anyone drops.
 */
function snapshotMigrations(schema: string): Migration[] {
  const s = escapeIdentifier(schema);
  return [
    {
      version: 1,
      description: 'snapshots',
      statements: [
        `CREATE TABLE ${s}.causeway_snapshots (
          stream text NOT NULL,
          state_version text NOT NULL,
          revision bigint NOT NULL,
          state json NOT NULL,
          taken_at timestamptz NOT NULL,
          PRIMARY KEY (stream, state_version)
        )`,
      ],
    },
    {
      version: 2,
      description: 'encryption subjects of snapshots',
      statements: [
        `ALTER TABLE ${s}.causeway_snapshots ADD COLUMN subjects text[]`,
        `CREATE INDEX causeway_snapshots_unknown_subjects
          ON ${s}.causeway_snapshots (stream, state_version) WHERE subjects IS NULL`,
        `CREATE TABLE ${s}.causeway_snapshot_subjects (
          subject text NOT NULL,
          stream text NOT NULL,
          state_version text NOT NULL,
          PRIMARY KEY (subject, stream, state_version)
        )`,
        `CREATE INDEX causeway_snapshot_subjects_snapshot
          ON ${s}.causeway_snapshot_subjects (stream, state_version)`,
      ],
    },
  ];
}

/** Options of {@link PostgresSnapshotStore.open}. */
export type PostgresSnapshotStoreOptions = PostgresComponentOptions;

type Row = [string, unknown, Date, string[] | null];

/**
 * Snapshots in the event store's PostgreSQL database and schema, in their own table
 * (`causeway_snapshots`, migrated as the `snapshots` component).
 *
 * Saving is one upsert that keeps the higher revision, so concurrent savers in any process
 * never replace a newer snapshot with an older one; the same statement replaces the
 * snapshot's rows in `causeway_snapshot_subjects`. Statements are prepared once per
 * connection.
 *
 * Two saves of one snapshot racing can leave a subject row of the loser behind (each
 * statement sees the subject rows as they were when it started): the subject table then
 * lists more than the snapshot holds, so `deleteBySubject` may drop a snapshot it did not
 * need to, never the reverse; the next save of that snapshot tidies it.
 *
 * @example
 * ```ts
 * import { PostgresEventStore, PostgresSnapshotStore } from '@causewayjs/postgres';
 *
 * const url = 'postgres://app@db:5432/shop?schema=events';
 * const store = await PostgresEventStore.open(url);
 * const snapshots = await PostgresSnapshotStore.open(url);
 * const orders = new CommandHandler({
 *   store,
 *   decider: orderDecider,
 *   snapshots: { store: snapshots, stateVersion: 'order@1' },
 * });
 * // ...
 * await snapshots.close();
 * await store.close();
 * ```
 */
export class PostgresSnapshotStore implements SnapshotStore {
  private readonly sql: ReturnType<typeof statements>;

  private constructor(private readonly connection: PostgresComponentConnection) {
    this.sql = statements(connection.schema);
  }

  /**
   * Connects to the event store's database and schema, creates or migrates the
   * snapshot table in the schema, and returns the open store.
   *
   * @param source the event store's URL (`postgres://user:password@host:5432/database`,
   *   optionally with `?schema=name`; a pool is opened, and ended by `close()`), or an open
   *   `PostgresEventStore` (or any `{ pool, schema }`), whose pool is shared and left open
   * @throws {StoreUnavailableError} when the server cannot be reached or the table prepared.
   * @throws {SchemaTooNewError} when a newer Causeway migrated the snapshot table.
   */
  static async open(
    source: PostgresComponentSource,
    options: PostgresSnapshotStoreOptions = {},
  ): Promise<PostgresSnapshotStore> {
    const connection = await connectPostgresComponent(
      source,
      options,
      COMPONENT,
      snapshotMigrations,
    );
    return new PostgresSnapshotStore(connection);
  }

  /** The PostgreSQL schema holding the table. */
  get schema(): string {
    return this.connection.schema;
  }

  async load<S = unknown>(stream: string, stateVersion: string): Promise<Snapshot<S> | undefined> {
    assertStreamName(stream);
    assertStateVersion(stream, stateVersion);
    const [row] = await this.query<Row>('load', this.sql.load, [stream, stateVersion]);
    if (!row) return undefined;
    // The driver parses `json` on every read: each load hands out a fresh state.
    const snapshot: Snapshot<S> = {
      revision: Number(row[0]),
      stateVersion,
      state: row[1] as S,
      takenAt: row[2],
    };
    if (row[3] !== null) snapshot.subjects = row[3];
    return snapshot;
  }

  async save(stream: string, snapshot: Snapshot): Promise<void> {
    const s = prepareSnapshot(stream, snapshot);
    await this.query('save', this.sql.save, [
      s.stream,
      s.stateVersion,
      s.revision,
      s.state,
      new Date(s.takenAt),
      s.subjects,
    ]);
  }

  async delete(stream: string): Promise<void> {
    assertStreamName(stream);
    await this.query('delete', this.sql.delete, [stream]);
  }

  async deleteBySubject(subject: string): Promise<number> {
    assertSnapshotSubject(subject);
    const [row] = await this.query<[number]>('deleteBySubject', this.sql.deleteBySubject, [
      subject,
    ]);
    return row?.[0] ?? 0;
  }

  /**
   * Closes the store: ends its pool if it opened one (a shared pool stays open). Later calls
   * fail with `StoreClosedError`.
   */
  close(): Promise<void> {
    return this.connection.close();
  }

  private query<R extends unknown[]>(
    operation: string,
    statement: { name: string; text: string },
    values: unknown[],
  ): Promise<R[]> {
    return this.connection.query<R>(operation, statement, values);
  }
}

/** The store's SQL for one schema, as named (server-side prepared) statements. */
function statements(schema: string) {
  const table = `${escapeIdentifier(schema)}.causeway_snapshots`;
  const subjects = `${escapeIdentifier(schema)}.causeway_snapshot_subjects`;
  const st = (name: string, text: string) => ({ name: `causeway.snapshots.${name}`, text });
  return {
    load: st(
      'load',
      `SELECT revision, state, taken_at, subjects FROM ${table}
       WHERE stream = $1 AND state_version = $2`,
    ),
    // The subject rows change only when the snapshot was written (not kept back as older).
    save: st(
      'save',
      `WITH saved AS (
         INSERT INTO ${table} AS t (stream, state_version, revision, state, taken_at, subjects)
         VALUES ($1, $2, $3, $4::json, $5, $6::text[])
         ON CONFLICT (stream, state_version) DO UPDATE
           SET revision = EXCLUDED.revision, state = EXCLUDED.state,
               taken_at = EXCLUDED.taken_at, subjects = EXCLUDED.subjects
           WHERE EXCLUDED.revision >= t.revision
         RETURNING stream, state_version
       ), cleared AS (
         DELETE FROM ${subjects} AS s USING saved
         WHERE s.stream = saved.stream AND s.state_version = saved.state_version
           AND NOT (s.subject = ANY (coalesce($6::text[], '{}')))
       )
       INSERT INTO ${subjects} (subject, stream, state_version)
       SELECT subject, saved.stream, saved.state_version FROM saved, unnest($6::text[]) AS subject
       ON CONFLICT DO NOTHING`,
    ),
    delete: st(
      'delete',
      `WITH cleared AS (DELETE FROM ${subjects} WHERE stream = $1)
       DELETE FROM ${table} WHERE stream = $1`,
    ),
    deleteBySubject: st(
      'deleteBySubject',
      `WITH hit AS (
         SELECT stream, state_version FROM ${subjects} WHERE subject = $1
         UNION
         SELECT stream, state_version FROM ${table} WHERE subjects IS NULL
       ), gone AS (
         DELETE FROM ${table} AS t USING hit
         WHERE t.stream = hit.stream AND t.state_version = hit.state_version
         RETURNING 1
       ), cleared AS (
         DELETE FROM ${subjects} AS s USING hit
         WHERE s.stream = hit.stream AND s.state_version = hit.state_version
       )
       SELECT count(*)::int FROM gone`,
    ),
  };
}
