import {
  openBackend,
  type SagaStore,
  type SubscriptionStorage,
  type TransactionalEventStore,
} from '@causewayjs/core';
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
  const backend =
    kind === 'sqlite'
      ? await openBackend(`sqlite:${location}`, { pollIntervalMs: 10 })
      : await openBackend(pgUrl, { schema: location, maxConnections: 4 });
  return {
    store: backend.store,
    storage: await backend.subscriptionStorage(),
    sagaStore: await backend.sagaStore(),
  };
}
