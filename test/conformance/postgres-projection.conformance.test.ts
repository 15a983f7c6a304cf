import { describe } from 'vitest';
import {
  PostgresEventStore,
  type PostgresTransaction,
  postgresProjectionStore,
  type PostgresReadModel,
} from '@causewayjs/postgres';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import { describeProjectionConformance } from '@causewayjs/testing';

const available = await pgAvailable();

describe.skipIf(!available)('postgres', () => {
  describeProjectionConformance<PostgresTransaction, PostgresReadModel>('postgres', () => {
    const schema = randomSchemaName();
    return Promise.resolve({
      durable: true,
      open: async () => {
        const store = await PostgresEventStore.open(pgUrl, {
          schema,
          maxConnections: 6,
          listen: { pollIntervalMs: 50, reconnectDelayMs: 50 },
        });
        return { store, projections: await postgresProjectionStore(store) };
      },
      model: {
        setup: async (rm) => {
          await rm.client.query(`CREATE TABLE ${rm.table('streams')} (
            stream text PRIMARY KEY, count bigint NOT NULL, sum bigint NOT NULL)`);
          await rm.client.query(
            `CREATE TABLE ${rm.table('applied')} (position bigint PRIMARY KEY)`,
          );
        },
        add: async (rm, event) => {
          // A second application of the event breaks the primary key.
          await rm.client.query(`INSERT INTO ${rm.table('applied')} (position) VALUES ($1)`, [
            event.position,
          ]);
          await rm.client.query(
            `INSERT INTO ${rm.table('streams')} AS t (stream, count, sum) VALUES ($1, 1, $2)
             ON CONFLICT (stream) DO UPDATE SET count = t.count + 1, sum = t.sum + EXCLUDED.sum`,
            [event.stream, (event.data as { n: number }).n],
          );
        },
        read: async (rm) => {
          const streams = await rm.client.query<[string, string, string]>({
            text: `SELECT stream, count, sum FROM ${rm.table('streams')} ORDER BY stream`,
            rowMode: 'array',
          });
          const applied = await rm.client.query<{ position: string }>(
            `SELECT position FROM ${rm.table('applied')} ORDER BY position`,
          );
          return {
            streams: streams.rows.map(([s, c, n]) => [s, Number(c), Number(n)]),
            applied: applied.rows.map((r) => Number(r.position)),
          };
        },
      },
      cleanup: () => dropSchema(schema),
    });
  });
});
