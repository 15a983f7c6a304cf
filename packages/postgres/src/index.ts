/**
 * Causeway's PostgreSQL adapter: `import { PostgresEventStore } from '@causewayjs/postgres'`.
 * This entry point loads the `pg` driver; the core (`causeway`) never does.
 * @packageDocumentation
 * @module @causewayjs/postgres
 */
export { PostgresEventStore } from './postgres-event-store.js';
export type { PostgresEventStoreOptions } from './postgres-event-store.js';
export { PostgresSnapshotStore } from './postgres-snapshot-store.js';
export type { PostgresSnapshotStoreOptions } from './postgres-snapshot-store.js';
export { PostgresSchemaStorage } from './postgres-schema-storage.js';
export type { PostgresSchemaStorageOptions } from './postgres-schema-storage.js';
export type { PostgresComponentSource } from './postgres-component.js';
export { migratePostgres } from './postgres-migrations.js';
export type { PostgresTransaction } from './postgres-event-store.js';
export type { CommitListenerState } from './postgres-commit-listener.js';
export {
  postgresSubscriptionStorage,
  migratePostgresSubscriptionTables,
  postgresSubscriptionMigrations,
  POSTGRES_SUBSCRIPTIONS_COMPONENT,
} from './postgres-subscription-storage.js';
export { PostgresCheckpointStore } from './postgres-checkpoint-store.js';
export { PostgresParkedEventStore } from './postgres-parked-event-store.js';
export { PostgresLeaseStore } from './postgres-lease-store.js';
export { PostgresInboxStore } from './postgres-inbox-store.js';
export {
  PostgresSagaStore,
  postgresSagaStore,
  postgresSagaMigrations,
  POSTGRES_SAGAS_COMPONENT,
} from './postgres-saga-store.js';
export {
  postgresProjectionStore,
  migratePostgresProjectionTables,
} from './postgres-projection-store.js';
export type { PostgresReadModel } from './postgres-read-model.js';
export {
  PostgresGroupMembershipStore,
  postgresGroupMembership,
  migratePostgresGroupTables,
  postgresGroupMigrations,
  POSTGRES_GROUPS_COMPONENT,
} from './postgres-group-membership-store.js';
export { PostgresKeyStore } from './postgres-key-store.js';
export type { PostgresKeyStoreOptions } from './postgres-key-store.js';
export {
  postgresStreamStateStore,
  postgresStreamMigrations,
  POSTGRES_STREAMS_COMPONENT,
} from './postgres-stream-state-store.js';
export {
  openPostgresBackend,
  postgresBackendOf,
  postgresBackendAdapter,
} from './postgres-backend.js';
export type { PostgresBackend } from './postgres-backend.js';
export {
  POSTGRES_ERASURE_EXCLUDED_TABLES,
  postgresSubjectEraser,
} from './postgres-subject-eraser.js';
export { postgresChainAnchorStore } from './postgres-chain-anchor-store.js';
