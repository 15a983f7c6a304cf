import { escapeIdentifier } from 'pg';
import {
  encodeJson,
  type CompatibilityMode,
  type JsonSchema,
  type SchemaRecord,
  type SchemaStorage,
} from '@causewayjs/core';
import type { Migration } from '@causewayjs/core/internals';
import {
  connectPostgresComponent,
  type PostgresComponentConnection,
  type PostgresComponentOptions,
  type PostgresComponentSource,
} from './postgres-component.js';

/** The name under which the registry's tables record their schema version. */
const COMPONENT = 'schema-registry';

/**
 * The registry's tables, version by version, for a given PostgreSQL schema. Never edit a
 * published step: add one. Schemas are `json`, kept verbatim as registered.
 */
function schemaRegistryMigrations(schema: string): Migration[] {
  const s = escapeIdentifier(schema);
  return [
    {
      version: 1,
      description: 'event schemas and compatibility modes',
      statements: [
        `CREATE TABLE ${s}.causeway_event_schemas (
          type text NOT NULL,
          version int NOT NULL,
          schema json NOT NULL,
          registered_at timestamptz NOT NULL,
          PRIMARY KEY (type, version)
        )`,
        `CREATE TABLE ${s}.causeway_schema_compatibility (
          type text PRIMARY KEY,
          mode text NOT NULL
        )`,
      ],
    },
  ];
}

/** Options of {@link PostgresSchemaStorage.open}. */
export type PostgresSchemaStorageOptions = PostgresComponentOptions;

/**
 * The schema registry's storage in the event store's PostgreSQL database and schema: every
 * process using the database shares one registry. Schemas are kept in
 * `causeway_event_schemas`, modes in `causeway_schema_compatibility` (migrated together as
 * the `schema-registry` component).
 *
 * @example
 * ```ts
 * import { PostgresEventStore, PostgresSchemaStorage } from '@causewayjs/postgres';
 *
 * const url = 'postgres://app@db:5432/shop?schema=events';
 * const events = await PostgresEventStore.open(url);
 * const storage = await PostgresSchemaStorage.open(url);
 * const store = withSchemas(events, { registry: await SchemaRegistry.open({ storage }) });
 * ```
 */
export class PostgresSchemaStorage implements SchemaStorage {
  private readonly sql: ReturnType<typeof statements>;

  private constructor(private readonly connection: PostgresComponentConnection) {
    this.sql = statements(connection.schema);
  }

  /**
   * Connects to the event store's database and schema, creates or migrates the
   * registry's tables in the schema, and returns the open storage.
   *
   * @param source the event store's URL (`postgres://user:password@host:5432/database`,
   *   optionally with `?schema=name`; a pool is opened, and ended by `close()`), or an open
   *   `PostgresEventStore` (or any `{ pool, schema }`), whose pool is shared and left open
   * @throws {StoreUnavailableError} when the server cannot be reached or the tables prepared.
   * @throws {SchemaTooNewError} when a newer Causeway migrated the registry's tables.
   */
  static async open(
    source: PostgresComponentSource,
    options: PostgresSchemaStorageOptions = {},
  ): Promise<PostgresSchemaStorage> {
    const connection = await connectPostgresComponent(
      source,
      options,
      COMPONENT,
      schemaRegistryMigrations,
    );
    return new PostgresSchemaStorage(connection);
  }

  /** The PostgreSQL schema holding the tables. */
  get schema(): string {
    return this.connection.schema;
  }

  async listSchemas(): Promise<SchemaRecord[]> {
    const rows = await this.query<[string, number, JsonSchema, Date]>(
      'listSchemas',
      this.sql.list,
      [],
    );
    // The driver parses `json` on every read, so each call hands out fresh schemas. Sorted
    // here, as the memory storage sorts (UTF-16 code units), whatever the collation.
    return rows
      .map(([type, version, schema, registeredAt]) => ({ type, version, schema, registeredAt }))
      .sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.version - b.version));
  }

  async insertSchema(record: SchemaRecord, compatibility?: CompatibilityMode): Promise<boolean> {
    const schema = encodeJson(record.schema);
    // One statement, so the schema and its mode commit together.
    const [row] = await this.query<[number]>('insertSchema', this.sql.insert, [
      record.type,
      record.version,
      schema,
      record.registeredAt,
      compatibility ?? null,
    ]);
    return row?.[0] === 1;
  }

  async listCompatibility(): Promise<Map<string, CompatibilityMode>> {
    const rows = await this.query<[string, CompatibilityMode]>(
      'listCompatibility',
      this.sql.listModes,
      [],
    );
    return new Map(rows);
  }

  async setCompatibility(type: string, mode: CompatibilityMode): Promise<void> {
    await this.query('setCompatibility', this.sql.setMode, [type, mode]);
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

/** The storage's SQL for one schema, as named (server-side prepared) statements. */
function statements(schema: string) {
  const s = escapeIdentifier(schema);
  const schemas = `${s}.causeway_event_schemas`;
  const modes = `${s}.causeway_schema_compatibility`;
  const st = (name: string, text: string) => ({ name: `causeway.schemas.${name}`, text });
  return {
    list: st('list', `SELECT type, version, schema, registered_at FROM ${schemas}`),
    insert: st(
      'insert',
      // A concurrent insert of the same version waits for the other to commit, then does
      // nothing: exactly one writer gets the version.
      `WITH inserted AS (
         INSERT INTO ${schemas} (type, version, schema, registered_at)
         VALUES ($1, $2, $3::json, $4)
         ON CONFLICT (type, version) DO NOTHING
         RETURNING type
       ), mode AS (
         INSERT INTO ${modes} (type, mode)
         SELECT type, $5::text FROM inserted WHERE $5::text IS NOT NULL
         ON CONFLICT (type) DO UPDATE SET mode = EXCLUDED.mode
       )
       SELECT count(*)::int FROM inserted`,
    ),
    listModes: st('list_modes', `SELECT type, mode FROM ${modes} ORDER BY type`),
    setMode: st(
      'set_mode',
      `INSERT INTO ${modes} (type, mode) VALUES ($1, $2)
       ON CONFLICT (type) DO UPDATE SET mode = EXCLUDED.mode`,
    ),
  };
}
