import { afterEach, beforeEach, describe, expect } from 'vitest';
import {
  CausewayError,
  DuplicateEventIdError,
  EmptyAppendError,
  ErrorCode,
  EventTooLargeError,
  InvalidArgumentError,
  InvalidEventError,
  InvalidStreamNameError,
  ManualClock,
  NotJsonError,
  StoreClosedError,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedRevisionError,
  collect,
  isScavengeable,
  newId,
  partitionOf,
  type EventInput,
  type EventStore,
  type EventStoreOptions,
  type ScavengeProgress,
  type Scavengeable,
} from '@causewayjs/core';
import { conformanceTests, type ConformanceSkip } from './conformance-tests.js';

/** How the shared suite reaches one adapter (or one adapter under store decorators). */
export interface EventStoreHarness {
  /** Opens a store on this harness's database; may be called several times (reopen, second process). */
  open(options?: EventStoreOptions): Promise<EventStore>;
  /** Drops the database. Called after every test, once every opened store is closed. */
  cleanup(): Promise<void>;
  /** True when two `open()` calls share data (durable adapters). */
  durable: boolean;
  /**
   * The name the suite's stream `name` has on this store (default: `name` itself): a
   * tenant-scoped store only serves `acme:order-1`. Names the suite uses to test refusals
   * (empty, too long, reserved) are passed as they are.
   */
  stream?(name: string): string;
  /**
   * Metadata keys the store's layers own and add to what they write (`integrity`,
   * `encryption`, `tenant`, `traceparent`): the suite writes none of them and leaves them out
   * when it compares metadata.
   */
  addedMetadata?: readonly string[];
}

/** How the suite runs on one harness: the tests it skips there, each with its reason. */
export interface EventStoreSuiteOptions {
  /** Cases that cannot hold on this harness; see {@link ConformanceSkip}. */
  skip?: readonly ConformanceSkip[];
}

const ev = (
  type: string,
  data: unknown = { n: 1 },
  extra: Partial<EventInput> = {},
): EventInput => ({
  type,
  data,
  ...extra,
});

async function expectCode(
  promise: Promise<unknown>,
  code: string,
  cls?: new (...a: never[]) => Error,
) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(CausewayError);
  expect((error as CausewayError).code).toBe(code);
  if (cls) expect(error).toBeInstanceOf(cls);
  return error as CausewayError;
}

/**
 * The event store contract (DESIGN.md §3), run against every adapter.
 *
 * @param makeHarness creates a fresh, empty database for one test.
 * @param options what the suite skips on this harness, and why (shown in each skipped title).
 */
export function describeEventStoreConformance(
  name: string,
  makeHarness: () => Promise<EventStoreHarness>,
  options: EventStoreSuiteOptions = {},
): void {
  const { group, it, checkSkips } = conformanceTests(options.skip);
  describe(`EventStore conformance: ${name}`, () => {
    let harness: EventStoreHarness;
    /** The suite's stream `name` as this harness names it. */
    const stream = (name: string) => harness.stream?.(name) ?? name;
    /** `metadata` without the keys the harness's layers own. */
    const visible = (metadata: Readonly<Record<string, unknown>>) => {
      const owned = new Set(harness.addedMetadata ?? []);
      return Object.fromEntries(Object.entries(metadata).filter(([key]) => !owned.has(key)));
    };
    let store: EventStore;
    const opened: EventStore[] = [];
    const open = async (options?: EventStoreOptions) => {
      const s = await harness.open(options);
      opened.push(s);
      return s;
    };

    beforeEach(async () => {
      harness = await makeHarness();
      store = await open();
    });

    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await harness.cleanup();
    });

    group('append', () => {
      it('creates a stream and returns the last revision and position', async () => {
        const r = await store.append(stream('order-1'), [ev('order.placed'), ev('order.paid')], {
          expectedRevision: 'no_stream',
        });
        expect(r).toEqual({ stream: stream('order-1'), revision: 1, position: 2 });
        const events = await collect(store.readStream(stream('order-1')));
        expect(events.map((e) => [e.type, e.revision, e.position])).toEqual([
          ['order.placed', 0, 1],
          ['order.paid', 1, 2],
        ]);
      });

      it('stores the full envelope and reads it back unchanged', async () => {
        const clock = new ManualClock(Date.parse('2026-05-01T10:00:00.123Z'));
        const s = await open({ clock });
        const id = newId();
        const data = {
          text: 'naïve ☕ 🚀 "quotes" \\ \u0000 nul',
          nested: { list: [1, 2.5, -3, null, true] },
          empty: {},
        };
        // Keys a layer owns (the tenant view sets `tenant`, say) are left to the layer.
        const metadata = visible({
          correlationId: 'c-1',
          causationId: 'k-1',
          actor: 'alice',
          tenant: 't1',
          traceparent: '00-abc',
          custom: { a: [1] },
        });
        await s.append(stream('env-1'), [
          { id, type: 'thing.happened', data, metadata, schemaVersion: 3 },
        ]);
        const [e] = await collect(s.readStream(stream('env-1')));
        expect({ ...e, metadata: visible(e?.metadata ?? {}) }).toEqual({
          id,
          type: 'thing.happened',
          stream: stream('env-1'),
          revision: 0,
          position: 1,
          data,
          metadata,
          schemaVersion: 3,
          recordedAt: new Date('2026-05-01T10:00:00.123Z'),
        });
      });

      it('generates UUIDv7 ids, defaults schemaVersion to 1 and metadata to {}', async () => {
        await store.append(stream('gen-1'), [ev('a', null), ev('b', 'text'), ev('c', 42)]);
        const events = await collect(store.readStream(stream('gen-1')));
        for (const e of events) {
          expect(e.id).toMatch(
            /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
          );
          expect(e.schemaVersion).toBe(1);
          expect(visible(e.metadata)).toEqual({});
        }
        expect(events.map((e) => e.data)).toEqual([null, 'text', 42]);
      });

      it('gives gapless global positions across streams', async () => {
        await store.append(stream('a-1'), [ev('x'), ev('x')]);
        await store.append(stream('b-1'), [ev('y')]);
        await store.append(stream('a-1'), [ev('z')]);
        const all = await collect(store.readAll());
        expect(all.map((e) => [e.stream, e.revision, e.position])).toEqual([
          [stream('a-1'), 0, 1],
          [stream('a-1'), 1, 2],
          [stream('b-1'), 0, 3],
          [stream('a-1'), 2, 4],
        ]);
        expect(await store.headPosition()).toBe(4);
      });

      it("'no_stream' fails on an existing stream and reports the actual revision", async () => {
        await store.append(stream('s-1'), [ev('a'), ev('b')]);
        const e = await expectCode(
          store.append(stream('s-1'), [ev('c')], { expectedRevision: 'no_stream' }),
          ErrorCode.WRONG_EXPECTED_REVISION,
          WrongExpectedRevisionError,
        );
        expect(e).toMatchObject({ stream: stream('s-1'), expected: 'no_stream', actual: 1 });
      });

      it("'stream_exists' fails on a new stream and succeeds on an existing one", async () => {
        const e = await expectCode(
          store.append(stream('s-2'), [ev('a')], { expectedRevision: 'stream_exists' }),
          ErrorCode.WRONG_EXPECTED_REVISION,
        );
        expect(e).toMatchObject({ expected: 'stream_exists', actual: 'no_stream' });
        await store.append(stream('s-2'), [ev('a')]);
        await expect(
          store.append(stream('s-2'), [ev('b')], { expectedRevision: 'stream_exists' }),
        ).resolves.toMatchObject({
          revision: 1,
        });
      });

      it('an exact revision must match the last event', async () => {
        await store.append(stream('s-3'), [ev('a'), ev('b'), ev('c')]);
        for (const wrong of [0, 1, 3, 10]) {
          const e = await expectCode(
            store.append(stream('s-3'), [ev('d')], { expectedRevision: wrong }),
            ErrorCode.WRONG_EXPECTED_REVISION,
          );
          expect(e).toMatchObject({ expected: wrong, actual: 2 });
        }
        await expectCode(
          store.append(stream('new-s'), [ev('d')], { expectedRevision: 0 }),
          ErrorCode.WRONG_EXPECTED_REVISION,
        );
        const r = await store.append(stream('s-3'), [ev('d')], { expectedRevision: 2 });
        expect(r.revision).toBe(3);
      });

      it("'any' (the default) appends wherever the stream is", async () => {
        expect((await store.append(stream('s-4'), [ev('a')])).revision).toBe(0);
        expect(
          (await store.append(stream('s-4'), [ev('b')], { expectedRevision: 'any' })).revision,
        ).toBe(1);
      });

      it('a re-append of stored ids at the same place is an idempotent success', async () => {
        const batch = [ev('a', 1, { id: newId() }), ev('b', 2, { id: newId() })];
        const first = await store.append(stream('idem-1'), batch, {
          expectedRevision: 'no_stream',
        });
        const again = await store.append(stream('idem-1'), batch, {
          expectedRevision: 'no_stream',
        });
        expect(again).toEqual(first);
        await store.append(stream('idem-1'), [ev('c')]);
        // Still a retry of the first write, even though the stream has moved on since.
        expect(
          await store.append(stream('idem-1'), batch, { expectedRevision: 'no_stream' }),
        ).toEqual(first);
        expect(await store.append(stream('idem-1'), batch, { expectedRevision: 'any' })).toEqual(
          first,
        );
        const events = await collect(store.readStream(stream('idem-1')));
        expect(events.map((e) => e.type)).toEqual(['a', 'b', 'c']);
        expect(await store.headPosition()).toBe(3);
      });

      it('ids match case-insensitively and are stored lowercase', async () => {
        const id = newId();
        await store.append(stream('idem-case'), [ev('a', 1, { id: id.toUpperCase() })]);
        const [e] = await collect(store.readStream(stream('idem-case')));
        expect(e?.id).toBe(id);
        await store.append(stream('idem-case'), [ev('a', 1, { id })], {
          expectedRevision: 'no_stream',
        });
        expect(await store.headPosition()).toBe(1);
      });

      it('stored ids at another place, or only some stored, are a DuplicateEventIdError', async () => {
        const a = newId();
        const b = newId();
        await store.append(stream('dup-1'), [ev('a', 1, { id: a }), ev('b', 1, { id: b })]);
        await expectCode(
          store.append(stream('dup-2'), [ev('a', 1, { id: a })]),
          ErrorCode.DUPLICATE_EVENT_ID,
          DuplicateEventIdError,
        );
        await expectCode(
          store.append(stream('dup-1'), [ev('a', 1, { id: a }), ev('n', 1, { id: newId() })]),
          ErrorCode.DUPLICATE_EVENT_ID,
        );
        await expectCode(
          store.append(stream('dup-1'), [ev('b', 1, { id: b }), ev('a', 1, { id: a })]),
          ErrorCode.DUPLICATE_EVENT_ID,
        );
        await expectCode(
          store.append(stream('dup-1'), [ev('a', 1, { id: a }), ev('b', 1, { id: b })], {
            expectedRevision: 5,
          }),
          ErrorCode.DUPLICATE_EVENT_ID,
        );
        expect(await store.headPosition()).toBe(2);
      });

      it('accepts stream names up to 200 characters, any printable text', async () => {
        // 200 characters in all, whatever part of them the harness's naming takes.
        const longest = stream('x'.repeat(200 - stream('').length));
        for (const name of [longest, stream('ünïcødé/stream:1'), stream('with space')]) {
          expect(name.length).toBeLessThanOrEqual(200);
          await store.append(name, [ev('a')]);
          expect((await store.streamInfo(name)).exists).toBe(true);
        }
      });

      it('the same id twice in one append is refused', async () => {
        const id = newId();
        await expectCode(
          store.append(stream('dup-3'), [ev('a', 1, { id }), ev('b', 1, { id })]),
          ErrorCode.INVALID_EVENT,
          InvalidEventError,
        );
        expect(await store.headPosition()).toBe(0);
      });

      it('concurrent appends expecting the same revision have exactly one winner', async () => {
        await store.append(stream('race-1'), [ev('start')]);
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            store.append(stream('race-1'), [ev('move', i)], { expectedRevision: 0 }),
          ),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(19);
        for (const l of lost) expect(l.reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect((await collect(store.readStream(stream('race-1')))).map((e) => e.revision)).toEqual([
          0, 1,
        ]);
      });

      it('concurrent appends from two store instances on one database have exactly one winner', async () => {
        if (!harness.durable) return expect(harness.durable).toBe(false);
        const other = await open();
        await store.append(stream('race-2'), [ev('start')]);
        const results = await Promise.allSettled(
          Array.from({ length: 16 }, (_, i) =>
            (i % 2 ? other : store).append(stream('race-2'), [ev('move', i)], {
              expectedRevision: 0,
            }),
          ),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect((await collect(store.readStream(stream('race-2')))).map((e) => e.revision)).toEqual([
          0, 1,
        ]);
      });

      it('a conflict in a concurrent batch fails only its own append', async () => {
        await store.append(stream('iso-1'), [ev('a')]);
        const calls = [
          store.append(stream('iso-2'), [ev('x')], { expectedRevision: 'no_stream' }),
          store.append(stream('iso-1'), [ev('b')], { expectedRevision: 7 }),
          store.append(stream('iso-3'), [ev('y')], { expectedRevision: 'no_stream' }),
          store.append(stream('iso-1'), [ev('c')], { expectedRevision: 0 }),
        ];
        const results = await Promise.allSettled(calls);
        expect(results.map((r) => r.status)).toEqual([
          'fulfilled',
          'rejected',
          'fulfilled',
          'fulfilled',
        ]);
        expect((await collect(store.readAll())).map((e) => e.type)).toEqual(['a', 'x', 'y', 'c']);
      });

      it('many concurrent appends to distinct streams all land with distinct positions', async () => {
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            store.append(stream(`many-${i % 10}`), [ev('e', i), ev('f', i)]),
          ),
        );
        const positions = results.map((r) => r.position).sort((a, b) => a - b);
        expect(new Set(positions).size).toBe(100);
        const all = await collect(store.readAll());
        expect(all).toHaveLength(200);
        expect(all.map((e) => e.position)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        for (let s = 0; s < 10; s++) {
          const revs = (await collect(store.readStream(stream(`many-${s}`)))).map(
            (e) => e.revision,
          );
          expect(revs).toEqual(Array.from({ length: 20 }, (_, i) => i));
        }
      });
    });

    group('appendMany', () => {
      it('writes several streams and returns each result', async () => {
        const r = await store.appendMany([
          { stream: stream('m-1'), events: [ev('a'), ev('b')], expectedRevision: 'no_stream' },
          { stream: stream('m-2'), events: [ev('c')] },
          { stream: stream('m-1'), events: [ev('d')], expectedRevision: 1 },
        ]);
        expect(r).toEqual([
          { stream: stream('m-1'), revision: 1, position: 2 },
          { stream: stream('m-2'), revision: 0, position: 3 },
          { stream: stream('m-1'), revision: 2, position: 4 },
        ]);
      });

      it('is all or nothing: one failing part writes nothing', async () => {
        await store.append(stream('m-3'), [ev('a')]);
        await expectCode(
          store.appendMany([
            { stream: stream('m-4'), events: [ev('b')] },
            { stream: stream('m-3'), events: [ev('c')], expectedRevision: 'no_stream' },
          ]),
          ErrorCode.WRONG_EXPECTED_REVISION,
        );
        await expectCode(
          store.appendMany([
            { stream: stream('m-4'), events: [ev('b')] },
            { stream: stream('m-5'), events: [ev('c', 10n)] },
          ]),
          ErrorCode.NOT_JSON,
        );
        expect(await store.headPosition()).toBe(1);
        expect((await store.streamInfo(stream('m-4'))).exists).toBe(false);
        await expectCode(store.appendMany([]), ErrorCode.INVALID_ARGUMENT, InvalidArgumentError);
        const id = newId();
        await expectCode(
          store.appendMany([
            { stream: stream('m-6'), events: [ev('a', 1, { id })] },
            { stream: stream('m-7'), events: [ev('a', 1, { id })] },
          ]),
          ErrorCode.INVALID_ARGUMENT,
        );
      });
    });

    group('readStream', () => {
      beforeEach(async () => {
        await store.append(
          stream('r-1'),
          Array.from({ length: 10 }, (_, i) => ev('e', i)),
        );
      });
      const revs = async (opts: Parameters<EventStore['readStream']>[1]) =>
        (await collect(store.readStream(stream('r-1'), opts))).map((e) => e.revision);

      it('reads forward and backward with from and limit', async () => {
        expect(await revs({})).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(await revs({ from: 7 })).toEqual([7, 8, 9]);
        expect(await revs({ from: 2, limit: 3 })).toEqual([2, 3, 4]);
        expect(await revs({ direction: 'backward' })).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        expect(await revs({ direction: 'backward', limit: 2 })).toEqual([9, 8]);
        expect(await revs({ direction: 'backward', from: 3 })).toEqual([3, 2, 1, 0]);
        expect(await revs({ direction: 'backward', from: 50, limit: 1 })).toEqual([9]);
        expect(await revs({ from: 10 })).toEqual([]);
        expect(await revs({ from: 'end' })).toEqual([]);
        expect(await revs({ limit: 0 })).toEqual([]);
      });

      it('yields nothing for a stream that does not exist', async () => {
        expect(await collect(store.readStream(stream('nope')))).toEqual([]);
        expect(await store.streamInfo(stream('nope'))).toEqual({
          stream: stream('nope'),
          exists: false,
          revision: null,
          deleted: false,
          metadata: {},
        });
      });

      it('rejects bad options with INVALID_ARGUMENT', () => {
        expect(() => store.readStream(stream('r-1'), { from: -1 })).toThrow(InvalidArgumentError);
        expect(() => store.readStream(stream('r-1'), { limit: 1.5 })).toThrow(InvalidArgumentError);
        expect(() => store.readStream(stream('r-1'), { direction: 'sideways' as never })).toThrow(
          InvalidArgumentError,
        );
        expect(() => store.readStream('')).toThrow(InvalidStreamNameError);
      });
    });

    group('readAll', () => {
      beforeEach(async () => {
        await store.append(stream('order-1'), [ev('order.placed'), ev('order.paid')]);
        await store.append(stream('cart-1'), [ev('cart.opened')]);
        await store.append(stream('order-2'), [ev('order.placed')]);
        await store.append(stream('orderly-1'), [ev('order.placed')]);
      });
      const read = async (opts: Parameters<EventStore['readAll']>[0]) =>
        (await collect(store.readAll(opts))).map((e) => e.position);

      it('reads the log in position order, from a position, with a limit, both ways', async () => {
        expect(await read({})).toEqual([1, 2, 3, 4, 5]);
        expect(await read({ from: 3 })).toEqual([3, 4, 5]);
        expect(await read({ from: 0, limit: 2 })).toEqual([1, 2]);
        expect(await read({ from: 6 })).toEqual([]);
        expect(await read({ direction: 'backward' })).toEqual([5, 4, 3, 2, 1]);
        expect(await read({ direction: 'backward', from: 3, limit: 2 })).toEqual([3, 2]);
      });

      it('filters by type and by stream prefix', async () => {
        expect(await read({ filter: { types: ['order.placed'] } })).toEqual([1, 4, 5]);
        expect(await read({ filter: { types: ['cart.opened', 'order.paid'] } })).toEqual([2, 3]);
        expect(await read({ filter: { streamPrefix: stream('order-') } })).toEqual([1, 2, 4]);
        expect(
          await read({ filter: { streamPrefix: stream('order-'), types: ['order.placed'] } }),
        ).toEqual([1, 4]);
        expect(
          await read({
            filter: { streamPrefix: stream('order-') },
            direction: 'backward',
            limit: 1,
          }),
        ).toEqual([4]);
        expect(await read({ filter: { types: [] } })).toEqual([]);
      });

      it('filters by hash partition of the stream, alone and with other filters', async () => {
        const names = Array.from({ length: 24 }, (_, i) => stream(`part-${i}-é`));
        for (const name of names) await store.append(name, [ev('part.a'), ev('part.b')]);
        const all = await collect(store.readAll({ from: 6 }));
        const seen: number[] = [];
        for (let index = 0; index < 4; index++) {
          const partition = { count: 4, index };
          const mine = all.filter((e) => partitionOf(e.stream, 4) === index);
          const got = await collect(store.readAll({ from: 6, filter: { partition } }));
          expect(got.map((e) => e.position)).toEqual(mine.map((e) => e.position));
          expect(
            (
              await read({
                from: 6,
                filter: { partition, types: ['part.b'] },
                direction: 'forward',
              })
            ).length,
          ).toBe(mine.length / 2);
          expect(
            await read({
              filter: { partition, streamPrefix: stream('part-') },
              direction: 'backward',
              limit: 1,
            }),
          ).toEqual(mine.slice(-1).map((e) => e.position));
          seen.push(...got.map((e) => e.position));
        }
        expect(seen.sort((a, b) => a - b)).toEqual(all.map((e) => e.position));
        expect(await read({ from: 6, filter: { partition: { count: 1, index: 0 } } })).toEqual(
          all.map((e) => e.position),
        );
      });

      it('rejects a bad partition filter with INVALID_ARGUMENT', () => {
        for (const partition of [
          { count: 0, index: 0 },
          { count: 4, index: 4 },
          { count: 4, index: -1 },
          { count: 1.5, index: 0 },
          { count: 2000, index: 0 },
          'p1',
        ]) {
          expect(() => store.readAll({ filter: { partition: partition as never } })).toThrow(
            InvalidArgumentError,
          );
        }
      });

      it('treats LIKE wildcards in a prefix literally', async () => {
        await store.append(stream('a%b_c-1'), [ev('w')]);
        await store.append(stream('axbyc-1'), [ev('w')]);
        expect(await read({ filter: { streamPrefix: stream('a%b_c') } })).toEqual([6]);
      });

      it('rejects bad options with INVALID_ARGUMENT', () => {
        expect(() => store.readAll({ from: -2 })).toThrow(InvalidArgumentError);
        expect(() => store.readAll({ filter: { types: [''] } })).toThrow(InvalidArgumentError);
        expect(() => store.readAll({ filter: { streamPrefix: 5 as never } })).toThrow(
          InvalidArgumentError,
        );
      });

      it('streams more events than one page holds, in order', async () => {
        const batch = Array.from({ length: 500 }, (_, i) => ev('bulk', i));
        for (let i = 0; i < 5; i++) await store.append(stream(`bulk-${i}`), batch);
        let expected = 1;
        for await (const e of store.readAll()) {
          expect(e.position).toBe(expected);
          expected += 1;
        }
        expect(expected).toBe(2506);
        const back = await collect(
          store.readAll({ direction: 'backward', filter: { types: ['bulk'] } }),
        );
        expect(back).toHaveLength(2500);
        expect(back[0]?.position).toBe(2505);
        const tail = await collect(store.readStream(stream('bulk-3'), { from: 1 }));
        expect(tail.map((e) => e.data)).toEqual(Array.from({ length: 499 }, (_, i) => i + 1));
      });
    });

    group('listStreams', () => {
      it('lists streams with events in code point order, with revision and last position', async () => {
        // '\u{1F600}' sorts after '\uFFFD' by code point but before it by UTF-16 unit.
        const names = ['order-b', 'order-a', 'cart-1', 'order-\uFFFD', 'order-\u{1F600}'];
        for (const name of names) await store.append(stream(name), [ev('x')]);
        await store.append(stream('order-a'), [ev('y'), ev('z')]);
        await store.setStreamMetadata(stream('order-meta-only'), { maxCount: 3 });
        const listed = await collect(store.listStreams());
        expect(listed).toEqual([
          { stream: stream('cart-1'), revision: 0, lastPosition: 3, deleted: false },
          { stream: stream('order-a'), revision: 2, lastPosition: 7, deleted: false },
          { stream: stream('order-b'), revision: 0, lastPosition: 1, deleted: false },
          { stream: stream('order-\uFFFD'), revision: 0, lastPosition: 4, deleted: false },
          { stream: stream('order-\u{1F600}'), revision: 0, lastPosition: 5, deleted: false },
        ]);
      });

      it('filters by prefix and pages with after and limit', async () => {
        for (const name of ['order-1', 'order-2', 'order-3', 'orders-x', 'order', 'ordeq-1', 'p-1'])
          await store.append(stream(name), [ev('x')]);
        const names = async (options: Parameters<EventStore['listStreams']>[0]) =>
          (await collect(store.listStreams(options))).map((s) => s.stream);
        const streams = (...list: string[]) => list.map(stream);
        expect(await names({ prefix: stream('order-') })).toEqual(
          streams('order-1', 'order-2', 'order-3'),
        );
        expect(await names({ prefix: stream('order') })).toEqual(
          streams('order', 'order-1', 'order-2', 'order-3', 'orders-x'),
        );
        expect(await names({ prefix: stream('order-'), limit: 2 })).toEqual(
          streams('order-1', 'order-2'),
        );
        expect(await names({ prefix: stream('order-'), after: stream('order-2') })).toEqual(
          streams('order-3'),
        );
        expect(await names({ after: stream('orders-x') })).toEqual(streams('p-1'));
        expect(await names({ prefix: stream('zzz') })).toEqual([]);
        expect(await names({ prefix: stream('order-'), limit: 0 })).toEqual([]);
      });

      it('streams a long listing in pages, each name once', async () => {
        const count = 2_500;
        await store.appendMany(
          Array.from({ length: count }, (_, i) => ({
            stream: stream(`s-${String(i).padStart(5, '0')}`),
            events: [ev('x')],
          })),
        );
        const listed = await collect(store.listStreams({ prefix: stream('s-') }));
        expect(listed).toHaveLength(count);
        expect(new Set(listed.map((s) => s.stream)).size).toBe(count);
        expect(listed.map((s) => s.stream)).toEqual([...listed.map((s) => s.stream)].sort());
      });

      it('hides deleted streams unless asked, and marks them', async () => {
        await store.append(stream('keep-1'), [ev('a')]);
        await store.append(stream('soft-1'), [ev('a'), ev('b')]);
        await store.append(stream('hard-1'), [ev('a')]);
        await store.deleteStream(stream('soft-1'));
        await store.deleteStream(stream('hard-1'), { hard: true });
        await store.deleteStream(stream('never-written'), { hard: true });
        expect((await collect(store.listStreams())).map((s) => s.stream)).toEqual([
          stream('keep-1'),
        ]);
        expect(await collect(store.listStreams({ includeDeleted: true }))).toEqual([
          { stream: stream('hard-1'), revision: 0, lastPosition: 4, deleted: 'hard' },
          { stream: stream('keep-1'), revision: 0, lastPosition: 1, deleted: false },
          { stream: stream('soft-1'), revision: 1, lastPosition: 3, deleted: 'soft' },
        ]);
      });

      it('counts the streams listStreams lists, by prefix, deleted ones when asked', async () => {
        for (const name of ['c-order-1', 'c-order-2', 'c-order-3', 'c-orders-x', 'c-p-1'])
          await store.append(stream(name), [ev('x')]);
        await store.deleteStream(stream('c-order-2'));
        await store.deleteStream(stream('c-order-3'), { hard: true });
        await store.setStreamMetadata(stream('c-order-meta-only'), { maxCount: 3 });
        expect(typeof store.countStreams).toBe('function');
        const count = (options: Parameters<NonNullable<EventStore['countStreams']>>[0]) =>
          store.countStreams?.(options);
        expect(await count({ prefix: stream('c-') })).toBe(3);
        expect(await count({ prefix: stream('c-order-') })).toBe(1);
        expect(await count({ prefix: stream('c-order-'), includeDeleted: true })).toBe(3);
        expect(await count({ prefix: stream('c-order') })).toBe(2);
        expect(await count({ prefix: stream('c-zzz') })).toBe(0);
        for (const options of [
          { prefix: stream('c-') },
          { prefix: stream('c-'), includeDeleted: true },
        ])
          expect(await count(options)).toBe((await collect(store.listStreams(options))).length);
        expect(() => store.countStreams?.({ prefix: 3 } as never)).toThrow(
          expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error,
        );
      });

      it('refuses bad options before reading', () => {
        for (const bad of [
          { prefix: 3 },
          { after: null },
          { limit: -1 },
          { limit: 1.5 },
          { includeDeleted: 'yes' },
        ]) {
          expect(() => store.listStreams(bad as never), JSON.stringify(bad)).toThrow(
            expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error,
          );
        }
      });
    });

    group('deleteStream', () => {
      it('soft delete hides the stream; a later append revives it, continuing revisions', async () => {
        await store.append(stream('d-1'), [ev('a'), ev('b')]);
        await store.deleteStream(stream('d-1'));
        expect(await collect(store.readStream(stream('d-1')))).toEqual([]);
        expect(await store.streamInfo(stream('d-1'))).toMatchObject({
          exists: false,
          deleted: 'soft',
          revision: 1,
        });
        await store.deleteStream(stream('d-1')); // already soft-deleted: nothing to do
        const r = await store.append(stream('d-1'), [ev('c')], { expectedRevision: 'no_stream' });
        expect(r.revision).toBe(2);
        expect(
          (await collect(store.readStream(stream('d-1')))).map((e) => [e.type, e.revision]),
        ).toEqual([['c', 2]]);
        expect(await store.streamInfo(stream('d-1'))).toMatchObject({
          exists: true,
          deleted: false,
          revision: 2,
        });
        // The global log keeps every event.
        expect((await collect(store.readAll())).map((e) => e.type)).toEqual(['a', 'b', 'c']);
      });

      it('soft-deleted streams count as absent for expected revisions', async () => {
        await store.append(stream('d-2'), [ev('a')]);
        await store.deleteStream(stream('d-2'), { expectedRevision: 0 });
        await expectCode(
          store.append(stream('d-2'), [ev('b')], { expectedRevision: 0 }),
          ErrorCode.WRONG_EXPECTED_REVISION,
        );
        await expectCode(
          store.append(stream('d-2'), [ev('b')], { expectedRevision: 'stream_exists' }),
          ErrorCode.WRONG_EXPECTED_REVISION,
        );
      });

      it('hard delete tombstones the stream for good', async () => {
        await store.append(stream('d-3'), [ev('a')]);
        await store.deleteStream(stream('d-3'), { hard: true });
        expect(await store.streamInfo(stream('d-3'))).toMatchObject({
          exists: false,
          deleted: 'hard',
        });
        await expectCode(
          store.append(stream('d-3'), [ev('b')]),
          ErrorCode.STREAM_DELETED,
          StreamDeletedError,
        );
        await expectCode(
          store.appendMany([
            { stream: stream('d-4'), events: [ev('b')] },
            { stream: stream('d-3'), events: [ev('b')] },
          ]),
          ErrorCode.STREAM_DELETED,
        );
        await expectCode(collect(store.readStream(stream('d-3'))), ErrorCode.STREAM_DELETED);
        await expectCode(store.deleteStream(stream('d-3')), ErrorCode.STREAM_DELETED);
        await expectCode(
          store.setStreamMetadata(stream('d-3'), { a: 1 }),
          ErrorCode.STREAM_DELETED,
        );
        expect(await store.headPosition()).toBe(1);
        // A stream that never existed can be tombstoned to reserve its name.
        await store.deleteStream(stream('d-5'), { hard: true });
        await expectCode(store.append(stream('d-5'), [ev('a')]), ErrorCode.STREAM_DELETED);
      });

      it('checks the expected revision and refuses to soft-delete a missing stream', async () => {
        await store.append(stream('d-6'), [ev('a'), ev('b')]);
        await expectCode(
          store.deleteStream(stream('d-6'), { expectedRevision: 0 }),
          ErrorCode.WRONG_EXPECTED_REVISION,
        );
        await expectCode(
          store.deleteStream(stream('nothing-here')),
          ErrorCode.STREAM_NOT_FOUND,
          StreamNotFoundError,
        );
        expect((await store.streamInfo(stream('d-6'))).exists).toBe(true);
      });
    });

    group('stream metadata', () => {
      it('maxCount and truncateBefore limit what a stream read shows', async () => {
        await store.append(
          stream('md-1'),
          Array.from({ length: 10 }, (_, i) => ev('e', i)),
        );
        await store.setStreamMetadata(stream('md-1'), { maxCount: 3, owner: 'team-a' });
        expect((await collect(store.readStream(stream('md-1')))).map((e) => e.revision)).toEqual([
          7, 8, 9,
        ]);
        expect(
          (await collect(store.readStream(stream('md-1'), { direction: 'backward' }))).map(
            (e) => e.revision,
          ),
        ).toEqual([9, 8, 7]);
        expect(
          (await collect(store.readStream(stream('md-1'), { from: 0, limit: 2 }))).map(
            (e) => e.revision,
          ),
        ).toEqual([7, 8]);
        await store.setStreamMetadata(stream('md-1'), { truncateBefore: 8 });
        expect((await collect(store.readStream(stream('md-1')))).map((e) => e.revision)).toEqual([
          8, 9,
        ]);
        expect((await store.streamInfo(stream('md-1'))).metadata).toEqual({ truncateBefore: 8 });
        expect(await store.headPosition()).toBe(10);
      });

      it('maxAge hides events older than the given seconds', async () => {
        const clock = new ManualClock(1_000_000);
        const s = await open({ clock });
        await s.append(stream('md-2'), [ev('old')]);
        clock.advance(120_000);
        await s.append(stream('md-2'), [ev('new')]);
        await s.setStreamMetadata(stream('md-2'), { maxAge: 60 });
        expect((await collect(s.readStream(stream('md-2')))).map((e) => e.type)).toEqual(['new']);
        clock.advance(61_000);
        expect(await collect(s.readStream(stream('md-2')))).toEqual([]);
      });

      it('keeps user keys, can be set before the stream exists, and rejects bad values', async () => {
        await store.setStreamMetadata(stream('md-3'), { owner: 'x', tags: ['a'] });
        expect(await store.streamInfo(stream('md-3'))).toEqual({
          stream: stream('md-3'),
          exists: false,
          revision: null,
          deleted: false,
          metadata: { owner: 'x', tags: ['a'] },
        });
        await store.append(stream('md-3'), [ev('a')], { expectedRevision: 'no_stream' });
        expect((await store.streamInfo(stream('md-3'))).metadata).toEqual({
          owner: 'x',
          tags: ['a'],
        });
        for (const bad of [
          { maxCount: 0 },
          { maxCount: 1.5 },
          { maxAge: -1 },
          { truncateBefore: -1 },
          { x: 1n },
        ]) {
          await expect(
            store.setStreamMetadata(stream('md-3'), bad as never),
          ).rejects.toBeInstanceOf(CausewayError);
        }
        await expect(store.setStreamMetadata(stream('md-3'), null as never)).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
      });
    });

    group('bad input writes nothing', () => {
      afterEach(async () => {
        if (!store.isClosed) expect(await store.headPosition()).toBe(0);
      });

      it('refuses bad stream names', async () => {
        for (const name of ['', 'x'.repeat(201), '$system', 'tab\there', 42, null, undefined]) {
          await expectCode(
            store.append(name as string, [ev('a')]),
            ErrorCode.INVALID_STREAM_NAME,
            InvalidStreamNameError,
          );
        }
      });

      it('refuses an empty or non-array event list', async () => {
        await expectCode(store.append(stream('b-1'), []), ErrorCode.EMPTY_APPEND, EmptyAppendError);
        await expectCode(store.append(stream('b-1'), 'nope' as never), ErrorCode.INVALID_ARGUMENT);
      });

      it('refuses malformed events', async () => {
        const bad: unknown[] = [
          { data: 1 },
          { type: '', data: 1 },
          { type: 5, data: 1 },
          { type: 'a\nb', data: 1 },
          { type: 'x'.repeat(201), data: 1 },
          { type: 'a' },
          { type: 'a', data: 1, id: 'not-a-uuid' },
          { type: 'a', data: 1, schemaVersion: 0 },
          { type: 'a', data: 1, metadata: 'str' },
          { type: 'a', data: 1, metadata: { actor: 7 } },
          null,
        ];
        for (const b of bad) {
          await expectCode(
            store.append(stream('b-2'), [ev('ok'), b as EventInput]),
            ErrorCode.INVALID_EVENT,
            InvalidEventError,
          );
        }
      });

      it('refuses data JSON cannot carry, naming the path', async () => {
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        const cases: [unknown, string][] = [
          [{ n: 10n }, '$[0].data.n'],
          [cyclic, '$[0].data.self'],
          [{ f: () => 1 }, '$[0].data.f'],
          [undefined, '$[0].data'],
          [{ when: new Date() }, '$[0].data.when'],
          [{ m: new Map() }, '$[0].data.m'],
          [[1, undefined], '$[0].data[1]'],
          [{ x: NaN }, '$[0].data.x'],
          [{ x: Infinity }, '$[0].data.x'],
          [{ s: Symbol('s') }, '$[0].data.s'],
        ];
        for (const [data, path] of cases) {
          const e = await expectCode(
            store.append(stream('b-3'), [{ type: 'a', data }]),
            ErrorCode.NOT_JSON,
            NotJsonError,
          );
          expect((e as NotJsonError).path).toBe(path);
        }
        await expectCode(
          store.append(stream('b-3'), [{ type: 'a', data: 1, metadata: { big: 1n } }]),
          ErrorCode.NOT_JSON,
        );
      });

      it('refuses events over the size limit, which is configurable', async () => {
        const e = await expectCode(
          store.append(stream('b-4'), [ev('a', 'x'.repeat(1024 * 1024))]),
          ErrorCode.EVENT_TOO_LARGE,
          EventTooLargeError,
        );
        expect(e).toMatchObject({ index: 0, limit: 1024 * 1024 });
        const small = await open({ maxEventBytes: 100 });
        await expectCode(
          small.append(stream('b-4'), [ev('a', 'x'.repeat(50)), ev('a', 'x'.repeat(200))]),
          ErrorCode.EVENT_TOO_LARGE,
        );
      });

      it('refuses bad expected revisions', async () => {
        for (const bad of [-1, 1.5, 'latest', null]) {
          await expectCode(
            store.append(stream('b-5'), [ev('a')], { expectedRevision: bad as never }),
            ErrorCode.INVALID_ARGUMENT,
          );
        }
      });

      it('refuses every operation once closed', async () => {
        await store.close();
        expect(store.isClosed).toBe(true);
        await expectCode(
          store.append(stream('b-6'), [ev('a')]),
          ErrorCode.STORE_CLOSED,
          StoreClosedError,
        );
        await expectCode(
          store.appendMany([{ stream: stream('b-6'), events: [ev('a')] }]),
          ErrorCode.STORE_CLOSED,
        );
        expect(() => store.readAll()).toThrow(StoreClosedError);
        expect(() => store.readStream(stream('b-6'))).toThrow(StoreClosedError);
        await expectCode(store.streamInfo(stream('b-6')), ErrorCode.STORE_CLOSED);
        await expectCode(store.headPosition(), ErrorCode.STORE_CLOSED);
        await expectCode(store.deleteStream(stream('b-6')), ErrorCode.STORE_CLOSED);
        await store.close(); // closing twice is harmless
        if (harness.durable) {
          const reopened = await open();
          expect(await reopened.headPosition()).toBe(0);
        }
      });
    });

    group('hard delete and the global log', () => {
      it('readAll never returns the events of a tombstoned stream, in any direction or filter', async () => {
        await store.append(stream('gone-1'), [ev('a'), ev('b')]);
        await store.append(stream('kept-1'), [ev('a')]);
        await store.append(stream('gone-1'), [ev('c')]);
        await store.deleteStream(stream('gone-1'), { hard: true });
        const all = await collect(store.readAll());
        expect(all.map((e) => [e.stream, e.position])).toEqual([[stream('kept-1'), 3]]);
        expect(
          (await collect(store.readAll({ direction: 'backward' }))).map((e) => e.position),
        ).toEqual([3]);
        expect(
          (await collect(store.readAll({ filter: { types: ['a', 'c'] } }))).map((e) => e.position),
        ).toEqual([3]);
        expect(
          (await collect(store.readAll({ filter: { streamPrefix: stream('gone-') } }))).length,
        ).toBe(0);
        expect(await store.headPosition()).toBe(4);
      });
    });

    group('scavenge', () => {
      /** `s` as a scavengeable store, or undefined when it cannot scavenge (a third party's). */
      const scavenger = (s: EventStore): (EventStore & Scavengeable) | undefined =>
        isScavengeable(s) ? s : undefined;

      it('removes what reads no longer show, keeps the rest, and never reuses a position', async () => {
        const s = scavenger(store);
        if (!s) return expect(isScavengeable(store)).toBe(false);
        await store.append(stream('sc-count'), [ev('c0'), ev('c1'), ev('c2'), ev('c3')]); // 1-4
        await store.append(stream('sc-live'), [ev('l0')]); // 5
        await store.append(stream('sc-soft'), [ev('s0'), ev('s1')]); // 6-7
        await store.append(stream('sc-hard'), [ev('h0'), ev('h1')]); // 8-9: the newest
        await store.setStreamMetadata(stream('sc-count'), { maxCount: 2, owner: 'x' });
        await store.deleteStream(stream('sc-soft'));
        await store.deleteStream(stream('sc-hard'), { hard: true });
        const before = {
          count: await collect(store.readStream(stream('sc-count'))),
          live: await collect(store.readStream(stream('sc-live'))),
          info: await store.streamInfo(stream('sc-count')),
        };

        const report = await s.scavenge();
        expect(report).toMatchObject({
          dryRun: false,
          eventsRemoved: 6,
          streamsScavenged: 3,
          streamsEmptied: 2,
          batches: 1,
        });
        expect(report.bytesRemoved).toBeGreaterThan(0);

        // Reads are unchanged; the global log has gaps where the events were.
        expect(await collect(store.readStream(stream('sc-count')))).toEqual(before.count);
        expect(await collect(store.readStream(stream('sc-live')))).toEqual(before.live);
        expect(await store.streamInfo(stream('sc-count'))).toEqual(before.info);
        expect((await collect(store.readAll())).map((e) => e.position)).toEqual([3, 4, 5]);
        expect(
          (await collect(store.readAll({ direction: 'backward' }))).map((e) => e.position),
        ).toEqual([5, 4, 3]);
        // The removed events were the newest: their positions stay taken.
        expect(await store.headPosition()).toBe(9);
        const next = await store.append(stream('sc-live'), [ev('l1')], { expectedRevision: 0 });
        expect(next).toEqual({ stream: stream('sc-live'), revision: 1, position: 10 });
        // A tombstone stays a tombstone; a soft-deleted stream revives where it was.
        await expectCode(store.append(stream('sc-hard'), [ev('x')]), ErrorCode.STREAM_DELETED);
        expect(await store.streamInfo(stream('sc-hard'))).toMatchObject({ deleted: 'hard' });
        const revived = await store.append(stream('sc-soft'), [ev('s2')], {
          expectedRevision: 'no_stream',
        });
        expect(revived).toMatchObject({ revision: 2, position: 11 });
        expect((await collect(store.readStream(stream('sc-soft')))).map((e) => e.type)).toEqual([
          's2',
        ]);

        // Nothing is left to remove.
        expect((await s.scavenge()).eventsRemoved).toBe(0);
      });

      it('removes events older than maxAge by the store clock', async () => {
        const clock = new ManualClock(1_000_000);
        const opened = await open({ clock });
        const s = scavenger(opened);
        if (!s) return expect(isScavengeable(opened)).toBe(false);
        await s.append(stream('sc-age'), [ev('old'), ev('old')]);
        clock.advance(120_000);
        await s.append(stream('sc-age'), [ev('new')]);
        await s.setStreamMetadata(stream('sc-age'), { maxAge: 60 });
        expect(await s.scavenge()).toMatchObject({ eventsRemoved: 2, streamsEmptied: 0 });
        expect((await collect(s.readAll())).map((e) => [e.type, e.position])).toEqual([['new', 3]]);
        expect((await collect(s.readStream(stream('sc-age')))).map((e) => e.type)).toEqual(['new']);
      });

      it('works in batches of at most batchSize events, reporting each', async () => {
        const s = scavenger(store);
        if (!s) return expect(isScavengeable(store)).toBe(false);
        await store.append(
          stream('sc-b1'),
          Array.from({ length: 5 }, (_, i) => ev('e', i)),
        );
        await store.append(stream('sc-b2'), [ev('e', 5), ev('e', 6)]);
        await store.setStreamMetadata(stream('sc-b1'), { truncateBefore: 5 });
        await store.deleteStream(stream('sc-b2'), { hard: true });
        const progress: ScavengeProgress[] = [];
        const report = await s.scavenge({ batchSize: 2, onProgress: (p) => progress.push(p) });
        expect(report).toMatchObject({
          eventsRemoved: 7,
          streamsScavenged: 2,
          streamsEmptied: 2,
          batches: 4,
        });
        expect(progress.map((p) => [p.batch, p.eventsRemoved, p.totalEventsRemoved])).toEqual([
          [1, 2, 2],
          [2, 2, 4],
          [3, 2, 6],
          [4, 1, 7],
        ]);
        expect(progress.map((p) => p.streams)).toEqual([
          [stream('sc-b1')],
          [stream('sc-b1')],
          [stream('sc-b1'), stream('sc-b2')],
          [stream('sc-b2')],
        ]);
        expect(await collect(store.readAll())).toEqual([]);
        expect(await store.headPosition()).toBe(7);
      });

      it('a dry run reports what would go and removes nothing', async () => {
        const s = scavenger(store);
        if (!s) return expect(isScavengeable(store)).toBe(false);
        await store.append(stream('sc-d1'), [ev('a'), ev('b'), ev('c')]);
        await store.setStreamMetadata(stream('sc-d1'), { maxCount: 1 });
        await store.append(stream('sc-d2'), [ev('a')]);
        await store.deleteStream(stream('sc-d2'), { hard: true });
        const dry = await s.scavenge({ dryRun: true, batchSize: 1 });
        expect(dry).toMatchObject({ dryRun: true, eventsRemoved: 3, streamsScavenged: 2 });
        expect((await collect(store.readAll())).map((e) => e.position)).toEqual([1, 2, 3]);
        const real = await s.scavenge();
        expect(real).toMatchObject({ dryRun: false, eventsRemoved: 3, streamsScavenged: 2 });
        expect(real.bytesRemoved).toBe(dry.bytesRemoved);
        expect((await collect(store.readAll())).map((e) => e.position)).toEqual([3]);
      });

      it('refuses bad options and a closed store with typed errors', async () => {
        const s = scavenger(store);
        if (!s) return expect(isScavengeable(store)).toBe(false);
        for (const bad of [
          { batchSize: 0 },
          { batchSize: 1.5 },
          { batchSize: 1_000_001 },
          { dryRun: 'yes' },
          { onProgress: 3 },
        ])
          await expectCode(s.scavenge(bad as never), ErrorCode.INVALID_ARGUMENT);
        await store.close();
        await expectCode(s.scavenge(), ErrorCode.STORE_CLOSED);
      });
    });

    group('durability', () => {
      it('keeps everything across close and reopen', async () => {
        if (!harness.durable) return expect(harness.durable).toBe(false);
        await store.append(stream('p-1'), [ev('a', { x: 1 }), ev('b')]);
        await store.setStreamMetadata(stream('p-2'), { owner: 'z' });
        await store.append(stream('p-3'), [ev('c')]);
        await store.deleteStream(stream('p-3'), { hard: true });
        await store.close();
        const again = await open();
        expect((await collect(again.readStream(stream('p-1')))).map((e) => e.data)).toEqual([
          { x: 1 },
          { n: 1 },
        ]);
        expect((await again.streamInfo(stream('p-2'))).metadata).toEqual({ owner: 'z' });
        await expectCode(again.append(stream('p-3'), [ev('d')]), ErrorCode.STREAM_DELETED);
        expect(
          (await again.append(stream('p-1'), [ev('c')], { expectedRevision: 1 })).position,
        ).toBe(4);
      });

      it('an iteration in progress fails with STORE_CLOSED once the store closes', async () => {
        await store.append(
          stream('it-1'),
          Array.from({ length: 1500 }, (_, i) => ev('e', i)),
        );
        const it = store.readAll()[Symbol.asyncIterator]();
        await it.next();
        await store.close();
        let error: unknown;
        try {
          for (;;) if ((await it.next()).done) break;
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(StoreClosedError);
      });
    });
    checkSkips();
  });
}
