import type Database from 'better-sqlite3';
import {
  StoreClosedError,
  decodeJson,
  encodeJson,
  type CompatibilityMode,
  type JsonSchema,
  type SchemaRecord,
  type SchemaStorage,
} from '@causewayjs/core';
import type { Migration } from '@causewayjs/core/internals';
import type { SqliteEventStore } from './sqlite-event-store.js';
import { openSqliteComponent, type SqliteComponentConnection } from './sqlite-component.js';

/** The name under which the registry's tables record their schema version. */
const COMPONENT = 'schema-registry';

/** The registry's tables, version by version. Never edit a published step: add one. */
const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'event schemas and compatibility modes',
    statements: [
      `CREATE TABLE causeway_event_schemas (
         type TEXT NOT NULL,
         version INTEGER NOT NULL,
         schema TEXT NOT NULL,
         registered_at INTEGER NOT NULL,
         PRIMARY KEY (type, version)
       )`,
      `CREATE TABLE causeway_schema_compatibility (
         type TEXT PRIMARY KEY,
         mode TEXT NOT NULL
       ) WITHOUT ROWID`,
    ],
  },
];

type SchemaRow = { type: string; version: number; schema: string; registered_at: number };

/**
 * The schema registry's storage in the event store's SQLite file: every process opening the
 * file shares one registry. Schemas are kept in `causeway_event_schemas`, modes in
 * `causeway_schema_compatibility` (migrated together as the `schema-registry` component).
 *
 * @example
 * ```ts
 * import { SqliteEventStore, SqliteSchemaStorage } from '@causewayjs/sqlite';
 *
 * const events = SqliteEventStore.open('./data/events.db');
 * const registry = await SchemaRegistry.open({ storage: SqliteSchemaStorage.open(events) });
 * const store = withSchemas(events, { registry });
 * ```
 */
export class SqliteSchemaStorage implements SchemaStorage {
  private readonly statements;
  private readonly insert: (
    record: SchemaRow,
    compatibility: CompatibilityMode | undefined,
  ) => boolean;

  private readonly database: Database.Database;

  private constructor(
    /** Where every statement runs, its driver failures typed. */
    private readonly connection: SqliteComponentConnection,
  ) {
    const database = (this.database = connection.database);
    this.statements = {
      list: database.prepare<[], SchemaRow>(
        'SELECT type, version, schema, registered_at FROM causeway_event_schemas',
      ),
      insert: database.prepare<[string, number, string, number]>(
        `INSERT INTO causeway_event_schemas (type, version, schema, registered_at)
         VALUES (?, ?, ?, ?) ON CONFLICT (type, version) DO NOTHING`,
      ),
      listModes: database.prepare<[], { type: string; mode: CompatibilityMode }>(
        'SELECT type, mode FROM causeway_schema_compatibility ORDER BY type',
      ),
      setMode: database.prepare<[string, string]>(
        `INSERT INTO causeway_schema_compatibility (type, mode) VALUES (?, ?)
         ON CONFLICT (type) DO UPDATE SET mode = excluded.mode`,
      ),
    };
    const insert = database.transaction(
      (row: SchemaRow, compatibility: CompatibilityMode | undefined): boolean => {
        const { changes } = this.statements.insert.run(
          row.type,
          row.version,
          row.schema,
          row.registered_at,
        );
        if (changes === 0) return false;
        if (compatibility !== undefined) this.statements.setMode.run(row.type, compatibility);
        return true;
      },
    );
    // IMMEDIATE: take the write lock first, so another process cannot slip in between.
    this.insert = (row, compatibility) => insert.immediate(row, compatibility);
  }

  /**
   * The registry storage in the same file as `source`, an open {@link SqliteEventStore} or
   * its `database`. Creates or migrates the registry's tables. Closing the event store (or
   * the database) closes this too.
   *
   * @throws {SchemaTooNewError} when a newer Causeway migrated the registry's tables.
   */
  static open(source: SqliteEventStore | Database.Database): SqliteSchemaStorage {
    return openSqliteComponent(
      source,
      { component: COMPONENT, migrations },
      (connection) => new SqliteSchemaStorage(connection),
    );
  }

  listSchemas(): Promise<SchemaRecord[]> {
    return this.connection.read(() => {
      this.assertOpen();
      const records = this.statements.list.all().map((row) => ({
        type: row.type,
        version: row.version,
        schema: decodeJson<JsonSchema>(row.schema),
        registeredAt: new Date(row.registered_at),
      }));
      // Sorted here, as the memory storage sorts (UTF-16 code units), whatever the collation.
      return records.sort(byTypeThenVersion);
    });
  }

  insertSchema(record: SchemaRecord, compatibility?: CompatibilityMode): Promise<boolean> {
    return this.connection.write(() => {
      const row: SchemaRow = {
        type: record.type,
        version: record.version,
        schema: encodeJson(record.schema),
        registered_at: record.registeredAt.getTime(),
      };
      this.assertOpen();
      return this.insert(row, compatibility);
    });
  }

  listCompatibility(): Promise<Map<string, CompatibilityMode>> {
    return this.connection.read(() => {
      this.assertOpen();
      const rows = this.statements.listModes.all();
      return new Map(rows.map((r) => [r.type, r.mode]));
    });
  }

  setCompatibility(type: string, mode: CompatibilityMode): Promise<void> {
    return this.connection.write(() => {
      this.assertOpen();
      this.statements.setMode.run(type, mode);
    });
  }

  private assertOpen(): void {
    if (!this.database.open) throw new StoreClosedError();
  }
}

function byTypeThenVersion(a: SchemaRecord, b: SchemaRecord): number {
  return a.type < b.type ? -1 : a.type > b.type ? 1 : a.version - b.version;
}
