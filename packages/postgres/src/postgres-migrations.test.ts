import { escapeIdentifier } from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SchemaTooNewError, collect, fnv1a32, partitionOf } from '@causewayjs/core';
import {
  dropSchema,
  pgAvailable,
  pgExec,
  pgUrl,
  randomSchemaName,
} from '../../../test/support/postgres.js';
import { PostgresEventStore } from './postgres-event-store.js';
import pg from 'pg';
import {
  EVENT_STORE_COMPONENT,
  eventStoreMigrations,
  migratePostgres,
} from './postgres-migrations.js';

const available = await pgAvailable();

describe.skipIf(!available)('PostgreSQL event store migrations', () => {
  let schema: string;
  const opened: PostgresEventStore[] = [];
  const open = async () => {
    const store = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 2 });
    opened.push(store);
    return store;
  };
  const version = async () =>
    (await pgExec(
      `SELECT version FROM ${escapeIdentifier(schema)}.causeway_schema_version WHERE component = $1`,
      [EVENT_STORE_COMPONENT],
    )) as { version: number }[];

  beforeEach(() => {
    schema = randomSchemaName();
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await dropSchema(schema);
  });

  it('creates the schema and its tables, and records the version', async () => {
    const store = await open();
    expect(await version()).toEqual([{ version: eventStoreMigrations(schema).length }]);
    const tables = (await pgExec(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema],
    )) as { table_name: string }[];
    expect(tables.map((t) => t.table_name)).toEqual([
      'causeway_events',
      'causeway_log',
      'causeway_schema_version',
      'causeway_streams',
    ]);
    expect(await store.headPosition()).toBe(0);
  });

  it('lets several processes open a fresh schema at once', async () => {
    const stores = await Promise.all(Array.from({ length: 4 }, () => open()));
    expect(await version()).toEqual([{ version: eventStoreMigrations(schema).length }]);
    expect(
      await pgExec(`SELECT id, position FROM ${escapeIdentifier(schema)}.causeway_log`),
    ).toEqual([{ id: 1, position: '0' }]);
    await Promise.all(stores.map((s, i) => s.append(`s-${i}`, [{ type: 'a', data: i }])));
    expect(await stores[0]?.headPosition()).toBe(4);
  });

  it('reopening a migrated schema changes nothing', async () => {
    const first = await open();
    await first.append('keep-1', [{ type: 'a', data: 1 }]);
    await first.close();
    const before = await pgExec(
      `SELECT version, applied_at FROM ${escapeIdentifier(schema)}.causeway_schema_version`,
    );
    const again = await open();
    expect(
      await pgExec(
        `SELECT version, applied_at FROM ${escapeIdentifier(schema)}.causeway_schema_version`,
      ),
    ).toEqual(before);
    expect(await again.headPosition()).toBe(1);
  });

  it('refuses a schema migrated further than this code knows, changing nothing', async () => {
    const store = await open();
    await store.close();
    await pgExec(
      `UPDATE ${escapeIdentifier(schema)}.causeway_schema_version SET version = 99 WHERE component = $1`,
      [EVENT_STORE_COMPONENT],
    );
    const error = await PostgresEventStore.open(pgUrl, { schema }).then(
      (s) => s.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect(error).toMatchObject({
      code: 'SCHEMA_TOO_NEW',
      found: 99,
      supported: eventStoreMigrations(schema).length,
    });
    expect(await version()).toEqual([{ version: 99 }]);
  });

  it('upgrades a version 1 schema with its events to the current version', async () => {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    try {
      await migratePostgres(client, schema, EVENT_STORE_COMPONENT, [
        eventStoreMigrations(schema)[0]!,
      ]);
    } finally {
      await client.end();
    }
    expect(await version()).toEqual([{ version: 1 }]);
    const store = await open();
    expect(await version()).toEqual([{ version: eventStoreMigrations(schema).length }]);
    await store.append('order-1', [{ type: 'a', data: 1 }]);
    expect((await collect(store.listStreams())).map((s) => s.stream)).toEqual(['order-1']);
  });

  it('upgrades a version 3 schema: its events get their stream hash, as fnv1a32 computes it', async () => {
    const s = escapeIdentifier(schema);
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    // Names with 1-, 2-, 3- and 4-byte UTF-8 sequences: the SQL hash must match the JS one.
    const names = ['order-1', 'café-2', 'ß€-3', 'emoji-😀', 'x'.repeat(300), ...seq(20)];
    try {
      await migratePostgres(
        client,
        schema,
        EVENT_STORE_COMPONENT,
        eventStoreMigrations(schema).slice(0, 3),
      );
      // Events as a version 3 store wrote them (no hash column yet).
      let position = 0;
      for (const name of names) {
        await client.query(`INSERT INTO ${s}.causeway_streams (name, revision) VALUES ($1, 1)`, [
          name,
        ]);
        for (let revision = 0; revision < 2; revision++) {
          position += 1;
          await client.query(
            `INSERT INTO ${s}.causeway_events
              (position, id, stream, revision, type, data, metadata, schema_version, recorded_at)
             VALUES ($1, gen_random_uuid(), $2, $3, 't', '{}', '{}', 1, now())`,
            [position, name, revision],
          );
        }
      }
      await client.query(`UPDATE ${s}.causeway_log SET position = $1`, [position]);
    } finally {
      await client.end();
    }
    const store = await open();
    expect(await version()).toEqual([{ version: eventStoreMigrations(schema).length }]);
    const rows = (await pgExec(
      `SELECT stream, stream_hash::float8 AS hash FROM ${s}.causeway_events ORDER BY position`,
    )) as { stream: string; hash: number }[];
    expect(rows).toHaveLength(names.length * 2);
    for (const row of rows) expect(row.hash).toBe(fnv1a32(row.stream));
    // A partition read over the migrated rows and one appended now.
    await store.append('after-upgrade', [{ type: 't', data: 1 }]);
    const all = await collect(store.readAll());
    for (let index = 0; index < 3; index++) {
      const mine = await collect(store.readAll({ filter: { partition: { count: 3, index } } }));
      expect(mine.map((e) => e.position)).toEqual(
        all.filter((e) => partitionOf(e.stream, 3) === index).map((e) => e.position),
      );
    }
  });

  it('reads right a row written without its hash (an older version still running)', async () => {
    const store = await open();
    await store.append('late-1', [{ type: 't', data: 1 }]);
    await store.append('late-2', [{ type: 't', data: 2 }]);
    await pgExec(`UPDATE ${escapeIdentifier(schema)}.causeway_events SET stream_hash = NULL`);
    for (let index = 0; index < 2; index++) {
      const mine = await collect(store.readAll({ filter: { partition: { count: 2, index } } }));
      expect(mine.map((e) => e.stream)).toEqual(
        ['late-1', 'late-2'].filter((name) => partitionOf(name, 2) === index),
      );
    }
  });
});

/** Stream names that spread over partitions. */
function seq(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `stream-${i}`);
}
