// Driver failures reach callers as Causeway errors with a stable code and the driver's error
// as `cause`, never raw: a lock held past the timeout is STORE_BUSY, a full database
// STORAGE_FULL, a file that is no database STORE_UNAVAILABLE.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client, DatabaseError, escapeIdentifier } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '@causewayjs/sqlite';
import { PostgresEventStore } from '@causewayjs/postgres';
import {
  StorageFullError,
  StoreBusyError,
  StoreUnavailableError,
  WriteRejectedError,
  collect,
} from '@causewayjs/core';
import {
  dropSchema,
  pgAvailable,
  pgUrl,
  randomSchemaName,
  waitForLockWait,
} from '../support/postgres.js';

const pgUp = await pgAvailable();

/** What a promise rejected with (fails the test if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as Error,
  );
}

describe('SQLite driver failures', () => {
  const cleanups: (() => unknown)[] = [];
  let dir: string;
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  function open(busyTimeoutMs?: number) {
    dir = mkdtempSync(join(tmpdir(), 'causeway-driver-errors-'));
    const file = join(dir, 'events.db');
    const store = SqliteEventStore.open(file, busyTimeoutMs === undefined ? {} : { busyTimeoutMs });
    cleanups.push(() => store.close());
    return { store, file };
  }

  it('SQLITE_BUSY: another process holding the write lock past busyTimeoutMs is StoreBusyError', async () => {
    const { store, file } = open(50);
    await store.append('s', [{ type: 'a', data: 1 }]);
    const blocker = new Database(file);
    cleanups.push(() => blocker.close());
    blocker.exec('BEGIN IMMEDIATE');

    const failures = [
      await rejection(store.append('s', [{ type: 'b', data: 2 }])),
      await rejection(store.appendMany([{ stream: 't', events: [{ type: 'b', data: 2 }] }])),
      await rejection(store.transaction(() => Promise.resolve())),
      await rejection(store.setStreamMetadata('s', { maxCount: 1 })),
      await rejection(store.deleteStream('s')),
    ];
    for (const error of failures) {
      expect(error).toBeInstanceOf(StoreBusyError);
      expect(error).toMatchObject({ code: 'STORE_BUSY' });
      expect(error.cause).toBeInstanceOf(Database.SqliteError);
      expect((error.cause as { code: string }).code).toMatch(/^SQLITE_BUSY/);
    }
    // Reads are not blocked by a writer (WAL).
    expect((await collect(store.readAll())).map((e) => e.data)).toEqual([1]);

    blocker.exec('ROLLBACK');
    expect(await store.append('s', [{ type: 'b', data: 2 }])).toMatchObject({ position: 2 });
  });

  it('SQLITE_FULL: a database at max_page_count is StorageFullError, and nothing is half-written', async () => {
    const { store } = open();
    await store.append('s', [{ type: 'a', data: 1 }]);
    // The connection's own cap on the file's size: a full disk, without needing root.
    const pages = store.database.pragma('page_count', { simple: true }) as number;
    store.database.pragma(`max_page_count = ${pages}`);

    const error = await rejection(store.append('big', [{ type: 'a', data: 'x'.repeat(200_000) }]));
    expect(error).toBeInstanceOf(StorageFullError);
    expect(error).toMatchObject({ code: 'STORAGE_FULL' });
    expect(error.cause).toBeInstanceOf(Database.SqliteError);
    expect((error.cause as { code: string }).code).toBe('SQLITE_FULL');
    expect((await store.streamInfo('big')).exists).toBe(false);

    store.database.pragma(`max_page_count = ${pages * 1000}`);
    expect(await store.append('big', [{ type: 'a', data: 'x'.repeat(200_000) }])).toEqual({
      stream: 'big',
      revision: 0,
      position: 2,
    });
  });

  it('a file that is no SQLite database is StoreUnavailableError', () => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-driver-errors-'));
    const file = join(dir, 'not-a.db');
    writeFileSync(file, 'this is not a database, only some text. '.repeat(200));
    let error: unknown;
    try {
      SqliteEventStore.open(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(Database.SqliteError);
    expect(((error as Error).cause as { code: string }).code).toBe('SQLITE_NOTADB');
  });

  it('a driver error thrown by work on tx.database gets its code too', async () => {
    const { store } = open();
    await store.transaction((tx) => {
      tx.database.exec('CREATE TABLE only_once (id INTEGER PRIMARY KEY)');
      tx.database.exec('INSERT INTO only_once (id) VALUES (1)');
      return Promise.resolve();
    });
    const error = await rejection(
      store.transaction((tx) => {
        tx.database.exec('INSERT INTO only_once (id) VALUES (1)');
        return Promise.resolve();
      }),
    );
    expect(error).toBeInstanceOf(WriteRejectedError);
    expect((error.cause as { code: string }).code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
  });
});

describe.skipIf(!pgUp)('PostgreSQL driver failures', () => {
  const cleanups: (() => unknown)[] = [];
  let schema: string;
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await dropSchema(schema);
  });

  /** Opens a store and a second connection holding the row lock of stream `locked`. */
  async function openLocked(url: string) {
    schema = randomSchemaName();
    const store = await PostgresEventStore.open(url, { schema, maxConnections: 2 });
    cleanups.push(() => store.close());
    await store.append('locked', [{ type: 'a', data: 1 }]);
    const blocker = new Client({ connectionString: pgUrl });
    await blocker.connect();
    cleanups.push(() => blocker.end());
    await blocker.query('BEGIN');
    await blocker.query(
      `SELECT 1 FROM ${escapeIdentifier(schema)}.causeway_streams WHERE name = 'locked' FOR UPDATE`,
    );
    cleanups.push(() => blocker.query('ROLLBACK'));
    return store;
  }

  it('a lock held past lock_timeout is StoreBusyError (55P03)', async () => {
    const url = `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}lock_timeout=200`;
    const store = await openLocked(url);
    for (const attempt of [
      store.append('locked', [{ type: 'b', data: 2 }]),
      store.append('locked', [{ type: 'b', data: 2 }], { expectedRevision: 0 }),
      store.deleteStream('locked'),
    ]) {
      const error = await rejection(attempt);
      expect(error).toBeInstanceOf(StoreBusyError);
      expect(error).toMatchObject({ code: 'STORE_BUSY' });
      expect(error.cause).toBeInstanceOf(DatabaseError);
      expect((error.cause as DatabaseError).code).toBe('55P03');
    }
    expect(await store.append('free', [{ type: 'b', data: 2 }])).toMatchObject({ position: 2 });
  });

  it('a statement cancelled with pg_cancel_backend is StoreBusyError (57014)', async () => {
    const store = await openLocked(pgUrl);
    const waiting = rejection(store.append('locked', [{ type: 'b', data: 2 }]));
    await waitForLockWait(schema);
    const admin = new Client({ connectionString: pgUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ cancelled: boolean }>(
        `SELECT pg_cancel_backend(pid) AS cancelled FROM pg_stat_activity
         WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND strpos(query, $1) > 0`,
        [schema],
      );
      expect(rows.map((r) => r.cancelled)).toEqual([true]);
    } finally {
      await admin.end();
    }
    const error = await waiting;
    expect(error).toBeInstanceOf(StoreBusyError);
    expect(error.cause).toBeInstanceOf(DatabaseError);
    expect((error.cause as DatabaseError).code).toBe('57014');
    expect(await store.append('free', [{ type: 'b', data: 2 }])).toMatchObject({ position: 2 });
  });

  it('a driver error thrown by work on tx.client gets its code too', async () => {
    schema = randomSchemaName();
    const store = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 2 });
    cleanups.push(() => store.close());
    const table = `${escapeIdentifier(schema)}.only_once`;
    await store.pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    await store.pool.query(`INSERT INTO ${table} VALUES (1)`);
    const error = await rejection(
      store.transaction(async (tx) => {
        await tx.client.query(`INSERT INTO ${table} VALUES (1)`);
      }),
    );
    expect(error).toBeInstanceOf(WriteRejectedError);
    expect((error.cause as DatabaseError).code).toBe('23505');
  });
});
