import { openStoreAt } from './open-backend.js';
import type { OpenBackendOptions } from './store/backend.js';
import type { TransactionalEventStore } from './store/event-store.js';

/** Options of {@link openEventStore}: the common ones plus each adapter's own. */
export type OpenEventStoreOptions = OpenBackendOptions;

/**
 * Opens an event store from a URL, picking the adapter by scheme (the adapters of
 * `openBackend`, which also hands out every storage port beside the store):
 * - `memory:`: in process memory;
 * - `sqlite:./data/events.db` (or `sqlite::memory:`): an embedded SQLite file, created if missing;
 * - `postgres://user@host:5432/db` (or `postgresql://`; `?schema=name` picks a schema).
 *
 * The database's schema is created or migrated on open.
 *
 * @throws {UnsupportedStoreUrlError} for any other URL.
 * @example
 * ```ts
 * const store = await openEventStore(process.env.STORE_URL ?? 'sqlite:./data/events.db');
 * ```
 */
export function openEventStore(
  url: string,
  options: OpenEventStoreOptions = {},
): Promise<TransactionalEventStore> {
  return openStoreAt(url, options);
}
