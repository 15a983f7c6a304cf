import type { Migration } from '@causewayjs/core/internals';
import type { SubscriptionStorage } from '@causewayjs/core';
import { SqliteCheckpointStore } from './sqlite-checkpoint-store.js';
import type { SqliteEventStore, SqliteTransaction } from './sqlite-event-store.js';
import { SqliteInboxStore } from './sqlite-inbox-store.js';
import { SqliteLeaseStore } from './sqlite-lease-store.js';
import { migrateSqlite } from './sqlite-migrations.js';
import { SqliteParkedEventStore } from './sqlite-parked-event-store.js';

/** The name under which the subscription tables record their schema version. */
export const SQLITE_SUBSCRIPTIONS_COMPONENT = 'subscriptions';

/**
 * The subscription tables (checkpoints, parked events, leases, inbox), version by version.
 * Never edit a published step: add one.
 */
export const sqliteSubscriptionMigrations: readonly Migration[] = [
  {
    version: 1,
    description: 'checkpoints, parked events, leases, inbox',
    statements: [
      `CREATE TABLE causeway_checkpoints (
         name TEXT PRIMARY KEY,
         position INTEGER NOT NULL,
         updated_at INTEGER NOT NULL
       ) WITHOUT ROWID`,
      // A rowid table: error stacks can be long, and SQLite keeps long rows out of its key b-tree.
      `CREATE TABLE causeway_parked_events (
         subscription TEXT NOT NULL,
         position INTEGER NOT NULL,
         event_id TEXT NOT NULL,
         stream TEXT NOT NULL,
         type TEXT NOT NULL,
         reason TEXT NOT NULL,
         error_name TEXT NOT NULL,
         error_message TEXT NOT NULL,
         error_stack TEXT,
         error_code TEXT,
         attempts INTEGER NOT NULL,
         parked_at INTEGER NOT NULL,
         retry_requested INTEGER NOT NULL DEFAULT 0,
         PRIMARY KEY (subscription, position)
       )`,
      `CREATE INDEX causeway_parked_events_retry ON causeway_parked_events (subscription, position)
         WHERE retry_requested = 1`,
      `CREATE TABLE causeway_leases (
         name TEXT PRIMARY KEY,
         owner TEXT NOT NULL,
         expires_at INTEGER NOT NULL,
         acquired_at INTEGER NOT NULL
       ) WITHOUT ROWID`,
      `CREATE TABLE causeway_inbox (
         consumer TEXT NOT NULL,
         event_id TEXT NOT NULL,
         processed_at INTEGER NOT NULL,
         PRIMARY KEY (consumer, event_id)
       ) WITHOUT ROWID`,
    ],
  },
  {
    version: 2,
    description: 'lease fencing epochs',
    // Existing leases start at epoch 0; their next change of hands makes it 1.
    statements: ['ALTER TABLE causeway_leases ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0'],
  },
];

/**
 * Creates or migrates the subscription tables in the store's file. The migration runs in a
 * transaction of the store, so it never competes with the store's other writers.
 *
 * @throws {SchemaTooNewError} when a newer Causeway migrated the tables.
 */
export async function migrateSqliteSubscriptionTables(store: SqliteEventStore): Promise<void> {
  await store.transaction((tx) => {
    migrateSqlite(tx.database, SQLITE_SUBSCRIPTIONS_COMPONENT, sqliteSubscriptionMigrations);
    return Promise.resolve();
  });
}

/**
 * Subscription storage in the store's SQLite file: checkpoints, parked events, leases and the
 * inbox, in their own tables (migrated as the `subscriptions` component). Handlers get
 * SQLite transactions (`tx.database`), so SQL read models commit with their checkpoint.
 *
 * @example
 * ```ts
 * import { SqliteEventStore, sqliteSubscriptionStorage } from '@causewayjs/sqlite';
 * import { Subscription } from '@causewayjs/core';
 *
 * const store = SqliteEventStore.open('./data/events.db');
 * const storage = await sqliteSubscriptionStorage(store);
 * const totals = new Subscription({ name: 'order-totals', storage, handler });
 * await totals.start();
 * ```
 */
export async function sqliteSubscriptionStorage(
  store: SqliteEventStore,
): Promise<SubscriptionStorage<SqliteTransaction>> {
  await migrateSqliteSubscriptionTables(store);
  return {
    store,
    checkpoints: new SqliteCheckpointStore(store),
    parked: new SqliteParkedEventStore(store),
    leases: new SqliteLeaseStore(store),
    inbox: new SqliteInboxStore(store),
  };
}
