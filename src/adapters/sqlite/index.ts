/**
 * The SQLite adapter (`causeway/sqlite`): the embedded, default event store.
 * @packageDocumentation
 */
export { SqliteEventStore } from './sqlite-event-store.js';
export type { SqliteEventStoreOptions } from './sqlite-event-store.js';
export { migrateSqlite } from './sqlite-migrations.js';
export { SqliteSnapshotStore } from './sqlite-snapshot-store.js';
export { SqliteSchemaStorage } from './sqlite-schema-storage.js';
