/**
 * The SQLite adapter (`causeway/sqlite`): the embedded, default event store.
 * @packageDocumentation
 */
export { SqliteEventStore } from './sqlite-event-store.js';
export type { SqliteEventStoreOptions } from './sqlite-event-store.js';
export { migrateSqlite } from './sqlite-migrations.js';
