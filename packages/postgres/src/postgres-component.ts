import { Pool, type QueryArrayConfig } from 'pg';
import { InvalidArgumentError, StoreClosedError } from '@causewayjs/core';
import type { Migration } from '@causewayjs/core/internals';
import { splitPostgresUrl } from './postgres-event-store.js';
import { guardPool } from './postgres-connection.js';
import { postgresComponentError } from './postgres-errors.js';
import { migrateOnPool } from './postgres-migrations.js';
import { assertSchemaName, redact } from './postgres-support.js';

/**
 * Where a PostgreSQL store that keeps tables next to the events connects: the event store's
 * URL (the store then opens its own pool), or an open pool with the schema to use, such as
 * an open `PostgresEventStore` (which has both), whose pool is then shared and left open.
 * A pool serves one schema: prepared statements are named per connection, not per schema.
 */
export type PostgresComponentSource = string | { readonly pool: Pool; readonly schema: string };

/** Options of the PostgreSQL stores that keep tables next to the events (snapshots, schemas). */
export interface PostgresComponentOptions {
  /**
   * With a URL: the PostgreSQL schema holding the tables, created if missing; use the event
   * store's. Default: the URL's `?schema=` parameter, else `public`, as for the event store.
   * Ignored with a pool, whose schema is given with it.
   */
  schema?: string;
  /** With a URL: most connections in the store's own pool. Default 4. */
  maxConnections?: number;
}

/** Longest identifier PostgreSQL keeps without truncating (NAMEDATALEN - 1 bytes). */

/** A component's connection pool and schema, migrated and ready. */
export interface PostgresComponentConnection {
  pool: Pool;
  schema: string;
  /** Whether the store was closed, or the pool it shares was ended. */
  readonly closed: boolean;
  /** Wraps a driver error for `operation` (see `postgresComponentError`). */
  failure(operation: string, error: unknown): Error;
  /** Runs a named statement, rows as arrays; driver errors become {@link failure}s. */
  query<R extends unknown[]>(
    operation: string,
    statement: { name: string; text: string },
    values: unknown[],
  ): Promise<R[]>;
  /** Ends the pool if the store opened it; later calls fail as closed either way. */
  close(): Promise<void>;
}

/**
 * Connects to `source` and brings `component`'s tables in the schema up to date. Used by
 * the PostgreSQL stores that share the event store's database and schema.
 *
 * @throws {StoreUnavailableError} when the server cannot be reached or the tables prepared.
 * @throws {SchemaTooNewError} when a newer Causeway migrated the component further.
 */
export async function connectPostgresComponent(
  source: PostgresComponentSource,
  options: PostgresComponentOptions,
  component: string,
  migrations: (schema: string) => readonly Migration[],
): Promise<PostgresComponentConnection> {
  let pool: Pool;
  let schema: string;
  let where: string;
  const owned = typeof source === 'string';
  if (typeof source === 'string') {
    const { connectionString, schema: urlSchema } = splitPostgresUrl(source);
    schema = options.schema ?? urlSchema ?? 'public';
    assertSchemaName(schema);
    const max = options.maxConnections ?? 4;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new InvalidArgumentError('maxConnections', 'must be an integer >= 1');
    }
    // A connection that breaks must not end the process: see `guardPool`.
    pool = guardPool(new Pool({ connectionString, max }));
    where = ` at ${redact(connectionString)}`;
  } else {
    ({ pool, schema } = source);
    assertSchemaName(schema);
    if (pool.ending || pool.ended) throw new StoreClosedError();
    where = '';
  }
  const release = () => (owned ? pool.end().catch(() => undefined) : Promise.resolve());
  try {
    await migrateOnPool(pool, schema, component, migrations(schema), component, where);
  } catch (error) {
    await release();
    throw error;
  }
  let closed = false;
  const isClosed = () => closed || pool.ending || pool.ended;
  const failure = (operation: string, error: unknown): Error =>
    postgresComponentError(`${component} ${operation}`, error, isClosed());
  return {
    pool,
    schema,
    get closed() {
      return isClosed();
    },
    failure,
    async query<R extends unknown[]>(
      operation: string,
      statement: { name: string; text: string },
      values: unknown[],
    ): Promise<R[]> {
      if (isClosed()) throw new StoreClosedError();
      const config: QueryArrayConfig = { ...statement, values, rowMode: 'array' };
      try {
        return (await pool.query<R>(config)).rows;
      } catch (error) {
        throw failure(operation, error);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned) await pool.end();
    },
  };
}
