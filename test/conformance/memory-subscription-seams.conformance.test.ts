import { MemoryEventStore } from '@causewayjs/core';
import { describeSubscriptionSeamsConformance } from '@causewayjs/testing';

describeSubscriptionSeamsConformance('memory', () =>
  Promise.resolve({
    durable: false,
    open: () => Promise.resolve(new MemoryEventStore()),
    cleanup: () => Promise.resolve(),
  }),
);
