import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  InvalidArgumentError,
  InvalidDocumentError,
  InvalidDocumentIdError,
  type ProjectionBuild,
  StoreUnavailableError,
} from '@causewayjs/core';
import {
  dropSchema,
  pgAvailable,
  pgUrl,
  randomSchemaName,
} from '../../../test/support/postgres.js';
import { PostgresEventStore } from './postgres-event-store.js';
import { postgresProjectionStore } from './postgres-projection-store.js';

const available = await pgAvailable();
const BUILD: ProjectionBuild = { name: 'docs', version: 1, build: 1 };

describe.skipIf(!available)('PostgreSQL documents, buffered writes', () => {
  let schema: string;
  const stores: PostgresEventStore[] = [];
  beforeEach(() => {
    schema = randomSchemaName();
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await dropSchema(schema);
  });

  const open = async () => {
    const store = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 4 });
    stores.push(store);
    return { store, projections: await postgresProjectionStore(store) };
  };

  /** Counts the statements on the collection's table sent (by any connection) while `work` runs. */
  const counting = async <T>(
    work: () => Promise<T>,
  ): Promise<{ result: T; statements: number }> => {
    const spy = vi.spyOn(pg.Client.prototype, 'query');
    try {
      const result = await work();
      const statements = spy.mock.calls.filter((call) => {
        const [config] = call as unknown[];
        const text = typeof config === 'string' ? config : (config as { text?: string }).text;
        return text?.includes('docs_v1__totals') === true;
      }).length;
      return { result, statements };
    } finally {
      spy.mockRestore();
    }
  };

  it('checks every put after the first as the first, sending nothing until the flush', async () => {
    const { store, projections } = await open();
    const { failures, statements, flushed } = await store.transaction(async (tx) => {
      const docs = projections.bind(tx, BUILD, { buffered: true }).documents('totals');
      // The first write creates the collection (one statement, in the transaction).
      await docs.put('a', { n: 1 });
      const counted = await counting(async () => {
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
        await docs.put('b', { text: '\\u0000 and \\ud800, as text', emoji: '😀', tab: '\t' });
        for (let i = 0; i < 100; i++) await docs.put(`id-${i % 10}`, { i });
        return failures;
      });
      const flush = await counting(async () => projections.flush?.(tx));
      return {
        failures: counted.result,
        statements: counted.statements,
        flushed: flush.statements,
      };
    });
    expect(failures.map((e) => (e as Error).constructor)).toEqual([
      InvalidDocumentIdError,
      InvalidDocumentIdError,
      InvalidDocumentError,
      InvalidDocumentError,
      InvalidDocumentError,
    ]);
    expect(statements).toBe(0);
    // Every document of the transaction in one statement.
    expect(flushed).toBe(1);
    const read = await projections.read(BUILD, (rm) =>
      rm
        .documents<{ n?: number; i?: number; text?: string; emoji?: string }>('totals')
        .getMany(['a', 'b', 'id-3']),
    );
    expect(read).toEqual([
      { n: 1 },
      { text: '\\u0000 and \\ud800, as text', emoji: '😀', tab: '\t' },
      { i: 93 },
    ]);
  });

  it('reports a document that throws as it is read the same way on every put', async () => {
    const { store, projections } = await open();
    const throwing = {
      get total(): number {
        throw new Error('no total');
      },
    };
    const failures = await store.transaction(async (tx) => {
      const first = projections.bind(tx, BUILD, { buffered: true }).documents('totals');
      const before = await first.put('x', throwing).catch((e: unknown) => e);
      await first.put('a', { n: 1 });
      const after = await first.put('y', throwing).catch((e: unknown) => e);
      return [before, after] as const;
    });
    const [before, after] = failures;
    // A failed write of the adapter's, as any write that fails outside the document checks.
    expect(before).toBeInstanceOf(StoreUnavailableError);
    expect((after as Error).constructor).toBe((before as Error).constructor);
    expect((after as { code?: string }).code).toBe((before as { code?: string }).code);
    expect((after as Error).message).toBe((before as Error).message);
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
    const ids = await projections.read(BUILD, async (rm) =>
      (await rm.documents('totals').find()).items.map((i) => i.id),
    );
    expect(ids).toEqual(['a']);
  });
});
