import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryEventStore, UnsupportedStoreUrlError, collect, openEventStore } from './index.js';
import { SqliteEventStore } from '@causewayjs/sqlite';

describe('openEventStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-open-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("opens an in-memory store for 'memory:'", async () => {
    const store = await openEventStore('memory:');
    expect(store).toBeInstanceOf(MemoryEventStore);
    await store.close();
  });

  it('opens a SQLite file, creating missing folders, and shares it between opens', async () => {
    const file = join(dir, 'nested', 'deeper', 'events.db');
    const a = await openEventStore(`sqlite:${file}`);
    expect(a).toBeInstanceOf(SqliteEventStore);
    await a.append('s-1', [{ type: 't', data: 1 }]);
    const b = await openEventStore(`sqlite:${file}`, { synchronous: 'NORMAL' });
    expect((await collect(b.readAll())).map((e) => e.data)).toEqual([1]);
    await a.close();
    await b.close();
  });

  it("opens a private in-memory SQLite database for 'sqlite::memory:'", async () => {
    const store = await openEventStore('sqlite::memory:');
    await store.append('s', [{ type: 't', data: null }]);
    expect(await store.headPosition()).toBe(1);
    await store.close();
  });

  it('refuses URLs it cannot serve, with a typed error', async () => {
    for (const url of ['mysql://localhost/db', 'memory', 'sqlite:', '', 'events.db', 42 as never]) {
      const error = await openEventStore(url).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, String(url)).toBeInstanceOf(UnsupportedStoreUrlError);
      expect((error as UnsupportedStoreUrlError).code).toBe('UNSUPPORTED_STORE_URL');
    }
  });

  it('fails clearly when the SQLite file cannot be opened', async () => {
    const notADir = join(dir, 'plain-file');
    writeFileSync(notADir, 'x');
    await expect(openEventStore(`sqlite:${join(notADir, 'events.db')}`)).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
  });
});
