import { describe } from 'vitest';
import { PostgresKeyStore } from '@causewayjs/postgres';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import { describeKeyStoreConformance } from '@causewayjs/testing';

const available = await pgAvailable();

describe.skipIf(!available)('postgres', () => {
  describeKeyStoreConformance('postgres', () => {
    const schema = randomSchemaName();
    const opened: PostgresKeyStore[] = [];
    return Promise.resolve({
      durable: true,
      open: async () => {
        const keys = await PostgresKeyStore.open(pgUrl, { schema, maxConnections: 4 });
        opened.push(keys);
        return keys;
      },
      cleanup: async () => {
        await Promise.all(opened.map((keys) => keys.close()));
        await dropSchema(schema);
      },
    });
  });
});
