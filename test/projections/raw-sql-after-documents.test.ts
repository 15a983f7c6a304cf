import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Projector, defineProjection, type RecordedEvent } from '@causewayjs/core';
import {
  PostgresEventStore,
  postgresProjectionStore,
  type PostgresReadModel,
  type PostgresTransaction,
} from '@causewayjs/postgres';
import {
  SqliteEventStore,
  sqliteProjectionStore,
  type SqliteReadModel,
  type SqliteTransaction,
} from '@causewayjs/sqlite';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

/**
 * Document writes are held back until the end of a batch; raw SQL on the read model's
 * connection in the same call must still see those made before it (SQLite: `database` and
 * `prepare` write the buffer out first; PostgreSQL: `await rm.flush()`).
 */
const HANDLES = ['item.added'];
const events = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ type: 'item.added', data: { id: `i${i}` } }));

/** The counts each event saw in the collection's table through raw SQL. */
const seenOf = (docs: { id: string; document: { seen: number } }[]) =>
  docs.map((d) => d.document.seen).sort((a, b) => a - b);

const pgUp = await pgAvailable();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('raw SQL after document writes in the same batch', () => {
  it('SQLite: rm.database sees the documents written before it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-raw-after-docs-'));
    const store = SqliteEventStore.open(join(dir, 'events.db'), { pollIntervalMs: 10 });
    cleanups.push(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const apply = async (event: RecordedEvent, rm: SqliteReadModel) => {
      const { id } = event.data as { id: string };
      await rm.documents('items').put(id, { id });
      const row = rm.database.prepare(`SELECT count(*) AS n FROM ${rm.table('items')}`).get() as {
        n: number;
      };
      await rm.documents<{ seen: number }>('seen').put(id, { seen: row.n });
    };
    const projector = new Projector<SqliteTransaction, SqliteReadModel>({
      store: await sqliteProjectionStore(store),
      projections: [
        defineProjection<SqliteReadModel>({
          name: 'raw-after',
          version: 1,
          handles: HANDLES,
          setup: () => undefined,
          apply,
        }),
      ],
    });
    cleanups.push(() => projector.stop());
    // Appended before the start: caught up as one batch.
    const { position } = await store.append('items-1', events(5));
    await projector.start();
    const { data } = await projector.query(
      'raw-after',
      async (rm) => (await rm.documents<{ seen: number }>('seen').find()).items,
      { minPosition: position, timeoutMs: 15_000 },
    );
    expect(seenOf(data)).toEqual([1, 2, 3, 4, 5]);
  });

  it.skipIf(!pgUp)(
    'PostgreSQL: rm.client sees the documents written before it after rm.flush()',
    async () => {
      const schema = randomSchemaName();
      const store = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 4 });
      cleanups.push(async () => {
        await store.close();
        await dropSchema(schema);
      });
      const apply = async (event: RecordedEvent, rm: PostgresReadModel) => {
        const { id } = event.data as { id: string };
        await rm.documents('items').put(id, { id });
        await rm.flush();
        const { rows } = await rm.client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${rm.table('items')}`,
        );
        await rm.documents<{ seen: number }>('seen').put(id, { seen: rows[0]?.n ?? -1 });
      };
      const projector = new Projector<PostgresTransaction, PostgresReadModel>({
        store: await postgresProjectionStore(store),
        projections: [
          defineProjection<PostgresReadModel>({
            name: 'raw-after',
            version: 1,
            handles: HANDLES,
            setup: () => undefined,
            apply,
          }),
        ],
      });
      cleanups.push(() => projector.stop());
      const { position } = await store.append('items-1', events(5));
      await projector.start();
      const { data } = await projector.query(
        'raw-after',
        async (rm) => (await rm.documents<{ seen: number }>('seen').find()).items,
        { minPosition: position, timeoutMs: 15_000 },
      );
      expect(seenOf(data)).toEqual([1, 2, 3, 4, 5]);
    },
  );
});
