import { MemoryEventStore, memoryStreamStateStore } from '../../src/index.js';
import { describeStreamStateConformance } from '../../src/testing/stream-state.suite.js';

describeStreamStateConformance('memory', () =>
  Promise.resolve({
    durable: false,
    open: () => {
      const store = new MemoryEventStore();
      return Promise.resolve({ store, states: memoryStreamStateStore(store) });
    },
    cleanup: () => Promise.resolve(),
  }),
);
