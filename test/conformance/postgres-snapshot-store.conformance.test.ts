import { describe } from 'vitest';
import { PostgresSnapshotStore } from '../../src/adapters/postgres/postgres-snapshot-store.js';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import { describeSnapshotStoreConformance } from './snapshot-store.suite.js';

const available = await pgAvailable();

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
      cleanup: async () => {
        await Promise.all(opened.map((snapshots) => snapshots.close()));
        await dropSchema(schema);
      },
    });
  });
});
