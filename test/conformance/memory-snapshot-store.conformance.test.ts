import { MemorySnapshotStore } from '../../src/index.js';
import { describeSnapshotStoreConformance } from '../../src/testing/snapshot-store.suite.js';

describeSnapshotStoreConformance('memory', () =>
  Promise.resolve({
    durable: false,
    open: () => Promise.resolve(new MemorySnapshotStore()),
    cleanup: () => Promise.resolve(),
  }),
);
