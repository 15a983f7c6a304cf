import { describe } from 'vitest';
import { PostgresEventStore, postgresStreamStateStore } from '../../src/adapters/postgres/index.js';
import type { StreamStateStore } from '../../src/index.js';
import {
  dropSchema,
  pgAvailable,
  pgUrl,
  randomSchemaName,
  waitForLockWait,
} from '../support/postgres.js';
import { describeStreamStateConformance } from '../../src/testing/stream-state.suite.js';

const available = await pgAvailable();

describe.skipIf(!available)('postgres', () => {
  describeStreamStateConformance('postgres', () => {
    const schema = randomSchemaName();
    return Promise.resolve({
      durable: true,
      open: async () => {
        const store = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 4 });
        return {
          store,
          states: (await postgresStreamStateStore(store)) as unknown as StreamStateStore,
        };
      },
      blocked: () => waitForLockWait(schema),
      cleanup: () => dropSchema(schema),
    });
  });
});
