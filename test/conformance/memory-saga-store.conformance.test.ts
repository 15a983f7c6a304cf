import { openMemoryBackend } from '@causewayjs/core';
import {
  describeSagaStoreConformance,
  type SagaStoreHarness,
  type SagaStoreParts,
} from '@causewayjs/testing';
import { describeFulfilmentSagaConformance } from './saga-fulfilment.suite.js';

const harness = (): Promise<SagaStoreHarness> =>
  Promise.resolve({
    durable: false,
    open: async (): Promise<SagaStoreParts> => {
      const backend = openMemoryBackend();
      return {
        store: backend.store,
        sagaStore: await backend.sagaStore(),
        storage: await backend.subscriptionStorage(),
      };
    },
    cleanup: () => Promise.resolve(),
  });

describeSagaStoreConformance('memory', harness);
describeFulfilmentSagaConformance('memory', harness);
