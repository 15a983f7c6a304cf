import { describe } from 'vitest';
import { PostgresEventStore } from '../../src/adapters/postgres/index.js';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import { describeEventStoreConformance } from './event-store.suite.js';

const available = await pgAvailable();

describe.skipIf(!available)('postgres', () => {
  describeEventStoreConformance('postgres', () => {
    const schema = randomSchemaName();
    return Promise.resolve({
      durable: true,
      open: (options) => PostgresEventStore.open(pgUrl, { ...options, schema, maxConnections: 4 }),
      cleanup: () => dropSchema(schema),
    });
  });
});
