import { AdapterNotInstalledError, UnsupportedStoreUrlError } from './core/errors.js';
import { memoryBackendAdapter } from './memory-backend.js';
import type { Backend, BackendAdapter, OpenBackendOptions } from './store/backend.js';
import type { TransactionalEventStore } from './store/event-store.js';

/** An adapter as the registry knows it: its URL schemes, and how to load it when used. */
export interface RegisteredAdapter {
  readonly schemes: readonly string[];
  /** The npm package that carries the adapter and its driver, if it is not the core's own. */
  readonly packageName?: string;
  /**
   * Loads the adapter (and its driver) on first use.
   * @throws {AdapterNotInstalledError} when its package is not installed.
   */
  load(url: string): Promise<BackendAdapter>;
}

/**
 * Loads `exportName` of the adapter package `packageName`. The core depends on no adapter: each
 * is an optional peer, imported by name only when a URL needs it, so installing
 * `@causewayjs/core` alone never pulls in `better-sqlite3` or `pg`.
 */
async function loadAdapterPackage(
  url: string,
  packageName: string,
  exportName: string,
): Promise<BackendAdapter> {
  let module: Record<string, unknown>;
  try {
    // A specifier held in a variable: type-checked against nothing, resolved at run time.
    const specifier = packageName;
    module = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    if (isPackageMissing(error, packageName))
      throw new AdapterNotInstalledError(url, packageName, error);
    throw error;
  }
  const adapter = module[exportName];
  if (!isBackendAdapter(adapter))
    throw new AdapterNotInstalledError(
      url,
      packageName,
      new Error(
        `${packageName} does not export ${exportName}: is it the same version as the core?`,
      ),
    );
  return adapter;
}

/** Whether `error` says that `packageName` itself (not one of its imports) cannot be found. */
function isPackageMissing(error: unknown, packageName: string): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    error.message.includes(`'${packageName}'`)
  );
}

function isBackendAdapter(value: unknown): value is BackendAdapter {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as BackendAdapter).open === 'function' &&
    typeof (value as BackendAdapter).openStore === 'function'
  );
}

/**
 * The adapters {@link openBackend} and `openEventStore` know, by name. Each loads its package
 * (and its driver) only when used: `sqlite:` needs `@causewayjs/sqlite` installed,
 * `postgres://` needs `@causewayjs/postgres`. The test suites hold a record of conformance
 * harnesses typed by these names: registering an adapter without its harness does not compile.
 */
export const backendAdapters = {
  memory: { schemes: ['memory'], load: () => Promise.resolve(memoryBackendAdapter) },
  sqlite: {
    schemes: ['sqlite'],
    packageName: '@causewayjs/sqlite',
    load: (url: string) => loadAdapterPackage(url, '@causewayjs/sqlite', 'sqliteBackendAdapter'),
  },
  postgres: {
    schemes: ['postgres', 'postgresql'],
    packageName: '@causewayjs/postgres',
    load: (url: string) =>
      loadAdapterPackage(url, '@causewayjs/postgres', 'postgresBackendAdapter'),
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
 * @throws {AdapterNotInstalledError} when the URL's adapter package is not installed.
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
  return (await adapter.load(url)).open(url, options);
}

/** Only the event store at `url`; see {@link openBackend}. */
export async function openStoreAt(
  url: string,
  options: OpenBackendOptions = {},
): Promise<TransactionalEventStore> {
  const { adapter } = adapterFor(url);
  return (await adapter.load(url)).openStore(url, options);
}
