import type { Clock } from '../core/clock.js';
import { openBackend } from '../open-backend.js';
import type { Backend } from '../store/backend.js';

/** The store the CLI opens when `--store` and `CAUSEWAY_STORE` are not given. */
export const DEFAULT_STORE_URL = 'sqlite:./data/events.db';

/**
 * What a CLI command works on: the backend at the store URL (its event store and, made on
 * first use, every storage port beside it). `close()` releases them all.
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
 * Opens the backend at `url` for a command.
 *
 * @throws {UnsupportedStoreUrlError} for a URL no adapter serves.
 * @throws {StoreUnavailableError} when the database cannot be reached.
 */
export function openStoreContext(
  url: string,
  options: { clock?: Clock } = {},
): Promise<StoreContext> {
  return openBackend(url, options);
}
