import { describe } from 'vitest';
import { PostgresSchemaStorage } from '../../src/adapters/postgres/postgres-schema-storage.js';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import { describeSchemaStorageConformance } from '../../src/testing/schema-storage.suite.js';

const available = await pgAvailable();

describe.skipIf(!available)('postgres', () => {
  describeSchemaStorageConformance('postgres', () => {
    const schema = randomSchemaName();
    const opened: PostgresSchemaStorage[] = [];
    return Promise.resolve({
      // Each open is a new pool on the schema, as another process's would be.
      open: async () => {
        const storage = await PostgresSchemaStorage.open(pgUrl, { schema, maxConnections: 4 });
        opened.push(storage);
        return storage;
      },
      cleanup: async () => {
        await Promise.all(opened.map((storage) => storage.close()));
        await dropSchema(schema);
      },
    });
  });
});
