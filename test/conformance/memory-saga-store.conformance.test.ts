import { MemoryEventStore, MemorySagaStore, memorySubscriptionStorage } from '../../src/index.js';
import { describeSagaStoreConformance } from './saga-store.suite.js';

describeSagaStoreConformance('memory', () =>
  Promise.resolve({
    durable: false,
    open: () => {
      const store = new MemoryEventStore();
      return Promise.resolve({
        store,
        sagaStore: new MemorySagaStore(),
        storage: memorySubscriptionStorage(store),
      });
    },
    cleanup: () => Promise.resolve(),
  }),
);
