import { MemorySchemaStorage } from '../../src/index.js';
import { describeSchemaStorageConformance } from '../../src/testing/schema-storage.suite.js';

describeSchemaStorageConformance('memory', () => {
  // One instance stands for one database: every open shares it.
  const storage = new MemorySchemaStorage();
  return Promise.resolve({
    open: () => Promise.resolve(storage),
    cleanup: () => Promise.resolve(),
  });
});
