import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SchemaTooNewError, collect, type EventInput, Subscription } from '@causewayjs/core';
import { SqliteEventStore, type SqliteTransaction } from './sqlite-event-store.js';
import { migrateSqlite } from './sqlite-migrations.js';
import {
  SQLITE_SUBSCRIPTIONS_COMPONENT,
  sqliteSubscriptionMigrations,
  sqliteSubscriptionStorage,
} from './sqlite-subscription-storage.js';

const ev = (type: string): EventInput => ({ type, data: {} });

describe('SQLite seams and subscription storage', () => {
  let dir: string;
  const stores: SqliteEventStore[] = [];
  const open = (path = join(dir, 'events.db')) => {
    const store = SqliteEventStore.open(path, { pollIntervalMs: 10 });
    stores.push(store);
    return store;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-sqlite-subs-'));
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs transactions on a private in-memory database too', async () => {
    const store = open(':memory:');
    await store.transaction(async (tx) => {
      tx.database.exec('CREATE TABLE t (x INTEGER)');
      tx.database.prepare('INSERT INTO t VALUES (1)').run();
      await tx.append('s', [ev('x.one')]);
    });
    await expect(
      store.transaction(async (tx) => {
        tx.database.prepare('INSERT INTO t VALUES (2)').run();
        await tx.append('s', [ev('x.two')]);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(store.database.prepare('SELECT x FROM t').all()).toEqual([{ x: 1 }]);
    expect((await collect(store.readAll())).map((e) => e.type)).toEqual(['x.one']);
  });

  it('runs transactions on a second connection, replaced after a failure', async () => {
    const store = open();
    let first: Database.Database | undefined;
    let second: Database.Database | undefined;
    await store.transaction((tx) => {
      first = tx.database;
      return Promise.resolve();
    });
    expect(first).not.toBe(store.database);
    await store
      .transaction((tx) => {
        expect(tx.database).toBe(first);
        return Promise.reject(new Error('fails'));
      })
      .catch(() => undefined);
    // The failed transaction's connection is closed: nothing left running can use it.
    expect(first?.open).toBe(false);
    await store.transaction((tx) => {
      second = tx.database;
      return Promise.resolve();
    });
    expect(second?.open).toBe(true);
    expect(second).not.toBe(first);
  });

  it('keeps its tables in the subscriptions component and refuses a newer one', async () => {
    const store = open();
    await sqliteSubscriptionStorage(store);
    await sqliteSubscriptionStorage(store);
    expect(
      store.database
        .prepare('SELECT version FROM causeway_schema_version WHERE component = ?')
        .get(SQLITE_SUBSCRIPTIONS_COMPONENT),
    ).toEqual({ version: 2 });
    store.database
      .prepare('UPDATE causeway_schema_version SET version = 99 WHERE component = ?')
      .run(SQLITE_SUBSCRIPTIONS_COMPONENT);
    await expect(sqliteSubscriptionStorage(store)).rejects.toBeInstanceOf(SchemaTooNewError);
  });

  it('migrates version 1 lease tables: held leases keep running at epoch 0, the next holder gets 1', async () => {
    const store = open();
    await store.transaction((tx) => {
      migrateSqlite(
        tx.database,
        SQLITE_SUBSCRIPTIONS_COMPONENT,
        sqliteSubscriptionMigrations.slice(0, 1),
      );
      tx.database
        .prepare(
          'INSERT INTO causeway_leases (name, owner, expires_at, acquired_at) VALUES (?, ?, ?, ?)',
        )
        .run('old', 'runner', 2_000, 1_000);
      return Promise.resolve();
    });
    const { leases } = await sqliteSubscriptionStorage(store);
    expect(await leases.get('old')).toMatchObject({ owner: 'runner', epoch: 0 });
    expect(await leases.acquire('old', 'runner', 1_000, 1_500)).toEqual({
      acquired: true,
      epoch: 0,
    });
    await store.transaction((tx) => leases.assertHeld('old', { owner: 'runner', epoch: 0 }, tx));
    expect(await leases.acquire('old', 'next', 1_000, 3_000)).toEqual({ acquired: true, epoch: 1 });
  });

  it('commits a SQL read model with its checkpoint, read back through the store', async () => {
    const store = open();
    const storage = await sqliteSubscriptionStorage(store);
    await store.transaction((tx) => {
      tx.database.exec('CREATE TABLE counts (type TEXT PRIMARY KEY, n INTEGER NOT NULL)');
      return Promise.resolve();
    });
    for (let i = 0; i < 25; i++) await store.append(`s-${i % 3}`, [ev(i % 2 ? 'x.odd' : 'x.even')]);
    const subscription = new Subscription<SqliteTransaction>({
      name: 'counts',
      storage,
      handler: (event, { tx }) => {
        tx.database
          .prepare(
            'INSERT INTO counts (type, n) VALUES (?, 1) ON CONFLICT (type) DO UPDATE SET n = n + 1',
          )
          .run(event.type);
      },
    });
    await subscription.start();
    await subscription.waitForPosition(25);
    await subscription.stop();
    expect(store.database.prepare('SELECT type, n FROM counts ORDER BY type').all()).toEqual([
      { type: 'x.even', n: 13 },
      { type: 'x.odd', n: 12 },
    ]);
    expect((await storage.checkpoints.load('counts'))?.position).toBe(25);
    expect(await storage.checkpoints.list()).toMatchObject([{ name: 'counts', position: 25 }]);
  });
});
