import { describe } from 'vitest';
import { PostgresEventStore } from '@causewayjs/postgres';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import { describeSubscriptionSeamsConformance } from '@causewayjs/testing';

const available = await pgAvailable();

describe.skipIf(!available)('postgres', () => {
  describeSubscriptionSeamsConformance('postgres', () => {
    const schema = randomSchemaName();
    return Promise.resolve({
      durable: true,
      open: () => PostgresEventStore.open(pgUrl, { schema, maxConnections: 4 }),
      watching: async (store) => {
        const deadline = Date.now() + 10_000;
        while ((store as PostgresEventStore).watchState !== 'listening') {
          if (Date.now() > deadline) throw new Error('the store never started listening');
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      },
      cleanup: () => dropSchema(schema),
    });
  });
});
