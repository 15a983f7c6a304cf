import { describe } from 'vitest';
import { openBackend } from '@causewayjs/core';
import { describeSagaStoreConformance, type SagaStoreHarness } from '@causewayjs/testing';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import { describeFulfilmentSagaConformance } from './saga-fulfilment.suite.js';

const available = await pgAvailable();

const harness = (): Promise<SagaStoreHarness> => {
  const schema = randomSchemaName();
  return Promise.resolve({
    durable: true,
    open: async () => {
      const backend = await openBackend(pgUrl, { schema, maxConnections: 4 });
      return {
        store: backend.store,
        sagaStore: await backend.sagaStore(),
        storage: await backend.subscriptionStorage(),
      };
    },
    cleanup: () => dropSchema(schema),
  });
};

describe.skipIf(!available)('postgres', () => {
  describeSagaStoreConformance('postgres', harness);
  describeFulfilmentSagaConformance('postgres', harness);
});
