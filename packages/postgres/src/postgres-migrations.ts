import { escapeIdentifier, type ClientBase, type Pool } from 'pg';
import { StoreClosedError, StoreUnavailableError } from '@causewayjs/core';
import { pendingMigrations, type Migration } from '@causewayjs/core/internals';
import { checkOut } from './postgres-connection.js';
import { postgresError } from './postgres-errors.js';
import { messageOf } from './postgres-support.js';

/** The name under which the event store records its schema version. */
export const EVENT_STORE_COMPONENT = 'event-store';

/** Table holding one schema version per component sharing a PostgreSQL schema. */
export const SCHEMA_VERSION_TABLE = 'causeway_schema_version';

/**
 * The event store's tables, in order, for a given PostgreSQL schema.
 *
 * Data and metadata are `json`, not `jsonb`: the text is kept verbatim (key order, and
 * strings holding `\u0000`, which `jsonb` refuses), and inserting it costs only a syntax
 * check. Nothing queries inside it. `causeway_log` is the global position counter: a single
 * row whose lock orders commits (see `docs/postgres-ordering.md`).
 *
 * @param schema an unquoted schema name; it is quoted here
 */
export function eventStoreMigrations(schema: string): Migration[] {
  const s = escapeIdentifier(schema);
  return [
    {
      version: 1,
      description: 'streams, events and the global log',
      statements: [
        `CREATE TABLE ${s}.causeway_streams (
          name text PRIMARY KEY,
          revision bigint NOT NULL,
          deleted smallint NOT NULL DEFAULT 0,
          metadata json
        )`,
        `CREATE TABLE ${s}.causeway_events (
          position bigint PRIMARY KEY,
          id uuid NOT NULL UNIQUE,
          stream text NOT NULL,
          revision bigint NOT NULL,
          type text NOT NULL,
          data json NOT NULL,
          metadata json NOT NULL,
          schema_version int NOT NULL,
          recorded_at timestamptz NOT NULL,
          UNIQUE (stream, revision)
        )`,
        `CREATE TABLE ${s}.causeway_log (
          id smallint PRIMARY KEY CHECK (id = 1),
          position bigint NOT NULL
        )`,
        `INSERT INTO ${s}.causeway_log (id, position) VALUES (1, 0)`,
      ],
    },
    {
      version: 2,
      description: 'stream names in code point order, for listStreams',
      statements: [
        `CREATE INDEX causeway_streams_name_c ON ${s}.causeway_streams (name COLLATE "C")`,
      ],
    },
    {
      version: 3,
      description: 'tombstoned streams, indexed: readAll leaves their events out',
      statements: [
        // readAll filters by a hashed subplan over this (once per page), not a probe per row.
        `CREATE INDEX causeway_streams_tombstones ON ${s}.causeway_streams (name) WHERE deleted = 2`,
      ],
    },
    {
      version: 4,
      description: "each event's stream hash, for readAll's partition filter",
      statements: [
        // FNV-1a (32-bit, unsigned) of the name's UTF-8 bytes, exactly as `fnv1a32` computes it
        // in JavaScript. The store computes the hash itself when appending; this function fills
        // the rows written before, and covers any row a process of an older version writes
        // while others are being upgraded (reads take `coalesce(stream_hash, fnv)`).
        `CREATE FUNCTION ${s}.causeway_fnv1a32(name text) RETURNS bigint
          LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fnv$
          DECLARE
            bytes bytea := convert_to(name, 'UTF8');
            hash bigint := 2166136261;
          BEGIN
            FOR i IN 0 .. length(bytes) - 1 LOOP
              hash := ((hash # get_byte(bytes, i)) * 16777619) & 4294967295;
            END LOOP;
            RETURN hash;
          END $fnv$`,
        `ALTER TABLE ${s}.causeway_events ADD COLUMN stream_hash bigint`,
        // Hashed once per stream rather than once per event, joined in by name (every event's
        // stream has a row; one that had not would still be read right, through coalesce).
        `UPDATE ${s}.causeway_events e SET stream_hash = h.hash
          FROM (SELECT name, ${s}.causeway_fnv1a32(name) AS hash FROM ${s}.causeway_streams) h
          WHERE e.stream = h.name`,
      ],
    },
  ];
}

/**
 * Brings the event store's tables in `schema` up to date, creating the schema if missing.
 *
 * Everything runs in one transaction under a transaction-scoped advisory lock keyed on the
 * schema, so processes opening the same database at once take turns: the first migrates,
 * the others then find nothing to do. Nothing is created that already exists, so a role
 * without CREATE rights can open an already migrated schema.
 *
 * @param client a connection not inside a transaction; left outside one on return
 * @throws {SchemaTooNewError} when the schema was migrated further than this code knows
 *   (nothing is changed then).
 */
export function migrateEventStore(client: ClientBase, schema: string): Promise<void> {
  return migratePostgres(client, schema, EVENT_STORE_COMPONENT, eventStoreMigrations(schema));
}

/**
 * Brings one component's tables in `schema` up to date, creating the schema and the version
 * table if missing. It runs in one transaction under an advisory lock per schema, so every
 * component migrates in turn, once, whichever processes open the schema at the same time.
 * Snapshots, schema storage and later components migrate through it under their own name.
 *
 * @param client a connection not inside a transaction; left outside one on return
 * @throws {SchemaTooNewError} when the component was migrated further than this code knows.
 */
export async function migratePostgres(
  client: ClientBase,
  schema: string,
  component: string,
  migrations: readonly Migration[],
): Promise<void> {
  const s = escapeIdentifier(schema);
  const versionTable = `${s}.${SCHEMA_VERSION_TABLE}`;
  await client.query('BEGIN');
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('causeway.migrate'), hashtext($1))", [
      schema,
    ]);
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (found.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
    const table = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [
      versionTable,
    ]);
    if (table.rows[0]?.t == null) {
      await client.query(`CREATE TABLE ${versionTable} (
        component text PRIMARY KEY,
        version int NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    }
    const current = await client.query<{ version: number }>(
      `SELECT version FROM ${versionTable} WHERE component = $1`,
      [component],
    );
    const pending = pendingMigrations(current.rows[0]?.version ?? 0, migrations);
    for (const migration of pending) {
      for (const statement of migration.statements) await client.query(statement);
    }
    const last = pending[pending.length - 1];
    if (last) {
      await client.query(
        `INSERT INTO ${versionTable} (component, version) VALUES ($1, $2)
         ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, applied_at = now()`,
        [component, last.version],
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Creates or migrates one component's tables in `schema` on one connection of `pool`.
 *
 * @param what names the tables in error messages, e.g. `'projection'`.
 * @param where says where the server is, for error messages (the redacted URL, or nothing).
 * @throws {SchemaTooNewError} when a newer Causeway migrated the component's tables.
 * @throws {StoreUnavailableError} when the server cannot be reached or the tables prepared;
 *   `STORE_BUSY`, `STORAGE_FULL` or `WRITE_REJECTED` errors when the database says so
 *   (see {@link postgresError}).
 */
export async function migrateOnPool(
  pool: Pool,
  schema: string,
  component: string,
  migrations: readonly Migration[],
  what: string,
  where = '',
): Promise<void> {
  let lease;
  try {
    lease = await checkOut(pool);
  } catch (error) {
    throw new StoreUnavailableError(
      `Cannot connect to PostgreSQL${where}: ${messageOf(error)}`,
      error,
    );
  }
  try {
    await migratePostgres(lease.client, schema, component, migrations);
    lease.release();
  } catch (error) {
    lease.release(true);
    // A lock held past lock_timeout is STORE_BUSY, a full disk STORAGE_FULL...
    throw postgresError(`preparation of the ${what} tables in schema "${schema}"${where}`, error);
  }
}

/**
 * Creates or migrates one component's tables in an open store's schema, on the store's pool:
 * what each Causeway component beside the events (subscriptions, projections, consumer
 * groups) runs when it is first used.
 *
 * @throws {StoreClosedError} when the store is closed.
 */
export async function migrateStoreComponent(
  store: { readonly pool: Pool; readonly schema: string; readonly isClosed: boolean },
  component: string,
  migrations: readonly Migration[],
  what: string,
): Promise<void> {
  if (store.isClosed) throw new StoreClosedError();
  await migrateOnPool(store.pool, store.schema, component, migrations, what);
}
