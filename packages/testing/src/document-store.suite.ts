import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CausewayError,
  type RecordedEvent,
  DocumentErrorCode,
  DocumentsReadOnlyError,
  InvalidDocumentCursorError,
  InvalidDocumentError,
  InvalidDocumentIdError,
  InvalidDocumentQueryError,
  ProjectionApplyError,
  Projector,
  UnindexedFieldError,
  defineProjection,
  type DocumentPage,
  type DocumentQuery,
  type Documents,
  type DocumentsHandle,
  type ProjectionDefinition,
  type ProjectionMode,
  type ProjectionStore,
  type StoreTransaction,
  type TransactionalEventStore,
} from '@causewayjs/core';

/** One "process": a store and its projection store on the harness's database. */
export interface DocumentStoreProcess<Tx extends StoreTransaction, RM extends DocumentsHandle> {
  store: TransactionalEventStore<Tx>;
  projections: ProjectionStore<Tx, RM>;
}

/** How the document store suite reaches one adapter. */
export interface DocumentStoreHarness<Tx extends StoreTransaction, RM extends DocumentsHandle> {
  /** Opens a process on a fresh database of this harness (its own schema, file...). */
  open(): Promise<DocumentStoreProcess<Tx, RM>>;
  /**
   * The number of secondary indexes on a physical table (the primary key aside), for adapters
   * that index declared fields in the database; undefined where that means nothing (memory).
   */
  indexCount?(process: DocumentStoreProcess<Tx, RM>, table: string): Promise<number>;
  /** Drops the database; called after every test, once every opened store is closed. */
  cleanup(): Promise<void>;
}

type Doc = Record<string, unknown>;

const NAME = 'docs';
/** The indexes every handle of the suite declares, where it writes as where it queries. */
const INDEXES = ['status', 'total', 'customer.city', 'label', 'n', 'bucket'] as const;

/** What the suite's projection is asked to do, one event each. */
type Op =
  | { type: 'doc.put'; data: { id: string; doc: Doc } }
  | { type: 'doc.patch'; data: { id: string; patch: Doc } }
  | { type: 'doc.delete'; data: { id: string } }
  | { type: 'doc.copy'; data: { from: string; to: string } }
  | { type: 'doc.fail'; data: { id: string; doc: Doc } }
  | { type: 'doc.bad'; data: { kind: BadKind } }
  | { type: 'doc.many'; data: { from: number; count: number } }
  | { type: 'doc.count'; data: { status: string } };

type BadKind =
  | 'bigint'
  | 'empty-id'
  | 'long-id'
  | 'nul'
  | 'lone-surrogate'
  | 'long-indexed'
  | 'undefined'
  | 'patch-function';

const put = (id: string, doc: Doc): Op => ({ type: 'doc.put', data: { id, doc } });
const patch = (id: string, p: Doc): Op => ({ type: 'doc.patch', data: { id, patch: p } });
const del = (id: string): Op => ({ type: 'doc.delete', data: { id } });

/** The documents `doc.many` writes: `m-00042`, with `n`, a `bucket` of 7 and a label. */
const manyId = (i: number) => `m-${String(i).padStart(5, '0')}`;
const manyDoc = (i: number): Doc => ({ n: i, bucket: i % 7, label: `l${i % 13}` });

/** A retry policy that does not sleep. */
const instantRetry = { attempts: 2, baseDelayMs: 1, maxDelayMs: 1, sleep: () => Promise.resolve() };

/** Compares by Unicode code point, the order every adapter sorts strings in. */
function byCodePoint(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0) as number);
  const y = [...b].map((c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++)
    if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
}

/**
 * The document read-model contract (`Documents`), run against every adapter through real
 * projections driven by a `Projector`, async and inline: writes in the projection's
 * transaction (kept on commit, gone on rollback), reads of its own writes, merge patches,
 * finds on declared indexes (equality, `in`, numeric and string ranges, dotted paths, absent
 * fields), the order of mixed types, keyset pagination that visits every document once even
 * while documents are inserted, counts, rebuilds that drop the old build's collections,
 * typed errors for bad input, unicode ids, and a few thousand documents.
 */
export function describeDocumentStoreConformance<
  Tx extends StoreTransaction,
  RM extends DocumentsHandle,
>(name: string, makeHarness: () => Promise<DocumentStoreHarness<Tx, RM>>): void {
  describe(`Document store conformance: ${name}`, () => {
    let harness: DocumentStoreHarness<Tx, RM>;
    let main: DocumentStoreProcess<Tx, RM>;
    const projectors: Projector<Tx, RM>[] = [];

    const docsOf = (rm: RM) => rm.documents<Doc>('docs', { indexes: INDEXES });

    /** The suite's projection: each event is one operation on the `docs` collection. */
    const definition = (mode: ProjectionMode): ProjectionDefinition<RM> =>
      defineProjection<RM>({
        name: NAME,
        version: 1,
        mode,
        handles: [
          'doc.put',
          'doc.patch',
          'doc.delete',
          'doc.copy',
          'doc.fail',
          'doc.bad',
          'doc.many',
          'doc.count',
        ],
        setup: async (rm) => {
          await rm.documents<Doc>('meta').put('setup', { ok: true });
        },
        apply: async (event: RecordedEvent, rm) => {
          const docs = docsOf(rm);
          const log = rm.documents<Doc>('log');
          const op = { type: event.type, data: event.data } as Op;
          switch (op.type) {
            case 'doc.put':
              return docs.put(op.data.id, op.data.doc);
            case 'doc.patch': {
              const result = await docs.patch(op.data.id, op.data.patch);
              return log.put(event.id, { patched: result ?? null });
            }
            case 'doc.delete':
              return log.put(event.id, { deleted: await docs.delete(op.data.id) });
            case 'doc.copy': {
              const found = await docs.get(op.data.from);
              if (found !== undefined) await docs.put(op.data.to, { ...found, copied: true });
              return;
            }
            case 'doc.fail':
              await docs.put(op.data.id, op.data.doc);
              throw new Error(`failing on ${op.data.id}`);
            case 'doc.bad':
              return bad(docs, op.data.kind);
            case 'doc.many':
              for (let i = op.data.from; i < op.data.from + op.data.count; i++)
                await docs.put(manyId(i), manyDoc(i));
              return;
            case 'doc.count': {
              // Queries in apply see the writes made before them in the same transaction.
              const where = { status: op.data.status };
              const found = (await docs.find({ where })).items.map((i) => i.id);
              return log.put(event.id, { count: await docs.count(where), found });
            }
          }
        },
      });

    /** Makes the document operation `kind` names, which every adapter must refuse alike. */
    const bad = async (docs: Documents<Doc>, kind: BadKind): Promise<void> => {
      switch (kind) {
        case 'bigint':
          return docs.put('x', { n: 10n });
        case 'empty-id':
          return docs.put('', {});
        case 'long-id':
          return docs.put('x'.repeat(257), {});
        case 'nul':
          return docs.put('x', { text: 'a\u0000b' });
        case 'lone-surrogate':
          return docs.put('x', { ['key\ud800']: 1 });
        case 'long-indexed':
          return docs.put('x', { label: 'é'.repeat(600) });
        case 'undefined':
          return docs.put('x', undefined as unknown as Doc);
        case 'patch-function':
          await docs.put('x', { ok: true });
          await docs.patch('x', { f: () => 1 });
          return;
      }
    };

    const start = async (mode: ProjectionMode) => {
      const p = new Projector<Tx, RM>({
        store: main.projections,
        projections: [definition(mode)],
        subscription: { retry: instantRetry, lease: { ttlMs: 60_000, wait: true } },
      });
      projectors.push(p);
      await p.start();
      return p;
    };

    /** Appends the operations as events of one append (one transaction); returns its position. */
    const run = async (p: Projector<Tx, RM>, ops: readonly Op[], stream = 'docs-1') => {
      const { position } = await p.store.append(stream, ops);
      return position;
    };

    /** Runs `read` on the docs collection once the projection has reached `minPosition`. */
    const query = async <R>(
      p: Projector<Tx, RM>,
      read: (docs: Documents<Doc>, rm: RM) => Promise<R>,
      minPosition?: number,
    ): Promise<R> => {
      const { data } = await p.query(NAME, (rm) => read(docsOf(rm), rm), {
        ...(minPosition === undefined ? {} : { minPosition }),
        timeoutMs: 15_000,
      });
      return data;
    };

    /** Every page of a find, concatenated, checking that only the last has no cursor. */
    const findAll = async (docs: Documents<Doc>, q: Omit<DocumentQuery, 'after'>) => {
      const ids: string[] = [];
      let after: string | undefined;
      for (let pages = 0; ; pages++) {
        if (pages > 10_000) throw new Error('pagination does not end');
        const page: DocumentPage<Doc> = await docs.find({ ...q, ...(after ? { after } : {}) });
        ids.push(...page.items.map((i) => i.id));
        if (page.next === undefined) return ids;
        expect(page.items.length).toBe(q.limit ?? 100);
        after = page.next;
      }
    };

    const ids = (page: DocumentPage<Doc>) => page.items.map((i) => i.id);

    beforeEach(async () => {
      harness = await makeHarness();
      main = await harness.open();
    });

    afterEach(async () => {
      await Promise.all(projectors.splice(0).map((p) => p.stop()));
      await main.store.close();
      await harness.cleanup();
    });

    it('reports a collection of a dropped build as a missing table, which the projector reads again', async () => {
      // A build that is not (or no longer) registered: its tables are gone.
      const dropped = { name: NAME, version: 7, build: 1 };
      const outcome = await main.projections
        .read(dropped, (rm) => rm.documents<Doc>('docs').get('a'))
        .then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
      if ('error' in outcome) {
        // SQL adapters: a typed error (never the driver's), which the projector retries on.
        expect(outcome.error).toBeInstanceOf(CausewayError);
        expect(main.projections.isMissingTable(outcome.error)).toBe(true);
      } else {
        // Memory: a dropped collection reads as empty.
        expect(outcome.value).toBeUndefined();
      }
    });

    for (const mode of ['async', 'inline'] as const) {
      describe(mode, () => {
        it('puts, gets, patches (JSON merge patch, deep) and deletes, reading its own writes', async () => {
          const p = await start(mode);
          await run(p, [
            put('a', {
              status: 'placed',
              total: 10,
              customer: { city: 'Zürich', zip: '8000' },
              tags: ['x'],
            }),
            put('b', { status: 'placed', total: 1 }),
            put('b', { status: 'paid', total: 2 }),
            { type: 'doc.copy', data: { from: 'b', to: 'c' } },
          ]);
          const at = await run(p, [
            patch('a', { customer: { zip: null, street: 'Main' }, tags: ['y'], status: null }),
            patch('missing', { status: 'paid' }),
            del('c'),
            del('c'),
          ]);
          const read = await query(
            p,
            async (docs, rm) => ({
              a: await docs.get('a'),
              b: await docs.get('b'),
              c: await docs.get('c'),
              many: await docs.getMany(['b', 'nope', 'a', 'b']),
              none: await docs.getMany([]),
              log: (await rm.documents<Doc>('log').find()).items.map((i) => i.document),
              meta: await rm.documents<Doc>('meta').get('setup'),
              byStatus: ids(await docs.find({ where: { status: null } })),
            }),
            at,
          );
          const a = { total: 10, customer: { city: 'Zürich', street: 'Main' }, tags: ['y'] };
          expect(read.a).toEqual(a);
          expect(read.b).toEqual({ status: 'paid', total: 2 });
          expect(read.c).toBeUndefined();
          expect(read.many).toEqual([read.b, undefined, a, read.b]);
          expect(read.none).toEqual([]);
          expect(read.meta).toEqual({ ok: true });
          // The status removed by the patch reads as absent in the index too.
          expect(read.byStatus).toEqual(['a']);
          // Log ids are event ids (UUIDv7, in append order).
          expect(read.log).toEqual([
            { patched: a },
            { patched: null },
            { deleted: true },
            { deleted: false },
          ]);
        });

        it('finds by indexed fields: equality, in, ranges, dotted paths, absent fields; orders mixed types; counts', async () => {
          const p = await start(mode);
          const at = await run(p, [
            put('a', { status: 'placed', total: 10, customer: { city: 'Zürich' }, label: 'b' }),
            put('b', { status: 'paid', total: 2, customer: { city: 'Berlin' }, label: 'B' }),
            put('c', { status: 'paid', total: 100, customer: { city: 'berlin' }, label: 'a' }),
            put('d', { status: 'placed', total: -5.5, label: 'é' }),
            put('e', { status: 'shipped', total: 2.5, customer: { city: 'Ålesund' }, label: '😀' }),
            put('f', { status: 'paid', total: '15', customer: { city: 'Oslo' }, label: '\uff21' }),
            put('g', { status: 'cancelled', total: null, label: 'a' }),
            put('h', { status: 'placed', total: true, customer: 'not-an-object' }),
            put('i', { status: 'paid', total: false, customer: { city: null } }),
            put('j', { status: 'placed', total: { amount: 3 } }),
            put('k', { status: 'paid', total: [1, 2] }),
            put('l', { status: 'paid', total: 1000 }),
            put('m', {}),
          ]);
          const found = await query(
            p,
            async (docs) => {
              const f = async (q: DocumentQuery) => ids(await docs.find(q));
              return {
                all: await f({}),
                gt2: await f({ where: { total: { gt: 2 } } }),
                range: await f({ where: { total: { gte: 2, lt: 100 } } }),
                strings: await f({ where: { total: { gt: '1' } } }),
                desc: await f({
                  where: { total: { lte: 10, gt: -6 } },
                  orderBy: { field: 'total', direction: 'desc' },
                }),
                nulls: await f({ where: { total: null } }),
                isTrue: await f({ where: { total: true } }),
                isTwo: await f({ where: { total: 2 } }),
                isTwoAsEq: await f({ where: { total: { eq: 2 } } }),
                isString15: await f({ where: { total: '15' } }),
                isNumber15: await f({ where: { total: 15 } }),
                statusIn: await f({ where: { status: { in: ['paid', 'shipped'] } } }),
                mixedIn: await f({ where: { status: { in: ['paid', 2, null] } } }),
                emptyIn: await f({ where: { status: { in: [] } } }),
                city: await f({ where: { 'customer.city': 'berlin' } }),
                noCity: await f({ where: { 'customer.city': null } }),
                cityRange: await f({ where: { 'customer.city': { gte: 'B', lt: 'a' } } }),
                both: await f({ where: { status: 'paid', total: { gte: 2 } } }),
                idRange: await f({ where: { id: { gte: 'c', lt: 'f' } } }),
                idIn: await f({ where: { id: { in: ['a', 'zz', 'k'] } } }),
                idEq: await f({ where: { id: 'h' } }),
                byTotal: await f({ orderBy: 'total' }),
                byCity: await f({ orderBy: { field: 'customer.city' } }),
                byLabel: await f({ orderBy: 'label' }),
                byLabelDesc: await f({ orderBy: { field: 'label', direction: 'desc' } }),
                byIdDesc: await f({ orderBy: { field: 'id', direction: 'desc' }, limit: 3 }),
                paged: await findAll(docs, { orderBy: 'total', limit: 4 }),
                pagedDesc: await findAll(docs, {
                  where: { status: { in: ['paid', 'placed'] } },
                  orderBy: { field: 'total', direction: 'desc' },
                  limit: 2,
                }),
                count: await docs.count(),
                countPaid: await docs.count({ status: 'paid' }),
                countRange: await docs.count({ total: { gt: 0 }, 'customer.city': { gte: 'a' } }),
                documents: (await docs.find({ where: { id: { in: ['a', 'k'] } } })).items,
              };
            },
            at,
          );
          const byTotal = ['g', 'm', 'i', 'h', 'd', 'b', 'e', 'a', 'c', 'l', 'f', 'j', 'k'];
          expect(found).toEqual({
            all: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm'],
            // Numbers compare as numbers: 100 and 1000 are above 2, '15' is a string.
            gt2: ['a', 'c', 'e', 'l'],
            range: ['a', 'b', 'e'],
            strings: ['f'],
            desc: ['a', 'e', 'b', 'd'],
            nulls: ['g', 'm'],
            isTrue: ['h'],
            isTwo: ['b'],
            isTwoAsEq: ['b'],
            isString15: ['f'],
            isNumber15: [],
            statusIn: ['b', 'c', 'e', 'f', 'i', 'k', 'l'],
            mixedIn: ['b', 'c', 'f', 'i', 'k', 'l', 'm'],
            emptyIn: [],
            city: ['c'],
            noCity: ['d', 'g', 'h', 'i', 'j', 'k', 'l', 'm'],
            // By code point: 'B' < 'O' < 'Z' < 'a' < 'b' < 'Å'.
            cityRange: ['a', 'b', 'f'],
            both: ['b', 'c', 'l'],
            idRange: ['c', 'd', 'e'],
            idIn: ['a', 'k'],
            idEq: ['h'],
            // Absent or null, false, true, numbers, strings, then arrays and objects (by id).
            byTotal,
            byCity: ['d', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'b', 'f', 'a', 'c', 'e'],
            // U+FF21 sorts before U+1F600 by code point (not by UTF-16 unit).
            byLabel: ['h', 'i', 'j', 'k', 'l', 'm', 'b', 'c', 'g', 'a', 'd', 'f', 'e'],
            byLabelDesc: ['e', 'f', 'd', 'a', 'g', 'c', 'b', 'm', 'l', 'k', 'j', 'i', 'h'],
            byIdDesc: ['m', 'l', 'k'],
            paged: byTotal,
            pagedDesc: ['k', 'j', 'f', 'l', 'c', 'a', 'b', 'd', 'h', 'i'],
            count: 13,
            countPaid: 6,
            countRange: 2,
            documents: [
              {
                id: 'a',
                document: { status: 'placed', total: 10, customer: { city: 'Zürich' }, label: 'b' },
              },
              { id: 'k', document: { status: 'paid', total: [1, 2] } },
            ],
          });
        });

        it('reads its own writes within one batch: last write wins, deletes after puts, queries see them', async () => {
          const p = await start(mode);
          await run(p, [put('y', { status: 'kept' }), put('z', { status: 'old' })]);
          // One append: one transaction inline, one batch async.
          const at = await run(p, [
            put('a', { status: 'placed', total: 1 }),
            put('a', { status: 'paid', total: 2 }),
            { type: 'doc.copy', data: { from: 'a', to: 'c' } },
            put('d', { status: 'paid' }),
            del('d'),
            { type: 'doc.copy', data: { from: 'd', to: 'e' } },
            put('z', { status: 'paid', total: 3 }),
            del('z'),
            del('never'),
            patch('a', { total: 5 }),
            del('y'),
            put('y', { status: 'again' }),
            { type: 'doc.count', data: { status: 'paid' } },
          ]);
          const read = await query(
            p,
            async (docs, rm) => ({
              all: (await docs.find()).items,
              log: (await rm.documents<Doc>('log').find()).items.map((i) => i.document),
            }),
            at,
          );
          expect(read.all).toEqual([
            { id: 'a', document: { status: 'paid', total: 5 } },
            { id: 'c', document: { status: 'paid', total: 2, copied: true } },
            { id: 'y', document: { status: 'again' } },
          ]);
          expect(read.log).toEqual([
            { deleted: true },
            { deleted: true },
            { deleted: false },
            { patched: { status: 'paid', total: 5 } },
            { deleted: true },
            { count: 2, found: ['a', 'c'] },
          ]);
        });

        it('rolls back every held-back write of a failing batch', async () => {
          const p = await start(mode);
          await run(p, [put('y', { n: 1 }), put('z', { n: 2 })]);
          const ops: Op[] = [
            put('z', { n: 20 }),
            del('y'),
            put('n1', { n: 3 }),
            { type: 'doc.many', data: { from: 0, count: 50 } },
            { type: 'doc.fail', data: { id: 'n2', doc: { n: 4 } } },
          ];
          if (mode === 'inline') {
            const error = await run(p, ops).catch((e: unknown) => e);
            expect(error).toBeInstanceOf(ProjectionApplyError);
          } else await run(p, ops);
          const at = await run(p, [put('last', { n: 5 })]);
          const read = await query(
            p,
            async (docs) => ({
              y: await docs.get('y'),
              z: await docs.get('z'),
              n1: await docs.get('n1'),
              n2: await docs.get('n2'),
              count: await docs.count(),
            }),
            at,
          );
          if (mode === 'inline')
            // The append failed: none of its writes, all held back in one transaction, stayed.
            expect(read).toEqual({
              y: { n: 1 },
              z: { n: 2 },
              n1: undefined,
              n2: undefined,
              count: 3,
            });
          else {
            // The batch was rolled back whole, then applied event by event: the failing
            // event's own write is gone (parked), the others are kept.
            expect(read).toEqual({
              y: undefined,
              z: { n: 20 },
              n1: { n: 3 },
              n2: undefined,
              count: 53,
            });
            expect(await p.listParked(NAME)).toHaveLength(1);
          }
        });

        it('rolls back the writes of a failing apply', async () => {
          const p = await start(mode);
          if (mode === 'inline') {
            const error = await run(p, [
              put('r1', { n: 1 }),
              { type: 'doc.fail', data: { id: 'r2', doc: { n: 2 } } },
            ]).catch((e: unknown) => e);
            expect(error).toBeInstanceOf(ProjectionApplyError);
            expect(await main.store.headPosition()).toBe(0);
          } else {
            await run(p, [
              put('r1', { n: 1 }),
              { type: 'doc.fail', data: { id: 'r2', doc: { n: 2 } } },
            ]);
          }
          const at = await run(p, [put('r3', { n: 3 })]);
          const read = await query(
            p,
            async (docs) => ({
              found: ids(await docs.find({ orderBy: 'n' })),
              r2: await docs.get('r2'),
              count: await docs.count(),
            }),
            at,
          );
          expect(read).toEqual({
            // Async: the failing event was parked, its write rolled back, the others kept.
            found: mode === 'inline' ? ['r3'] : ['r1', 'r3'],
            r2: undefined,
            count: mode === 'inline' ? 1 : 2,
          });
          if (mode === 'async') expect(await p.listParked(NAME)).toHaveLength(1);
        });

        it('refuses bad documents and ids in apply with typed errors, writing nothing', async () => {
          const p = await start(mode);
          const kinds: [BadKind, new (...args: never[]) => Error, string][] = [
            ['bigint', InvalidDocumentError, DocumentErrorCode.INVALID_DOCUMENT],
            ['empty-id', InvalidDocumentIdError, DocumentErrorCode.INVALID_DOCUMENT_ID],
            ['long-id', InvalidDocumentIdError, DocumentErrorCode.INVALID_DOCUMENT_ID],
            ['nul', InvalidDocumentError, DocumentErrorCode.INVALID_DOCUMENT],
            ['lone-surrogate', InvalidDocumentError, DocumentErrorCode.INVALID_DOCUMENT],
            ['long-indexed', InvalidDocumentError, DocumentErrorCode.INVALID_DOCUMENT],
            ['undefined', InvalidDocumentError, DocumentErrorCode.INVALID_DOCUMENT],
            ['patch-function', InvalidDocumentError, DocumentErrorCode.INVALID_DOCUMENT],
          ];
          for (const [kind, type, code] of kinds) {
            const op: Op = { type: 'doc.bad', data: { kind } };
            if (mode === 'inline') {
              const error = await run(p, [op]).catch((e: unknown) => e);
              expect(error, kind).toBeInstanceOf(ProjectionApplyError);
              const cause = (error as Error).cause;
              expect(cause, kind).toBeInstanceOf(type);
              expect((cause as { code: string }).code, kind).toBe(code);
            } else {
              await run(p, [op]);
            }
          }
          const at = await run(p, [put('ok', {})]);
          expect(await query(p, async (docs) => ids(await docs.find()), at)).toEqual(['ok']);
          if (mode === 'async') {
            const parked = await p.listParked(NAME);
            expect(parked.map((e) => e.error.name)).toEqual(kinds.map(([, type]) => type.name));
          }
        });

        it('refuses bad queries, cursors, ids and writes in queries with typed errors', async () => {
          const p = await start(mode);
          const at = await run(p, [
            put('a', { status: 'x', n: 1 }),
            put('b', { status: 'y', n: 2 }),
          ]);
          const first = await query(p, (docs) => docs.find({ orderBy: 'n', limit: 1 }), at);
          expect(first.next).toEqual(expect.any(String));
          const failures = await query(p, async (docs, rm) => {
            const attempt = async (work: () => Promise<unknown>) => {
              try {
                await work();
                return 'no error';
              } catch (error) {
                return [(error as Error).constructor.name, (error as { code?: string }).code];
              }
            };
            const undeclared = rm.documents<Doc>('docs');
            return {
              unindexedWhere: await attempt(() => docs.find({ where: { color: 'red' } })),
              unindexedOrder: await attempt(() => docs.find({ orderBy: 'color' })),
              undeclared: await attempt(() => undeclared.count({ status: 'x' })),
              unindexedCount: await attempt(() => docs.count({ 'customer.zip': '1' })),
              badOperator: await attempt(() => docs.find({ where: { n: { near: 1 } as never } })),
              mixedBounds: await attempt(() => docs.find({ where: { n: { gt: 1, lt: 'z' } } })),
              booleanRange: await attempt(() => docs.find({ where: { n: { gt: true as never } } })),
              arrayOperand: await attempt(() => docs.find({ where: { n: [1, 2] as never } })),
              nanOperand: await attempt(() => docs.find({ where: { n: Number.NaN } })),
              idNumber: await attempt(() => docs.find({ where: { id: 3 } })),
              limitZero: await attempt(() => docs.find({ limit: 0 })),
              limitHuge: await attempt(() => docs.find({ limit: 1_000_000 })),
              unknownOption: await attempt(() => docs.find({ sort: 'n' } as never)),
              badDirection: await attempt(() =>
                docs.find({ orderBy: { field: 'n', direction: 'up' as never } }),
              ),
              garbageCursor: await attempt(() => docs.find({ orderBy: 'n', after: 'garbage!' })),
              forgedCursor: await attempt(() =>
                docs.find({
                  orderBy: 'n',
                  after: Buffer.from('{"v":1,"f":"n","d":"asc","i":"a","k":[3,5,""]}').toString(
                    'base64url',
                  ),
                }),
              ),
              otherOrder: await attempt(() =>
                docs.find({ orderBy: { field: 'n', direction: 'desc' }, after: first.next }),
              ),
              otherField: await attempt(() => docs.find({ orderBy: 'status', after: first.next })),
              emptyId: await attempt(() => docs.get('')),
              numberId: await attempt(() => docs.get(42 as never)),
              nulId: await attempt(() => docs.getMany(['ok', 'a\u0000'])),
              put: await attempt(() => docs.put('c', {})),
              patch: await attempt(() => docs.patch('a', { n: 3 })),
              delete: await attempt(() => docs.delete('a')),
            };
          });
          const unindexed = ['UnindexedFieldError', DocumentErrorCode.DOCUMENT_FIELD_NOT_INDEXED];
          const query_ = ['InvalidDocumentQueryError', DocumentErrorCode.INVALID_DOCUMENT_QUERY];
          const cursor = ['InvalidDocumentCursorError', DocumentErrorCode.INVALID_DOCUMENT_CURSOR];
          const id = ['InvalidDocumentIdError', DocumentErrorCode.INVALID_DOCUMENT_ID];
          const readOnly = ['DocumentsReadOnlyError', DocumentErrorCode.DOCUMENTS_READ_ONLY];
          expect(failures).toEqual({
            unindexedWhere: unindexed,
            unindexedOrder: unindexed,
            undeclared: unindexed,
            unindexedCount: unindexed,
            badOperator: query_,
            mixedBounds: query_,
            booleanRange: query_,
            arrayOperand: query_,
            nanOperand: query_,
            idNumber: query_,
            limitZero: query_,
            limitHuge: query_,
            unknownOption: query_,
            badDirection: query_,
            garbageCursor: cursor,
            forgedCursor: cursor,
            otherOrder: cursor,
            otherField: cursor,
            emptyId: id,
            numberId: id,
            nulId: id,
            put: readOnly,
            patch: readOnly,
            delete: readOnly,
          });
          // The classes are exported, for instanceof.
          await expect(
            p.query(NAME, (rm) => docsOf(rm).find({ where: { color: 'red' } })),
          ).rejects.toBeInstanceOf(UnindexedFieldError);
          await expect(
            p.query(NAME, (rm) => docsOf(rm).find({ limit: -1 })),
          ).rejects.toBeInstanceOf(InvalidDocumentQueryError);
          await expect(
            p.query(NAME, (rm) => docsOf(rm).find({ after: 'x' })),
          ).rejects.toBeInstanceOf(InvalidDocumentCursorError);
          await expect(p.query(NAME, (rm) => docsOf(rm).put('z', {}))).rejects.toBeInstanceOf(
            DocumentsReadOnlyError,
          );
        });

        it('keeps unicode ids apart and orders them by code point', async () => {
          const p = await start(mode);
          const unicode = [
            'ünïcödé',
            '日本語のキー',
            '🙂 emoji',
            '\uff21-fullwidth',
            'e\u0301', // e + combining acute: not the same id as 'é'
            'é',
            'a b/c?d=e&f#g',
            `quote'"\\back`,
            'zero\u200bwidth',
            'Ω',
            'A',
            'a',
            '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
          ];
          const at = await run(
            p,
            unicode.map((id, i) => put(id, { n: i, label: id })),
          );
          const read = await query(
            p,
            async (docs) => ({
              each: await Promise.all(unicode.map((id) => docs.get(id))),
              byId: await findAll(docs, { limit: 4 }),
              byLabelDesc: ids(await docs.find({ orderBy: { field: 'label', direction: 'desc' } })),
              range: ids(await docs.find({ where: { id: { gt: 'z' } } })),
              one: ids(await docs.find({ where: { label: 'e\u0301' } })),
            }),
            at,
          );
          expect(read.each).toEqual(unicode.map((id, i) => ({ n: i, label: id })));
          const sorted = [...unicode].sort(byCodePoint);
          expect(read.byId).toEqual(sorted);
          expect(read.byLabelDesc).toEqual([...sorted].reverse());
          expect(read.range).toEqual(sorted.filter((id) => byCodePoint(id, 'z') > 0));
          expect(read.one).toEqual(['e\u0301']);
        });

        it('reads a collection never written as empty', async () => {
          const p = await start(mode);
          const at = await run(p, [put('a', {})]);
          const read = await query(
            p,
            async (_docs, rm) => {
              const never = rm.documents<Doc>('never', { indexes: ['n'] });
              return {
                get: await never.get('a'),
                many: await never.getMany(['a']),
                find: await never.find({ where: { n: { gt: 1 } }, orderBy: 'n' }),
                count: await never.count(),
              };
            },
            at,
          );
          expect(read).toEqual({
            get: undefined,
            many: [undefined],
            find: { items: [] },
            count: 0,
          });
        });

        it('rebuilds into fresh collections and drops those of the old build', async () => {
          const p = await start(mode);
          const at = await run(p, [
            put('a', { n: 1 }),
            put('b', { n: 2 }),
            patch('a', { n: 3 }),
            del('b'),
            put('c', { n: 4 }),
          ]);
          const before = await query(p, (docs) => docs.find({ orderBy: 'n' }), at);
          const tablesBefore = await main.projections.tables(NAME);
          expect(tablesBefore).toEqual(['docs_v1__docs', 'docs_v1__log', 'docs_v1__meta']);
          expect(await p.rebuild(NAME)).toEqual({ name: NAME, version: 1, build: 2 });
          await p.switched(NAME, { timeoutMs: 15_000 });
          const after = await query(p, async (docs, rm) => ({
            page: await docs.find({ orderBy: 'n' }),
            meta: await rm.documents<Doc>('meta').get('setup'),
          }));
          expect(after.page).toEqual(before);
          expect(after.meta).toEqual({ ok: true });
          expect(await main.projections.tables(NAME)).toEqual([
            'docs_v1r2__docs',
            'docs_v1r2__log',
            'docs_v1r2__meta',
          ]);
        });

        it('pages through a few thousand documents, each exactly once, in order', async () => {
          const p = await start(mode);
          const total = 3000;
          let at = 0;
          for (let from = 0; from < total; from += 500)
            at = await run(p, [{ type: 'doc.many', data: { from, count: 500 } }]);
          const read = await query(
            p,
            async (docs) => ({
              byBucket: await findAll(docs, {
                orderBy: { field: 'bucket', direction: 'desc' },
                limit: 97,
              }),
              byId: await findAll(docs, { limit: 1000 }),
              bucket3: await findAll(docs, { where: { bucket: 3 }, orderBy: 'n', limit: 50 }),
              count: await docs.count(),
              count3: await docs.count({ bucket: 3 }),
              countRange: await docs.count({ n: { gte: 1000, lt: 2000 }, label: 'l5' }),
            }),
            at,
          );
          const all = Array.from({ length: total }, (_, i) => i);
          expect(read.byBucket).toEqual(
            [...all]
              .sort((a, b) => (b % 7) - (a % 7) || byCodePoint(manyId(b), manyId(a)))
              .map(manyId),
          );
          expect(new Set(read.byBucket).size).toBe(total);
          expect(read.byId).toEqual(all.map(manyId));
          expect(read.bucket3).toEqual(all.filter((i) => i % 7 === 3).map(manyId));
          expect(read.count).toBe(total);
          expect(read.count3).toBe(all.filter((i) => i % 7 === 3).length);
          expect(read.countRange).toBe(
            all.filter((i) => i >= 1000 && i < 2000 && i % 13 === 5).length,
          );
          if (harness.indexCount) {
            const count = await harness.indexCount(main, 'docs_v1__docs');
            expect(count).toBe(INDEXES.length);
          }
        });

        it('keeps pagination stable while documents are inserted between pages', async () => {
          const p = await start(mode);
          const seeded = Array.from({ length: 200 }, (_, i) => `s-${String(i).padStart(3, '0')}`);
          let at = await run(
            p,
            seeded.map((id, i) => put(id, { n: 2 * i })),
          );
          const seen: { id: string; n: number }[] = [];
          let after: string | undefined;
          for (let round = 0; ; round++) {
            const page = await query(
              p,
              (docs) => docs.find({ orderBy: 'n', limit: 30, ...(after ? { after } : {}) }),
              at,
            );
            seen.push(...page.items.map((i) => ({ id: i.id, n: i.document.n as number })));
            if (!page.next) break;
            after = page.next;
            // Inserts before the cursor, right at it (same n), and ahead of it.
            const last = seen[seen.length - 1] as { n: number };
            at = await run(p, [
              put(`i-${round}-before`, { n: last.n - 1 }),
              put(`i-${round}-tie`, { n: last.n }),
              put(`i-${round}-ahead`, { n: last.n + 3 }),
            ]);
          }
          const seenIds = seen.map((s) => s.id);
          expect(new Set(seenIds).size).toBe(seenIds.length);
          for (const id of seeded) expect(seenIds, id).toContain(id);
          // Strictly increasing in (n, id): nothing before a cursor ever shows up.
          for (let i = 1; i < seen.length; i++) {
            const [a, b] = [seen[i - 1], seen[i]] as [
              { id: string; n: number },
              { id: string; n: number },
            ];
            expect(
              a.n < b.n || (a.n === b.n && byCodePoint(a.id, b.id) < 0),
              `${a.id} then ${b.id}`,
            ).toBe(true);
          }
          expect(seenIds.some((id) => id.endsWith('-before'))).toBe(false);
          expect(seenIds.some((id) => id.endsWith('-ahead'))).toBe(true);
        });
      });
    }
  });
}
