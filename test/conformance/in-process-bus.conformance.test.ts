import { InProcessBus } from '@causewayjs/core';
import { describeMessageBusConformance } from '@causewayjs/testing';

describeMessageBusConformance('in-process', () =>
  Promise.resolve({
    bus: new InProcessBus({ prefix: 'test', maxPayloadBytes: 64 * 1024 }),
    maxPayloadBytes: 64 * 1024,
    cleanup: () => Promise.resolve(),
  }),
);
