import { escapeIdentifier, type QueryResultRow } from 'pg';
import { InvalidArgumentError, StoreClosedError, type SubscriptionStorage } from '@causewayjs/core';
import type { Migration } from '@causewayjs/core/internals';
import { PostgresCheckpointStore } from './postgres-checkpoint-store.js';
import type { PostgresEventStore, PostgresTransaction } from './postgres-event-store.js';
import { PostgresInboxStore } from './postgres-inbox-store.js';
import { PostgresLeaseStore } from './postgres-lease-store.js';
import { migrateStoreComponent } from './postgres-migrations.js';
import { PostgresParkedEventStore } from './postgres-parked-event-store.js';
import { postgresComponentError } from './postgres-errors.js';

/** The name under which the subscription tables record their schema version. */
export const POSTGRES_SUBSCRIPTIONS_COMPONENT = 'subscriptions';

/**
 * The subscription tables (checkpoints, parked events, leases, inbox) for a given schema,
 * version by version. Never edit a published step: add one. Lease times are milliseconds
 * from the subscribers' clock (as on every adapter), not the server's.
 */
export function postgresSubscriptionMigrations(schema: string): Migration[] {
  const s = escapeIdentifier(schema);
  return [
    {
      version: 1,
      description: 'checkpoints, parked events, leases, inbox',
      statements: [
        `CREATE TABLE ${s}.causeway_checkpoints (
          name text PRIMARY KEY,
          position bigint NOT NULL,
          updated_at timestamptz NOT NULL
        )`,
        `CREATE TABLE ${s}.causeway_parked_events (
          subscription text NOT NULL,
          position bigint NOT NULL,
          event_id text NOT NULL,
          stream text NOT NULL,
          type text NOT NULL,
          reason text NOT NULL,
          error_name text NOT NULL,
          error_message text NOT NULL,
          error_stack text,
          error_code text,
          attempts int NOT NULL,
          parked_at timestamptz NOT NULL,
          retry_requested boolean NOT NULL DEFAULT false,
          PRIMARY KEY (subscription, position)
        )`,
        `CREATE INDEX causeway_parked_events_retry ON ${s}.causeway_parked_events (subscription, position)
          WHERE retry_requested`,
        `CREATE TABLE ${s}.causeway_leases (
          name text PRIMARY KEY,
          owner text NOT NULL,
          expires_at bigint NOT NULL,
          acquired_at bigint NOT NULL
        )`,
        `CREATE TABLE ${s}.causeway_inbox (
          consumer text NOT NULL,
          event_id text NOT NULL,
          processed_at timestamptz NOT NULL,
          PRIMARY KEY (consumer, event_id)
        )`,
      ],
    },
    {
      version: 2,
      description: 'lease fencing epochs',
      // Existing leases start at epoch 0; their next change of hands makes it 1.
      statements: [`ALTER TABLE ${s}.causeway_leases ADD COLUMN epoch bigint NOT NULL DEFAULT 0`],
    },
  ];
}

/**
 * Creates or migrates the subscription tables in the store's schema, on one of its pooled
 * connections (under the schema's migration lock).
 *
 * @throws {SchemaTooNewError} when a newer Causeway migrated the tables.
 * @throws {StoreUnavailableError} when the tables cannot be prepared.
 */
export function migratePostgresSubscriptionTables(store: PostgresEventStore): Promise<void> {
  return migrateStoreComponent(
    store,
    POSTGRES_SUBSCRIPTIONS_COMPONENT,
    postgresSubscriptionMigrations(store.schema),
    'subscription',
  );
}

/**
 * Subscription storage in the store's PostgreSQL schema: checkpoints, parked events, leases
 * and the inbox, in their own tables (migrated as the `subscriptions` component), on the
 * store's connection pool. Handlers get PostgreSQL transactions (`tx.client`), so SQL read
 * models commit with their checkpoint.
 *
 * @example
 * ```ts
 * import { PostgresEventStore, postgresSubscriptionStorage } from '@causewayjs/postgres';
 * import { Subscription } from '@causewayjs/core';
 *
 * const store = await PostgresEventStore.open('postgres://app@db/shop?schema=events');
 * const storage = await postgresSubscriptionStorage(store);
 * const totals = new Subscription({ name: 'order-totals', storage, handler });
 * await totals.start();
 * ```
 */
export async function postgresSubscriptionStorage(
  store: PostgresEventStore,
): Promise<SubscriptionStorage<PostgresTransaction>> {
  await migratePostgresSubscriptionTables(store);
  return {
    store,
    checkpoints: new PostgresCheckpointStore(store),
    parked: new PostgresParkedEventStore(store),
    leases: new PostgresLeaseStore(store),
    inbox: new PostgresInboxStore(store),
  };
}

/** A named (server-side prepared) statement. */
export interface NamedStatement {
  name: string;
  text: string;
}

/**
 * What the PostgreSQL subscription components share: the tables' qualified names, named
 * statements, and running them in a given transaction or on the store's pool.
 */
export class PostgresSubscriptionTables {
  constructor(private readonly store: PostgresEventStore) {}

  /** `schema.table`, quoted. */
  table(name: string): string {
    return `${escapeIdentifier(this.store.schema)}.${name}`;
  }

  /** A named statement (names are per connection, and the store's pool serves one schema). */
  statement(name: string, text: string): NamedStatement {
    return { name: `causeway.subscriptions.${name}`, text };
  }

  /** Runs `statement` in `tx`, or on its own (autocommit) without one. */
  async query<R extends QueryResultRow>(
    operation: string,
    statement: NamedStatement,
    values: unknown[],
    tx?: PostgresTransaction,
  ): Promise<{ rows: R[]; rowCount: number }> {
    if (tx && !tx.active)
      throw new InvalidArgumentError('tx', 'the transaction has already committed or rolled back');
    if (!tx && this.store.isClosed) throw new StoreClosedError();
    try {
      const result = await (tx ? tx.client : this.store.pool).query<R>({ ...statement, values });
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (error) {
      throw postgresComponentError(operation, error, this.store.isClosed);
    }
  }
}
