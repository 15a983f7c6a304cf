import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SchemaTooNewError, collect, partitionOf } from '@causewayjs/core';
import { SqliteEventStore } from './sqlite-event-store.js';
import { migrateSqlite, sqliteEventStoreMigrations } from './sqlite-migrations.js';
import { holdTransaction } from '../../../test/support/hold-transaction.js';

describe('SQLite schema migrations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-migrate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('records the schema version on first open and leaves it on reopen', () => {
    const file = join(dir, 'a.db');
    SqliteEventStore.open(file).database.close();
    const store = SqliteEventStore.open(file);
    const rows = store.database
      .prepare('SELECT component, version FROM causeway_schema_version')
      .all();
    expect(rows).toEqual([
      { component: 'event-store', version: sqliteEventStoreMigrations.length },
    ]);
    store.database.close();
  });

  it('refuses a database migrated by a newer version, without touching it', () => {
    const file = join(dir, 'b.db');
    SqliteEventStore.open(file).database.close();
    const raw = new Database(file);
    raw
      .prepare("UPDATE causeway_schema_version SET version = 99 WHERE component = 'event-store'")
      .run();
    raw.close();
    let error: unknown;
    try {
      SqliteEventStore.open(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect(error).toMatchObject({
      code: 'SCHEMA_TOO_NEW',
      found: 99,
      supported: sqliteEventStoreMigrations.length,
    });
    const check = new Database(file);
    expect(check.prepare('SELECT version FROM causeway_schema_version').get()).toEqual({
      version: 99,
    });
    check.close();
  });

  it('opens an up-to-date file while another store in the process holds a write transaction', async () => {
    const file = join(dir, 'e.db');
    const writer = SqliteEventStore.open(file);
    const tx = await holdTransaction(writer);
    const reader = SqliteEventStore.open(file, { busyTimeoutMs: 200 });
    expect(await reader.headPosition()).toBe(0);
    await tx.release();
    expect(await reader.headPosition()).toBe(1);
    await reader.close();
    await writer.close();
  });

  it('uses WAL and synchronous=FULL by default, configurable', () => {
    const store = SqliteEventStore.open(join(dir, 'c.db'));
    expect(store.database.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.database.pragma('synchronous', { simple: true })).toBe(2);
    store.database.close();
    const normal = SqliteEventStore.open(join(dir, 'd.db'), { synchronous: 'NORMAL' });
    expect(normal.database.pragma('synchronous', { simple: true })).toBe(1);
    normal.database.close();
  });

  it('upgrades a version-3 file: existing events get their stream hash, partitions read them', async () => {
    const file = join(dir, 'v3.db');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    migrateSqlite(old, 'event-store', sqliteEventStoreMigrations.slice(0, 3));
    const insert = old.prepare(
      `INSERT INTO causeway_events
         (position, id, stream, revision, type, data, metadata, schema_version, recorded_at)
       VALUES (?, ?, ?, ?, 'x', '{}', '{}', 1, 0)`,
    );
    const streams = ['order-1', 'order-2', 'cart-ü', 'user-7', 'user-8', 'invoice-3'];
    streams.forEach((stream, i) => {
      insert.run(i + 1, `00000000-0000-7000-8000-00000000000${i}`, stream, 0);
      old
        .prepare('INSERT INTO causeway_streams (name, revision, deleted) VALUES (?, 0, 0)')
        .run(stream);
    });
    old.close();

    const store = SqliteEventStore.open(file);
    const hashes = store.database
      .prepare('SELECT stream, stream_hash FROM causeway_events ORDER BY position')
      .all() as { stream: string; stream_hash: number }[];
    expect(hashes.map((r) => r.stream_hash % 1024)).toEqual(
      streams.map((s) => partitionOf(s, 1024)),
    );
    for (let index = 0; index < 3; index++) {
      const got = await collect(store.readAll({ filter: { partition: { count: 3, index } } }));
      expect(got.map((e) => e.stream)).toEqual(streams.filter((s) => partitionOf(s, 3) === index));
    }
    // Events appended after the upgrade are hashed at append time.
    await store.append('order-9', [{ type: 'x', data: {} }]);
    const index = partitionOf('order-9', 5);
    const got = await collect(store.readAll({ filter: { partition: { count: 5, index } } }));
    expect(got.map((e) => e.stream)).toContain('order-9');
    await store.close();
  });

  it('reads into their partitions the events a process of version 3 appends after the upgrade', async () => {
    const file = join(dir, 'mixed.db');
    const store = SqliteEventStore.open(file);
    // A process not yet upgraded writes without stream_hash, which then takes its default.
    const older = new Database(file);
    const insert = older.prepare(
      `INSERT INTO causeway_events
         (position, id, stream, revision, type, data, metadata, schema_version, recorded_at)
       VALUES (?, ?, ?, 0, 'x', '{}', '{}', 1, 0)`,
    );
    const streams = ['order-1', 'order-2', 'cart-ü', 'user-7', 'user-8', 'invoice-3'];
    // At least one of them lies outside partition 0, where the default would put them all.
    expect(streams.some((s) => partitionOf(s, 3) !== 0)).toBe(true);
    older.transaction(() => {
      streams.forEach((stream, i) => {
        insert.run(i + 1, `00000000-0000-7000-8000-00000000001${i}`, stream);
        older
          .prepare('INSERT INTO causeway_streams (name, revision, deleted) VALUES (?, 0, 0)')
          .run(stream);
      });
    })();
    older.close();
    for (let index = 0; index < 3; index++) {
      const got = await collect(store.readAll({ filter: { partition: { count: 3, index } } }));
      expect(got.map((e) => e.stream)).toEqual(streams.filter((s) => partitionOf(s, 3) === index));
    }
    await store.close();
  });
});
