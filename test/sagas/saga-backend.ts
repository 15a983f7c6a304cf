import {
  PostgresEventStore,
  postgresSagaStore,
  postgresSubscriptionStorage,
} from '../../src/adapters/postgres/index.js';
import {
  SqliteEventStore,
  sqliteSagaStore,
  sqliteSubscriptionStorage,
} from '../../src/adapters/sqlite/index.js';
import type { SagaStore, SubscriptionStorage, TransactionalEventStore } from '../../src/index.js';
import { pgUrl } from '../support/postgres.js';

/** A store with its subscription storage and saga store, on SQLite or PostgreSQL. */
export interface SagaBackend {
  store: TransactionalEventStore;
  storage: SubscriptionStorage;
  sagaStore: SagaStore;
}

/** Opens the backend at `location`: a SQLite file, or a PostgreSQL schema of the test server. */
export async function openSagaBackend(
  kind: 'sqlite' | 'postgres',
  location: string,
): Promise<SagaBackend> {
  if (kind === 'sqlite') {
    const store = SqliteEventStore.open(location, { pollIntervalMs: 10 });
    return {
      store,
      storage: (await sqliteSubscriptionStorage(store)) as unknown as SubscriptionStorage,
      sagaStore: (await sqliteSagaStore(store)) as unknown as SagaStore,
    };
  }
  const store = await PostgresEventStore.open(pgUrl, { schema: location, maxConnections: 4 });
  return {
    store,
    storage: (await postgresSubscriptionStorage(store)) as unknown as SubscriptionStorage,
    sagaStore: (await postgresSagaStore(store)) as unknown as SagaStore,
  };
}
