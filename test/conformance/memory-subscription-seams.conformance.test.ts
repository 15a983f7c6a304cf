import { MemoryEventStore } from '../../src/index.js';
import { describeSubscriptionSeamsConformance } from '../../src/testing/subscription-seams.suite.js';

describeSubscriptionSeamsConformance('memory', () =>
  Promise.resolve({
    durable: false,
    open: () => Promise.resolve(new MemoryEventStore()),
    cleanup: () => Promise.resolve(),
  }),
);
