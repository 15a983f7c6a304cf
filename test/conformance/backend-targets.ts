import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { type TransactionalEventStore, type BackendKind, undecorated } from '@causewayjs/core';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

/** One fresh, empty database of a target: where it is, and how to drop it. */
export interface FreshDatabase {
  url: string;
  /** True when two backends opened on `url` share data. */
  durable: boolean;
  cleanup(): Promise<void>;
}

/** How the conformance suites reach one registered adapter. */
export interface BackendTarget {
  /** Why the target cannot run here (its server is down), or undefined when it can. */
  unavailable(): Promise<string | undefined>;
  /** A new empty database for one test. */
  fresh(): FreshDatabase;
  /**
   * Resolves once `store` (or the adapter's store under its decorators), being watched, hears
   * other connections' commits. Default: at once.
   */
  watching?: (store: TransactionalEventStore) => Promise<void>;
}

/**
 * Every adapter registered in `backendAdapters`, with the database its suites run on. Typed by
 * the registry's names: registering an adapter without a target here does not compile, and
 * every suite run by `backends.conformance.test.ts` then runs on it.
 */
export const backendTargets: { readonly [K in BackendKind]: BackendTarget } = {
  memory: {
    unavailable: () => Promise.resolve(undefined),
    fresh: () => ({ url: 'memory:', durable: false, cleanup: () => Promise.resolve() }),
  },
  sqlite: {
    unavailable: () => Promise.resolve(undefined),
    fresh: () => {
      const dir = mkdtempSync(join(tmpdir(), 'causeway-sqlite-'));
      return {
        url: `sqlite:${join(dir, 'events.db')}`,
        durable: true,
        cleanup: () => {
          rmSync(dir, { recursive: true, force: true });
          return Promise.resolve();
        },
      };
    },
  },
  postgres: {
    unavailable: async () =>
      (await pgAvailable()) ? undefined : `PostgreSQL at CAUSEWAY_PG_URL is unreachable`,
    fresh: () => {
      const schema = randomSchemaName();
      const url = new URL(pgUrl);
      url.searchParams.set('schema', schema);
      return { url: url.toString(), durable: true, cleanup: () => dropSchema(schema) };
    },
    // Commits of other connections arrive by LISTEN once it is in place.
    watching: (store) =>
      vi.waitFor(
        () => {
          const raw = undecorated(store) as { watchState?: string };
          if (raw.watchState !== 'listening') throw new Error('the store is not listening yet');
        },
        { timeout: 10_000, interval: 5 },
      ),
  },
};
