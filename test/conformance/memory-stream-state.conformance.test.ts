import { MemoryEventStore, memoryStreamStateStore } from '@causewayjs/core';
import { describeStreamStateConformance } from '@causewayjs/testing';

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
