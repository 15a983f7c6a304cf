import { MemoryDataKeyStore } from '@causewayjs/core';
import { describeKeyStoreConformance } from '@causewayjs/testing';

describeKeyStoreConformance('memory', () =>
  Promise.resolve({
    durable: false,
    open: () => Promise.resolve(new MemoryDataKeyStore()),
    cleanup: () => Promise.resolve(),
  }),
);
