import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SchemaTooNewError } from '@causewayjs/core';
import { SqliteEventStore } from './sqlite-event-store.js';
import { sqliteEventStoreMigrations } from './sqlite-migrations.js';
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
});
