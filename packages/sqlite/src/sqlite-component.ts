import type Database from 'better-sqlite3';
import { StoreClosedError } from '@causewayjs/core';
import type { Migration } from '@causewayjs/core/internals';
import { sqliteCall } from './sqlite-errors.js';
import { SqliteEventStore } from './sqlite-event-store.js';
import { migrateSqlite } from './sqlite-migrations.js';

/**
 * Where a SQLite component that keeps tables in a store's file (snapshots, schemas, data
 * keys) runs its statements, and the one place where its driver failures become Causeway
 * errors (see {@link sqliteCall}): `STORE_BUSY`, `STORAGE_FULL`, `WRITE_REJECTED` or
 * `STORE_UNAVAILABLE`, the driver's error as `cause`.
 */
export interface SqliteComponentConnection {
  /** The connection: the store's own, or the database the component was opened on. */
  readonly database: Database.Database;
  /** Runs a read; whatever it throws becomes a rejection, driver failures typed. */
  read<T>(work: () => T): Promise<T>;
  /**
   * Runs a write: on an event store, under its write lock (see `withWriteLock`), so it never
   * meets the store's own writers. Whatever it throws becomes a rejection, driver failures
   * typed.
   */
  write<T>(work: () => T): Promise<T>;
}

/** A component that keeps tables in a store's file: its name and its migrations. */
export interface SqliteComponentSpec {
  /** The name its tables record their version under, and that messages use. */
  component: string;
  migrations: readonly Migration[];
}

/**
 * Opens a component in the file of `source`, an open {@link SqliteEventStore} or a database:
 * migrates its tables, then `make`s it (preparing its statements) on its connection. Driver
 * failures of both steps are typed as every later call's are.
 *
 * @throws {StoreClosedError} when `source` is closed.
 * @throws {SchemaTooNewError} when a newer Causeway migrated the component's tables.
 * @throws {StoreBusyError} or another typed error when the database fails (see {@link sqliteCall}).
 */
export function openSqliteComponent<T>(
  source: SqliteEventStore | Database.Database,
  { component, migrations }: SqliteComponentSpec,
  make: (connection: SqliteComponentConnection) => T,
): T {
  const database = source instanceof SqliteEventStore ? source.database : source;
  if (!database.open) throw new StoreClosedError();
  sqliteCall(`${component} migration`, () => migrateSqlite(database, component, migrations));
  const guarded =
    <R>(operation: string, work: () => R) =>
    () =>
      sqliteCall(`${component} ${operation}`, work);
  const run = <R>(call: () => R) => new Promise<R>((resolve) => resolve(call()));
  const connection: SqliteComponentConnection = {
    database,
    read: (work) => run(guarded('read', work)),
    write:
      source instanceof SqliteEventStore
        ? (work) => source.withWriteLock(guarded('write', work))
        : (work) => run(guarded('write', work)),
  };
  return sqliteCall(`${component} open`, () => make(connection));
}
