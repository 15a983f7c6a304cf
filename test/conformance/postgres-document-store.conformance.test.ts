import { describe } from 'vitest';
import {
  PostgresEventStore,
  type PostgresTransaction,
  postgresProjectionStore,
  type PostgresReadModel,
} from '@causewayjs/postgres';
import { dropSchema, pgAvailable, pgExec, pgUrl, randomSchemaName } from '../support/postgres.js';
import { describeDocumentStoreConformance } from '@causewayjs/testing';

const available = await pgAvailable();

describe.skipIf(!available)('postgres', () => {
  describeDocumentStoreConformance<PostgresTransaction, PostgresReadModel>('postgres', () => {
    const schema = randomSchemaName();
    return Promise.resolve({
      open: async () => {
        const store = await PostgresEventStore.open(pgUrl, {
          schema,
          maxConnections: 6,
          listen: { pollIntervalMs: 50, reconnectDelayMs: 50 },
        });
        return { store, projections: await postgresProjectionStore(store) };
      },
      indexCount: async (_process, table) => {
        // Declared indexes only, not the primary key's.
        const rows = (await pgExec(
          `SELECT count(*)::int AS n FROM pg_index i
           JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
           WHERE n.nspname = $1 AND t.relname = $2 AND NOT i.indisprimary`,
          [schema, table],
        )) as { n: number }[];
        return rows[0]?.n ?? 0;
      },
      cleanup: () => dropSchema(schema),
    });
  });
});
