import { UnsupportedStoreUrlError } from './core/errors.js';
import { memoryBackendAdapter } from './memory-backend.js';
import type { Backend, BackendAdapter, OpenBackendOptions } from './store/backend.js';
import type { TransactionalEventStore } from './store/event-store.js';

/** An adapter as the registry knows it: its URL schemes, and how to load it when used. */
export interface RegisteredAdapter {
  readonly schemes: readonly string[];
  /** Loads the adapter (and its driver) on first use. */
  load(): Promise<BackendAdapter>;
}

/**
 * The adapters {@link openBackend} and `openEventStore` know, by name. Each loads its driver
 * only when used, so `causeway` alone never pulls in `better-sqlite3` or `pg`. The test
 * suites hold a record of conformance harnesses typed by these names: registering an adapter
 * without its harness does not compile.
 */
export const backendAdapters = {
  memory: { schemes: ['memory'], load: () => Promise.resolve(memoryBackendAdapter) },
  sqlite: {
    schemes: ['sqlite'],
    load: async () => (await import('./adapters/sqlite/sqlite-backend.js')).sqliteBackendAdapter,
  },
  postgres: {
    schemes: ['postgres', 'postgresql'],
    load: async () =>
      (await import('./adapters/postgres/postgres-backend.js')).postgresBackendAdapter,
  },
} as const satisfies Record<string, RegisteredAdapter>;

/** The name of a registered adapter. */
export type BackendKind = keyof typeof backendAdapters;

const HINT = "use 'memory:', 'sqlite:<file>' or 'postgres://user@host/db'";

/** The registered adapter serving `url`'s scheme, after checking the URL's shape. */
export function adapterFor(url: string): { kind: BackendKind; adapter: RegisteredAdapter } {
  if (typeof url !== 'string')
    throw new UnsupportedStoreUrlError(String(url), 'the URL must be a string');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'memory' && url !== 'memory:')
    throw new UnsupportedStoreUrlError(url, "the in-memory store's URL is just 'memory:'");
  if (scheme === 'sqlite' && url.length <= 'sqlite:'.length)
    throw new UnsupportedStoreUrlError(url, 'give a file path, as in sqlite:./data/events.db');
  for (const [kind, adapter] of Object.entries(backendAdapters) as [
    BackendKind,
    RegisteredAdapter,
  ][])
    if (scheme !== undefined && adapter.schemes.includes(scheme)) return { kind, adapter };
  throw new UnsupportedStoreUrlError(url, HINT);
}

/**
 * Opens the backend at `url`: the event store and every storage port of one adapter, in one
 * database, sharing its connections and transactions (see {@link Backend}).
 * - `memory:`: in process memory;
 * - `sqlite:./data/events.db` (or `sqlite::memory:`): an embedded SQLite file, created if missing;
 * - `postgres://user@host:5432/db` (or `postgresql://`; `?schema=name` picks a schema).
 *
 * @throws {UnsupportedStoreUrlError} for any other URL.
 * @throws {StoreUnavailableError} when the database cannot be reached.
 * @example
 * ```ts
 * const backend = await openBackend(process.env.STORE_URL ?? 'sqlite:./data/events.db');
 * const saga = new SagaRuntime({
 *   storage: await backend.subscriptionStorage(),
 *   sagaStore: await backend.sagaStore(),
 *   dispatcher,
 *   sagas: [fulfilment],
 * });
 * ```
 */
export async function openBackend(url: string, options: OpenBackendOptions = {}): Promise<Backend> {
  const { adapter } = adapterFor(url);
  return (await adapter.load()).open(url, options);
}

/** Only the event store at `url`; see {@link openBackend}. */
export async function openStoreAt(
  url: string,
  options: OpenBackendOptions = {},
): Promise<TransactionalEventStore> {
  const { adapter } = adapterFor(url);
  return (await adapter.load()).openStore(url, options);
}
