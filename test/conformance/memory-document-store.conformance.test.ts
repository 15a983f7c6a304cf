import {
  MemoryEventStore,
  memoryProjectionStore,
  type DocumentReadModel,
  type StoreTransaction,
} from '@causewayjs/core';
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
