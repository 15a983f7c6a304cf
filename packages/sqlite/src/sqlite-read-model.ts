import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type { DocumentsHandle } from '@causewayjs/core';

/**
 * The read-model handle of projections on SQLite (`sqliteProjectionStore`): a connection and
 * the names of the build's tables. In `setup` and `apply`, `database` is the transaction's
 * connection: statements run there commit with the append (inline) or the checkpoint (async),
 * or not at all. In queries it is the store's connection, which sees committed data.
 *
 * `documents(name, { indexes })` ({@link DocumentsHandle}) keeps JSON documents instead of
 * rows: a table `table(name)` of JSON text with `json_extract` expression indexes, written on
 * the same connection, so a projection written against it runs unchanged on every adapter.
 * In `apply` (and `applyBatch`, `forget`) the projector holds document writes back and writes
 * each document once per batch, just before the checkpoint; reads through `documents()` see
 * them at once, and so do statements on `database` or from `prepare`, which write them out
 * first (take `database` after the document writes it must see).
 *
 * @example
 * ```ts
 * const totals = defineProjection<SqliteReadModel>({
 *   name: 'order-totals',
 *   version: 1,
 *   handles: ['order.placed'],
 *   setup: (rm) => rm.database.exec(`CREATE TABLE ${rm.table()} (id TEXT PRIMARY KEY, total INTEGER NOT NULL)`),
 *   apply: (event, rm) => {
 *     rm.prepare(`INSERT INTO ${rm.table()} (id, total) VALUES (?, ?)`)
 *       .run(event.stream, (event.data as { total: number }).total);
 *   },
 * });
 * ```
 */
export interface SqliteReadModel extends DocumentsHandle {
  /** The version of the build this handle reads or writes. */
  readonly version: number;
  /** The connection to run statements on (see above); do not keep it past the call. */
  readonly database: Database.Database;
  /**
   * The name of the build's table `name` (its main table without one): `order_totals_v1`,
   * `order_totals_v1__lines`. Name indexes with it too, so that they never collide. Every
   * table and view named this way is dropped with the build.
   */
  table(name?: string): string;
  /**
   * `database.prepare(sql)`, prepared once per connection and kept: the cheap way to run the
   * same statement for every event.
   */
  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R>;
}
