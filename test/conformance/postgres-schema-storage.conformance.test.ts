import { describe } from 'vitest';
import { PostgresSchemaStorage } from '@causewayjs/postgres';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import { describeSchemaStorageConformance } from '@causewayjs/testing';

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
