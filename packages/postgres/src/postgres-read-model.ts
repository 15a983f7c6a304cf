import type { PoolClient } from 'pg';
import type { DocumentsHandle } from '@causewayjs/core';

/**
 * The read-model handle of projections on PostgreSQL (`postgresProjectionStore`): a connection
 * and the names of the build's tables in the store's schema. In `setup` and `apply`, `client`
 * is inside the transaction: statements commit with the append (inline) or the checkpoint
 * (async), or not at all. In queries it is a pooled connection outside any transaction.
 *
 * `documents(name, { indexes })` ({@link DocumentsHandle}) keeps JSON documents instead of
 * rows: a `jsonb` table `table(name)` with expression indexes, written on the same client, so
 * a projection written against it runs unchanged on every adapter. In `apply` (and
 * `applyBatch`, `forget`) the projector holds document writes back and writes each document
 * once per batch, in one statement, just before the checkpoint; reads through `documents()`
 * see them at once. Raw SQL on `client` that must see them awaits `flush()` first.
 *
 * @example
 * ```ts
 * const totals = defineProjection<PostgresReadModel>({
 *   name: 'order-totals',
 *   version: 1,
 *   handles: ['order.placed'],
 *   setup: (rm) => rm.client.query(`CREATE TABLE ${rm.table()} (id text PRIMARY KEY, total bigint NOT NULL)`),
 *   apply: async (event, rm) => {
 *     await rm.client.query(`INSERT INTO ${rm.table()} (id, total) VALUES ($1, $2)`, [
 *       event.stream,
 *       (event.data as { total: number }).total,
 *     ]);
 *   },
 * });
 * ```
 */
export interface PostgresReadModel extends DocumentsHandle {
  /** The version of the build this handle reads or writes. */
  readonly version: number;
  /** The connection to run statements on (see above); do not keep it past the call. */
  readonly client: PoolClient;
  /**
   * The build's table `name` (its main table without one), schema-qualified and quoted:
   * `"events"."order_totals_v1"`, `"events"."order_totals_v1__lines"`. Every table and view
   * named this way is dropped with the build.
   */
  table(name?: string): string;
  /**
   * The same name quoted but without the schema, for what PostgreSQL names unqualified:
   * indexes and constraints (`CREATE INDEX ${rm.identifier('by_total')} ON ${rm.table()} ...`).
   */
  identifier(name?: string): string;
  /**
   * Writes out the document writes held back so far in this transaction (see above), so that
   * raw SQL on `client` sees them. Nothing to do outside `apply`, or when nothing waits.
   */
  flush(): Promise<void>;
}
