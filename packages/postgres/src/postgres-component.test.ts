import { eventStoreMigrations } from './postgres-migrations.js';
import { Pool, escapeIdentifier } from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SchemaTooNewError, StoreClosedError, StoreUnavailableError } from '@causewayjs/core';
import {
  dropSchema,
  pgAvailable,
  pgExec,
  pgUrl,
  randomSchemaName,
} from '../../../test/support/postgres.js';
import { PostgresEventStore } from './postgres-event-store.js';
import { PostgresSchemaStorage } from './postgres-schema-storage.js';
import { PostgresSnapshotStore } from './postgres-snapshot-store.js';

const available = await pgAvailable();

const snap = (revision: number) => ({
  revision,
  stateVersion: 'v1',
  state: { n: revision, text: 'nul \u0000 kept' },
  takenAt: new Date('2026-03-01T00:00:00.123Z'),
});

describe.skipIf(!available)('PostgreSQL snapshot store and schema storage', () => {
  let schema: string;
  const closers: (() => Promise<void>)[] = [];
  const track = <T extends { close(): Promise<void> }>(opened: T): T => {
    closers.push(() => opened.close());
    return opened;
  };

  beforeEach(() => {
    schema = randomSchemaName();
  });

  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await dropSchema(schema);
  });

  it('share the event store schema, each migrated as its own component', async () => {
    track(await PostgresEventStore.open(pgUrl, { schema, maxConnections: 1 }));
    track(await PostgresSnapshotStore.open(pgUrl, { schema, maxConnections: 1 }));
    track(await PostgresSchemaStorage.open(`${pgUrl}?schema=${schema}`, { maxConnections: 1 }));
    const rows = await pgExec(
      `SELECT component, version FROM ${escapeIdentifier(schema)}.causeway_schema_version ORDER BY component`,
    );
    expect(rows).toEqual([
      { component: 'event-store', version: eventStoreMigrations(schema).length },
      { component: 'schema-registry', version: 1 },
      { component: 'snapshots', version: 2 },
    ]);
  });

  it('migrate once when many processes open the schema at the same time', async () => {
    const opened = await Promise.all([
      ...Array.from({ length: 4 }, () =>
        PostgresSnapshotStore.open(pgUrl, { schema, maxConnections: 1 }),
      ),
      ...Array.from({ length: 4 }, () =>
        PostgresSchemaStorage.open(pgUrl, { schema, maxConnections: 1 }),
      ),
    ]);
    opened.forEach(track);
    const [first] = opened as [PostgresSnapshotStore];
    await first.save('order-1', snap(2));
    expect(await first.load('order-1', 'v1')).toEqual(snap(2));
  });

  it('refuse tables migrated by a newer version', async () => {
    await (await PostgresSnapshotStore.open(pgUrl, { schema })).close();
    await pgExec(
      `UPDATE ${escapeIdentifier(schema)}.causeway_schema_version SET version = 9 WHERE component = 'snapshots'`,
    );
    await expect(PostgresSnapshotStore.open(pgUrl, { schema })).rejects.toBeInstanceOf(
      SchemaTooNewError,
    );
  });

  it('fail with StoreClosedError once closed', async () => {
    const snapshots = await PostgresSnapshotStore.open(pgUrl, { schema });
    const storage = await PostgresSchemaStorage.open(pgUrl, { schema });
    await snapshots.close();
    await storage.close();
    await snapshots.close();
    await expect(snapshots.load('order-1', 'v1')).rejects.toBeInstanceOf(StoreClosedError);
    await expect(storage.listSchemas()).rejects.toBeInstanceOf(StoreClosedError);
  });

  it('share a pool given with its schema, leaving it open on close', async () => {
    const pool = new Pool({ connectionString: pgUrl, max: 2 });
    try {
      const snapshots = await PostgresSnapshotStore.open({ pool, schema });
      const storage = await PostgresSchemaStorage.open({ pool, schema }, { schema: 'ignored' });
      expect([snapshots.schema, storage.schema]).toEqual([schema, schema]);
      await snapshots.save('order-1', snap(1));
      await snapshots.close();
      await storage.close();
      await expect(snapshots.load('order-1', 'v1')).rejects.toBeInstanceOf(StoreClosedError);
      const rows = await pool.query(
        `SELECT revision FROM ${escapeIdentifier(schema)}.causeway_snapshots`,
      );
      expect(rows.rows).toEqual([{ revision: '1' }]);
      // Once the owner ends the pool, the store reports itself closed.
      const again = await PostgresSnapshotStore.open({ pool, schema });
      await pool.end();
      await expect(again.load('order-1', 'v1')).rejects.toBeInstanceOf(StoreClosedError);
      await expect(PostgresSnapshotStore.open({ pool, schema })).rejects.toBeInstanceOf(
        StoreClosedError,
      );
    } finally {
      if (!pool.ended && !pool.ending) await pool.end();
    }
  });

  it('report an unreachable server as StoreUnavailableError, without the password', async () => {
    const error: unknown = await PostgresSnapshotStore.open(
      'postgres://someone:secret@127.0.0.1:1/none',
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain('someone:***@');
    expect((error as Error).message).not.toContain('secret');
  });
});
