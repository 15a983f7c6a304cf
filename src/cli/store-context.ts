import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { openEventStore } from '../open-event-store.js';
import type { StoreTransaction, TransactionalEventStore } from '../store/event-store.js';
import type { SubscriptionStorage } from '../subscriptions/subscription-storage.js';
import type { ProjectionStore } from '../projections/projection-store.js';
import type { SchemaStorage } from '../schema/schema-storage.js';
import type { GroupMembershipStore } from '../subscriptions/group-membership-store.js';
import type { Clock } from '../core/clock.js';
import type { SagaStore } from '../sagas/saga-store.js';
import type { MemoryEventStore } from '../store/memory-event-store.js';
import type { SqliteEventStore } from '../adapters/sqlite/sqlite-event-store.js';
import type { PostgresEventStore } from '../adapters/postgres/postgres-event-store.js';

/** The store the CLI opens when `--store` and `CAUSEWAY_STORE` are not given. */
export const DEFAULT_STORE_URL = 'sqlite:./data/events.db';

/** Which adapter a store URL picks. */
export type StoreKind = 'sqlite' | 'postgres' | 'memory';

/**
 * An open store and, made on first use, the components the CLI needs beside it, all in the
 * store's own database. `close()` releases them all.
 */
export interface StoreContext {
  readonly url: string;
  readonly kind: StoreKind;
  readonly store: TransactionalEventStore;
  /** Checkpoints, parked events, leases and inbox (migrated on first use). */
  subscriptionStorage(): Promise<SubscriptionStorage>;
  /** The projections' registry and read models (migrated on first use). */
  projectionStore(): Promise<ProjectionStore<StoreTransaction, unknown>>;
  /** Consumer group membership (migrated on first use). */
  groupMembership(): Promise<GroupMembershipStore>;
  /** The schema registry's storage (migrated on first use). */
  schemaStorage(): Promise<SchemaStorage>;
  /** Saga instances, timers and outbox (migrated on first use). */
  sagaStore(): Promise<SagaStore>;
  close(): Promise<void>;
}

/** The store URL to use: the option, else `CAUSEWAY_STORE`, else {@link DEFAULT_STORE_URL}. */
export function resolveStoreUrl(
  option: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const fromEnv = env.CAUSEWAY_STORE;
  return option ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_STORE_URL);
}

/** The adapter a URL names (an unknown scheme is refused later by `openEventStore`). */
export function storeKind(url: string): StoreKind {
  if (/^postgres(ql)?:/i.test(url)) return 'postgres';
  if (/^memory:/i.test(url)) return 'memory';
  return 'sqlite';
}

/**
 * Opens the store at `url` (creating the directory of a SQLite file) and returns its context.
 *
 * @throws {UnsupportedStoreUrlError} for a URL no adapter serves.
 * @throws {StoreUnavailableError} when the database cannot be reached.
 */
export async function openStoreContext(
  url: string,
  options: { clock?: Clock } = {},
): Promise<StoreContext> {
  const kind = storeKind(url);
  if (kind === 'sqlite' && /^sqlite:/i.test(url)) {
    const path = url.slice('sqlite:'.length);
    if (path !== '' && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  }
  const store = (await openEventStore(url, options)) as TransactionalEventStore;
  const once = <T>(make: () => Promise<T>): (() => Promise<T>) => {
    let made: Promise<T> | undefined;
    return () => (made ??= make());
  };
  const closers: (() => Promise<void>)[] = [];
  let subscriptionStorage: () => Promise<SubscriptionStorage>;
  let projectionStore: () => Promise<ProjectionStore<StoreTransaction, unknown>>;
  let groupMembership: () => Promise<GroupMembershipStore>;
  let schemaStorage: () => Promise<SchemaStorage>;
  let sagaStore: () => Promise<SagaStore>;
  if (kind === 'sqlite') {
    const sqlite = await import('../adapters/sqlite/index.js');
    const s = store as unknown as SqliteEventStore;
    subscriptionStorage = once(
      async () => (await sqlite.sqliteSubscriptionStorage(s)) as unknown as SubscriptionStorage,
    );
    projectionStore = once(
      async () =>
        (await sqlite.sqliteProjectionStore(s)) as unknown as ProjectionStore<
          StoreTransaction,
          unknown
        >,
    );
    groupMembership = once(() => sqlite.sqliteGroupMembership(s));
    schemaStorage = once(() => Promise.resolve(sqlite.SqliteSchemaStorage.open(s)));
    sagaStore = once(async () => (await sqlite.sqliteSagaStore(s)) as unknown as SagaStore);
  } else if (kind === 'postgres') {
    const pg = await import('../adapters/postgres/index.js');
    const s = store as unknown as PostgresEventStore;
    subscriptionStorage = once(
      async () => (await pg.postgresSubscriptionStorage(s)) as unknown as SubscriptionStorage,
    );
    projectionStore = once(
      async () =>
        (await pg.postgresProjectionStore(s)) as unknown as ProjectionStore<
          StoreTransaction,
          unknown
        >,
    );
    groupMembership = once(() => pg.postgresGroupMembership(s));
    schemaStorage = once(async () => {
      const storage = await pg.PostgresSchemaStorage.open(s);
      closers.push(() => storage.close());
      return storage;
    });
    sagaStore = once(async () => (await pg.postgresSagaStore(s)) as unknown as SagaStore);
  } else {
    const { memorySubscriptionStorage } =
      await import('../subscriptions/memory-subscription-storage.js');
    const { memoryProjectionStore } = await import('../projections/memory-projection-store.js');
    const { MemoryGroupMembershipStore } =
      await import('../subscriptions/memory-group-membership-store.js');
    const { MemorySchemaStorage } = await import('../schema/memory-schema-storage.js');
    const s = store as MemoryEventStore;
    subscriptionStorage = once(() => Promise.resolve(memorySubscriptionStorage(s)));
    projectionStore = once(
      async () =>
        memoryProjectionStore(s, {
          storage: await subscriptionStorage(),
        }) as unknown as ProjectionStore<StoreTransaction, unknown>,
    );
    groupMembership = once(() => Promise.resolve(new MemoryGroupMembershipStore()));
    schemaStorage = once(() => Promise.resolve(new MemorySchemaStorage()));
    const { MemorySagaStore } = await import('../sagas/memory-saga-store.js');
    sagaStore = once(() => Promise.resolve(new MemorySagaStore() as SagaStore));
  }
  let closing: Promise<void> | undefined;
  return {
    url,
    kind,
    store,
    subscriptionStorage,
    projectionStore,
    groupMembership,
    schemaStorage,
    sagaStore,
    close: () =>
      (closing ??= (async () => {
        for (const close of closers.reverse()) await close().catch(() => undefined);
        if (!store.isClosed) await store.close();
      })()),
  };
}
