/**
 * Causeway's PostgreSQL adapter: `import { PostgresEventStore } from 'causeway/postgres'`.
 * This entry point loads the `pg` driver; the core (`causeway`) never does.
 * @packageDocumentation
 */
export { PostgresEventStore } from './postgres-event-store.js';
export type { PostgresEventStoreOptions } from './postgres-event-store.js';
