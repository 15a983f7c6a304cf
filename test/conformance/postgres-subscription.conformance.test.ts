import { escapeIdentifier } from 'pg';
import { describe } from 'vitest';
import {
  PostgresEventStore,
  type PostgresTransaction,
  postgresSubscriptionStorage,
} from '@causewayjs/postgres';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import { describeSubscriptionConformance } from '@causewayjs/testing';

const available = await pgAvailable();

describe.skipIf(!available)('postgres', () => {
  describeSubscriptionConformance<PostgresTransaction>('postgres', () => {
    const schema = randomSchemaName();
    const table = `${escapeIdentifier(schema)}.test_effects`;
    return Promise.resolve({
      durable: true,
      open: async () => {
        const store = await PostgresEventStore.open(pgUrl, {
          schema,
          maxConnections: 4,
          listen: { pollIntervalMs: 50, reconnectDelayMs: 50 },
        });
        return { store, storage: await postgresSubscriptionStorage(store) };
      },
      sink: {
        setup: async (store) => {
          await (store as PostgresEventStore).pool.query(
            `CREATE TABLE IF NOT EXISTS ${table} (key text PRIMARY KEY, value bigint NOT NULL)`,
          );
        },
        write: async (tx, key, value) => {
          await tx.client.query(`INSERT INTO ${table} (key, value) VALUES ($1, $2)`, [key, value]);
        },
        read: async (store) => {
          const { rows } = await (store as PostgresEventStore).pool.query<{
            key: string;
            value: string;
          }>(`SELECT key, value FROM ${table}`);
          return new Map(rows.map((r) => [r.key, Number(r.value)]));
        },
      },
      commitWaitsForFlush: async (tx) => {
        const { rows } = await tx.client.query<{ synchronous_commit: string }>(
          'SHOW synchronous_commit',
        );
        return rows[0]?.synchronous_commit !== 'off';
      },
      cleanup: () => dropSchema(schema),
    });
  });
});
