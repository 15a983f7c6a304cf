import { MemorySnapshotStore } from '@causewayjs/core';
import { describeSnapshotStoreConformance } from '@causewayjs/testing';

describeSnapshotStoreConformance('memory', () =>
  Promise.resolve({
    durable: false,
    open: () => Promise.resolve(new MemorySnapshotStore()),
    cleanup: () => Promise.resolve(),
  }),
);
