import { MemoryEventStore } from '../../src/index.js';
import { describeEventStoreConformance } from './event-store.suite.js';

describeEventStoreConformance('memory', () =>
  Promise.resolve({
    durable: false,
    open: (options) => Promise.resolve(new MemoryEventStore(options)),
    cleanup: () => Promise.resolve(),
  }),
);
