import { MemoryEventStore } from '@causewayjs/core';
import { memoryProjectionStore, type DocumentReadModel } from '@causewayjs/core';
import type { StoreTransaction } from '@causewayjs/core';
import { describeDocumentStoreConformance } from '@causewayjs/testing';

describeDocumentStoreConformance<StoreTransaction, DocumentReadModel>('memory', () =>
  Promise.resolve({
    open: () => {
      const store = new MemoryEventStore();
      return Promise.resolve({ store, projections: memoryProjectionStore(store) });
    },
    cleanup: () => Promise.resolve(),
  }),
);
