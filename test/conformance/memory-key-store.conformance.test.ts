import { MemoryDataKeyStore } from '../../src/index.js';
import { describeKeyStoreConformance } from '../../src/testing/key-store.suite.js';

describeKeyStoreConformance('memory', () =>
  Promise.resolve({
    durable: false,
    open: () => Promise.resolve(new MemoryDataKeyStore()),
    cleanup: () => Promise.resolve(),
  }),
);
