import { MemoryEventStore } from '../../src/index.js';
import { memoryProjectionStore, type DocumentReadModel } from '../../src/projections/index.js';
import type { StoreTransaction } from '../../src/store/event-store.js';
import { describeDocumentStoreConformance } from '../../src/testing/document-store.suite.js';

describeDocumentStoreConformance<StoreTransaction, DocumentReadModel>('memory', () =>
  Promise.resolve({
    open: () => {
      const store = new MemoryEventStore();
      return Promise.resolve({ store, projections: memoryProjectionStore(store) });
    },
    cleanup: () => Promise.resolve(),
  }),
);
