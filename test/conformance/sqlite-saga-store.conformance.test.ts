import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBackend } from '@causewayjs/core';
import { describeSagaStoreConformance, type SagaStoreHarness } from '@causewayjs/testing';
import { describeFulfilmentSagaConformance } from './saga-fulfilment.suite.js';

const harness = (): Promise<SagaStoreHarness> => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-sagas-'));
  const url = `sqlite:${join(dir, 'events.db')}`;
  return Promise.resolve({
    durable: true,
    open: async () => {
      const backend = await openBackend(url, { pollIntervalMs: 10 });
      return {
        store: backend.store,
        sagaStore: await backend.sagaStore(),
        storage: await backend.subscriptionStorage(),
      };
    },
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
};

describeSagaStoreConformance('sqlite', harness);
describeFulfilmentSagaConformance('sqlite', harness);
