/**
 * The SQLite adapter (`@causewayjs/sqlite`): the embedded, default event store.
 * @packageDocumentation
 * @module @causewayjs/sqlite
 */
export { SqliteEventStore } from './sqlite-event-store.js';
export type { SqliteEventStoreOptions } from './sqlite-event-store.js';
export type { SqliteWatchState, SqliteWatchStats } from './sqlite-commit-watcher.js';
export { migrateSqlite } from './sqlite-migrations.js';
export { SqliteSnapshotStore } from './sqlite-snapshot-store.js';
export { SqliteSchemaStorage } from './sqlite-schema-storage.js';
export type { SqliteTransaction } from './sqlite-event-store.js';
export {
  sqliteSubscriptionStorage,
  migrateSqliteSubscriptionTables,
  sqliteSubscriptionMigrations,
  SQLITE_SUBSCRIPTIONS_COMPONENT,
} from './sqlite-subscription-storage.js';
export { SqliteCheckpointStore } from './sqlite-checkpoint-store.js';
export { SqliteParkedEventStore } from './sqlite-parked-event-store.js';
export { SqliteLeaseStore } from './sqlite-lease-store.js';
export { SqliteInboxStore } from './sqlite-inbox-store.js';
export {
  SqliteSagaStore,
  sqliteSagaStore,
  sqliteSagaMigrations,
  SQLITE_SAGAS_COMPONENT,
} from './sqlite-saga-store.js';
export { sqliteProjectionStore, migrateSqliteProjectionTables } from './sqlite-projection-store.js';
export type { SqliteReadModel } from './sqlite-read-model.js';
export {
  SqliteGroupMembershipStore,
  sqliteGroupMembership,
  migrateSqliteGroupTables,
  sqliteGroupMigrations,
  SQLITE_GROUPS_COMPONENT,
} from './sqlite-group-membership-store.js';
export { SqliteKeyStore } from './sqlite-key-store.js';
export {
  sqliteStreamStateStore,
  sqliteStreamMigrations,
  SQLITE_STREAMS_COMPONENT,
} from './sqlite-stream-state-store.js';
export { openSqliteBackend, sqliteBackendOf, sqliteBackendAdapter } from './sqlite-backend.js';
export { SQLITE_ERASURE_EXCLUDED_TABLES, sqliteSubjectEraser } from './sqlite-subject-eraser.js';
export { sqliteChainAnchorStore } from './sqlite-chain-anchor-store.js';
export type { SqliteBackend } from './sqlite-backend.js';
