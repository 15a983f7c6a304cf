import { describe } from 'vitest';
import {
  PostgresEventStore,
  postgresProjectionStore,
  postgresSubscriptionStorage,
} from '@causewayjs/postgres';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import { describeHttpApi } from './http-api.suite.js';

const available = await pgAvailable();

describe.skipIf(!available)('postgres', () => {
  describeHttpApi('postgres', async () => {
    const schema = randomSchemaName();
    const store = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 8 });
    return {
      store,
      projectionStore: () => postgresProjectionStore(store),
      subscriptionStorage: () => postgresSubscriptionStorage(store),
      cleanup: () => dropSchema(schema),
    };
  });
});
