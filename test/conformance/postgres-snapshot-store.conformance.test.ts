import { Client, escapeIdentifier } from 'pg';
import { describe } from 'vitest';
import { migratePostgres, PostgresSnapshotStore } from '@causewayjs/postgres';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import { describeSnapshotStoreConformance } from '@causewayjs/testing';

const available = await pgAvailable();

/** Version 1 of the snapshot table, as published: what an older Causeway created. */
const version1 = (schema: string) => ({
  version: 1,
  description: 'snapshots',
  statements: [
    `CREATE TABLE ${escapeIdentifier(schema)}.causeway_snapshots (
      stream text NOT NULL,
      state_version text NOT NULL,
      revision bigint NOT NULL,
      state json NOT NULL,
      taken_at timestamptz NOT NULL,
      PRIMARY KEY (stream, state_version)
    )`,
  ],
});

describe.skipIf(!available)('postgres', () => {
  describeSnapshotStoreConformance('postgres', () => {
    const schema = randomSchemaName();
    const opened: PostgresSnapshotStore[] = [];
    return Promise.resolve({
      durable: true,
      open: async () => {
        const snapshots = await PostgresSnapshotStore.open(pgUrl, { schema, maxConnections: 4 });
        opened.push(snapshots);
        return snapshots;
      },
      seedPreviousVersion: async (rows) => {
        const client = new Client({ connectionString: pgUrl });
        await client.connect();
        try {
          await migratePostgres(client, schema, 'snapshots', [version1(schema)]);
          for (const row of rows) {
            await client.query(
              `INSERT INTO ${escapeIdentifier(schema)}.causeway_snapshots
                 (stream, state_version, revision, state, taken_at)
               VALUES ($1, $2, $3, $4::json, $5)`,
              [row.stream, row.stateVersion, row.revision, JSON.stringify(row.state), row.takenAt],
            );
          }
        } finally {
          await client.end();
        }
      },
      cleanup: async () => {
        await Promise.all(opened.map((snapshots) => snapshots.close()));
        await dropSchema(schema);
      },
    });
  });
});
