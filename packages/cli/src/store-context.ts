import type { Clock } from '@causewayjs/core';
import { openBackend } from '@causewayjs/core';
import { SchemaRegistry } from '@causewayjs/core';
import type { Backend } from '@causewayjs/core';
import { stackBackend } from '@causewayjs/core';

/** The store the CLI opens when `--store` and `CAUSEWAY_STORE` are not given. */
export const DEFAULT_STORE_URL = 'sqlite:./data/events.db';

/**
 * What a CLI command works on: a view of the backend at the store URL whose store, and every
 * storage port beside it (made on first use), read and write through the CLI's one stack
 * (see {@link openStoreContext}). `close()` releases them all.
 */
export type StoreContext = Backend;

/** The store URL to use: the option, else `CAUSEWAY_STORE`, else {@link DEFAULT_STORE_URL}. */
export function resolveStoreUrl(
  option: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const fromEnv = env.CAUSEWAY_STORE;
  return option ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_STORE_URL);
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
 * @throws {UnsupportedStoreUrlError} for a URL no adapter serves.
 * @throws {StoreUnavailableError} when the database cannot be reached.
 */
export async function openStoreContext(
  url: string,
  options: { clock?: Clock } = {},
): Promise<StoreContext> {
  const backend = await openBackend(url, options);
  try {
    const registry = await SchemaRegistry.open({ storage: await backend.schemaStorage() });
    // `tracing` outermost: every append of every command (HTTP, the shop, imports) is traced
    // and measured in one place, so the metrics of `serve` and `demo` count them all.
    return await stackBackend(backend, {
      schemas: { registry, upcast: 'available' },
      tracing: true,
    });
  } catch (error) {
    await backend.close().catch(() => undefined);
    throw error;
  }
}
