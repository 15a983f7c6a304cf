import { UnsupportedStoreUrlError } from './core/errors.js';
import type { EventStoreOptions, TransactionalEventStore } from './store/event-store.js';
import { MemoryEventStore } from './store/memory-event-store.js';

/** Options of {@link openEventStore}: the common ones plus each adapter's own. */
export interface OpenEventStoreOptions extends EventStoreOptions {
  /** SQLite: `'FULL'` (default: an acknowledged append survives power loss), `'NORMAL'` or `'OFF'`. */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  /** PostgreSQL: the schema holding Causeway's tables (default `public`, or `?schema=` in the URL). */
  schema?: string;
  /** PostgreSQL: most connections in the pool (default 10). */
  maxConnections?: number;
}

/**
 * The adapters `openEventStore` knows, by URL scheme. Each entry loads its driver only when
 * used, so `causeway` alone never pulls in `better-sqlite3` or `pg`. Every entry must have
 * a conformance test file (checked by `test/conformance/registry.test.ts`).
 */
export const eventStoreAdapters = {
  memory: (_url: string, options: OpenEventStoreOptions): Promise<TransactionalEventStore> =>
    Promise.resolve(new MemoryEventStore(options)),
  sqlite: async (url: string, options: OpenEventStoreOptions): Promise<TransactionalEventStore> => {
    const { SqliteEventStore } = await import('./adapters/sqlite/sqlite-event-store.js');
    return SqliteEventStore.open(url.slice('sqlite:'.length), options);
  },
  postgres: async (url: string, options: OpenEventStoreOptions): Promise<TransactionalEventStore> => {
    const { PostgresEventStore } = await import('./adapters/postgres/postgres-event-store.js');
    return PostgresEventStore.open(url, options);
  },
} as const;

/**
 * Opens an event store from a URL, picking the adapter by scheme:
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
export async function openEventStore(
  url: string,
  options: OpenEventStoreOptions = {},
): Promise<TransactionalEventStore> {
  if (typeof url !== 'string')
    throw new UnsupportedStoreUrlError(String(url), 'the URL must be a string');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'memory' && url === 'memory:') return eventStoreAdapters.memory(url, options);
  if (scheme === 'sqlite') {
    if (url.length <= 'sqlite:'.length)
      throw new UnsupportedStoreUrlError(url, 'give a file path, as in sqlite:./data/events.db');
    return eventStoreAdapters.sqlite(url, options);
  }
  if (scheme === 'postgres' || scheme === 'postgresql')
    return eventStoreAdapters.postgres(url, options);
  throw new UnsupportedStoreUrlError(
    url,
    "use 'memory:', 'sqlite:<file>' or 'postgres://user@host/db'",
  );
}
