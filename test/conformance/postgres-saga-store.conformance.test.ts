import { describe } from 'vitest';
import {
  PostgresEventStore,
  postgresSagaStore,
  postgresSubscriptionStorage,
} from '../../src/adapters/postgres/index.js';
import type { SagaStore, SubscriptionStorage } from '../../src/index.js';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import { describeSagaStoreConformance } from './saga-store.suite.js';

const available = await pgAvailable();

describe.skipIf(!available)('postgres', () => {
  describeSagaStoreConformance('postgres', () => {
    const schema = randomSchemaName();
    return Promise.resolve({
      durable: true,
      open: async () => {
        const store = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 4 });
        return {
          store,
          sagaStore: (await postgresSagaStore(store)) as unknown as SagaStore,
          storage: (await postgresSubscriptionStorage(store)) as unknown as SubscriptionStorage,
        };
      },
      cleanup: () => dropSchema(schema),
    });
  });
});
