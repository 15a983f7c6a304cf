import { describe } from 'vitest';
import { PostgresEventStore, postgresStreamStateStore } from '@causewayjs/postgres';
import type { StreamStateStore } from '@causewayjs/core';
import {
  dropSchema,
  pgAvailable,
  pgUrl,
  randomSchemaName,
  waitForLockWait,
} from '../support/postgres.js';
import { describeStreamStateConformance } from '@causewayjs/testing';

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
