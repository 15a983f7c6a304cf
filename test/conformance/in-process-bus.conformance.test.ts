import { InProcessBus } from '../../src/bus/index.js';
import { describeMessageBusConformance } from '../../src/testing/message-bus.suite.js';

describeMessageBusConformance('in-process', () =>
  Promise.resolve({
    bus: new InProcessBus({ prefix: 'test', maxPayloadBytes: 64 * 1024 }),
    maxPayloadBytes: 64 * 1024,
    cleanup: () => Promise.resolve(),
  }),
);
