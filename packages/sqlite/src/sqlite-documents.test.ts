import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  InvalidDocumentError,
  InvalidDocumentIdError,
  type ProjectionBuild,
} from '@causewayjs/core';
import { SqliteEventStore } from './sqlite-event-store.js';
import { sqliteProjectionStore } from './sqlite-projection-store.js';

const BUILD: ProjectionBuild = { name: 'docs', version: 1, build: 1 };

describe('SQLite documents, buffered writes', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const open = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-sqlite-docs-'));
    const store = SqliteEventStore.open(join(dir, 'events.db'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    cleanups.push(() => store.close());
    return { store, projections: await sqliteProjectionStore(store) };
  };

  const count = (database: SqliteEventStore['database']) =>
    database.prepare<[], { n: number }>('SELECT count(*) AS n FROM docs_v1__totals').get()?.n;

  it('checks every put after the first as the first, and writes only at the flush', async () => {
    const { store, projections } = await open();
    const outcomes = await store.transaction(async (tx) => {
      const docs = projections.bind(tx, BUILD, { buffered: true }).documents('totals');
      await docs.put('a', { n: 1 });
      const failures = await Promise.all(
        [
          docs.put('', { n: 1 }),
          docs.put('x\u0000', { n: 1 }),
          docs.put('b', { text: 'a\u0000b' }),
          docs.put('b', { ['key\ud800']: 1 }),
          docs.put('b', { n: 10n }),
        ].map((p) =>
          p.then(
            () => undefined,
            (e: unknown) => e,
          ),
        ),
      );
      // Backslashes and escapes that are not NUL or lone surrogates are stored as given.
      await docs.put('b', { text: '\\u0000 and \\ud800, as text', emoji: '😀', tab: '\t' });
      await docs.put('c', { n: 3 });
      await docs.put('a', { n: 2 });
      // Held back: nothing in the table yet (read on the transaction's own connection).
      const before = count(tx.database);
      return { failures, before };
    });
    expect(outcomes.failures.map((e) => (e as Error).constructor)).toEqual([
      InvalidDocumentIdError,
      InvalidDocumentIdError,
      InvalidDocumentError,
      InvalidDocumentError,
      InvalidDocumentError,
    ]);
    expect(outcomes.before).toBe(0);
  });

  it('writes the buffer out once flushed, the last write of each id winning', async () => {
    const { store, projections } = await open();
    await store.transaction(async (tx) => {
      const docs = projections.bind(tx, BUILD, { buffered: true }).documents('totals');
      for (let i = 0; i < 100; i++) await docs.put(`id-${i % 10}`, { i });
      await docs.put('b', { text: '\\u0000 and \\ud800, as text', emoji: '😀' });
      await projections.flush?.(tx);
    });
    expect(count(store.database)).toBe(11);
    const read = await projections.read(BUILD, (rm) =>
      rm.documents<{ i?: number; text?: string; emoji?: string }>('totals').getMany(['id-3', 'b']),
    );
    expect(read).toEqual([{ i: 93 }, { text: '\\u0000 and \\ud800, as text', emoji: '😀' }]);
  });

  it('refuses a put once the transaction has ended, after puts that succeeded', async () => {
    const { store, projections } = await open();
    let late: ReturnType<ReturnType<typeof projections.bind>['documents']> | undefined;
    await store.transaction(async (tx) => {
      late = projections.bind(tx, BUILD, { buffered: true }).documents('totals');
      await late.put('a', { n: 1 });
      await projections.flush?.(tx);
    });
    await expect(late?.put('b', { n: 2 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(count(store.database)).toBe(1);
  });
});
