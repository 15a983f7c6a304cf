import { MemorySchemaStorage } from '@causewayjs/core';
import { describeSchemaStorageConformance } from '@causewayjs/testing';

describeSchemaStorageConformance('memory', () => {
  // One instance stands for one database: every open shares it.
  const storage = new MemorySchemaStorage();
  return Promise.resolve({
    open: () => Promise.resolve(storage),
    cleanup: () => Promise.resolve(),
  });
});
