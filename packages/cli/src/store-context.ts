import { existsSync } from 'node:fs';
import {
  type Clock,
  openBackend,
  SchemaRegistry,
  type Backend,
  stackBackend,
} from '@causewayjs/core';
import { CliNotFoundError } from './cli-errors.js';
import { redactUrl } from './redact-url.js';

/** The store the CLI opens when `--store` and `CAUSEWAY_STORE` are not given. */
export const DEFAULT_STORE_URL = 'sqlite:./data/events.db';

/**
 * What a CLI command works on: a view of the backend at the store URL whose store, and every
 * storage port beside it (made on first use), read and write through the CLI's one stack
 * (see {@link openStoreContext}). `close()` releases them all.
 */
export type StoreContext = Backend;

/**
 * The store URL to use: the option (`--store`), else `CAUSEWAY_STORE`, else the config
 * file's `store`, else {@link DEFAULT_STORE_URL}.
 */
export function resolveStoreUrl(
  option: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  configured?: string,
): string {
  const fromEnv = env.CAUSEWAY_STORE;
  return (
    option ??
    (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined) ??
    configured ??
    DEFAULT_STORE_URL
  );
}

/**
 * Refuses a store that does not exist, for commands that only read (`read`, `tail`,
 * `export`, `stats`, `verify`, the lists): opening a SQLite file creates it, with its
 * directory, and a read must never create a store. Only `sqlite:<file>` URLs can be checked
 * this way; other stores are opened as they are.
 *
 * @throws {CliNotFoundError} when the SQLite file does not exist.
 */
export function assertStoreExists(url: string): void {
  const match = /^sqlite:(.*)$/i.exec(url);
  const path = match?.[1];
  if (path === undefined || path === '' || path === ':memory:' || path.startsWith('file:')) return;
  if (!existsSync(path))
    throw new CliNotFoundError(
      'store',
      url,
      `the store ${redactUrl(url)} does not exist (a read never creates one; check --store)`,
    );
}

/**
 * Opens the backend at `url` for a command, stacked once for every command: the schema
 * registry stored in its database (what `causeway schema register` writes) is loaded, and the
 * view's store validates every append against it (`append`, `import`, HTTP and CloudEvents
 * under `serve`, the shop's writes under `demo`) and upcasts reads as far as upcasters lead.
 * The CLI declares no upcasters, so events come out at their stored version. The outermost
 * layer traces and measures appends (see `instrumentEventStore`): a server or the shop adds
 * its metrics to it, and every append through the context is counted there.
 *
 * With `readOnly`, a store that does not exist is refused rather than created (see
 * `assertStoreExists`).
 *
 * @throws {CliNotFoundError} with `readOnly`, when the store does not exist.
 * @throws {UnsupportedStoreUrlError} for a URL no adapter serves.
 * @throws {StoreUnavailableError} when the database cannot be reached.
 */
export async function openStoreContext(
  url: string,
  options: {
    clock?: Clock;
    readOnly?: boolean;
    /** Stack the integrity layer (hash chains, anchored), optionally signing each link. */
    integrity?: false | { signingKey?: string; keyId?: string };
  } = {},
): Promise<StoreContext> {
  if (options.readOnly === true) assertStoreExists(url);
  const { readOnly: _readOnly, integrity, ...openOptions } = options;
  const backend = await openBackend(url, openOptions);
  try {
    const registry = await SchemaRegistry.open({ storage: await backend.schemaStorage() });
    // `tracing` outermost: every append of every command (HTTP, the shop, imports) is traced
    // and measured in one place, so the metrics of `serve` and `demo` count them all.
    return await stackBackend(backend, {
      schemas: { registry, upcast: 'available' },
      tracing: true,
      ...(integrity !== undefined && integrity !== false ? { integrity } : {}),
    });
  } catch (error) {
    await backend.close().catch(() => undefined);
    throw error;
  }
}
