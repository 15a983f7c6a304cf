import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  ManualClock,
  type EventInput,
  type RecordedEvent,
  DuplicateProjectionError,
  ProjectionApplyError,
  ProjectionErrorCode,
  ProjectionOutdatedError,
  ProjectionSetupError,
  ProjectionWaitTimeoutError,
  Projector,
  buildSubscriptionName,
  defineProjection,
  type ProjectionDefinition,
  type ProjectionMode,
  type ProjectionStatus,
  type ProjectionStore,
  type ProjectorOptions,
  type StoreTransaction,
  type TransactionalEventStore,
  CheckpointAheadError,
  HandlerTimeoutError,
  InvalidHandlerResultError,
  NonErrorThrownError,
} from '@causewayjs/core';

/** What the suite's read model holds, in a comparable order. */
export interface Tally {
  /** Per stream: events applied and the sum of their `n`. */
  streams: [stream: string, count: number, sum: number][];
  /** Positions applied, ascending. */
  applied: number[];
}

/**
 * The suite's read model on one adapter: a tally of events per stream, and one row per event
 * applied, keyed by position, so that applying an event twice fails instead of passing unseen.
 */
export interface TallyModel<RM> {
  /** Creates the tables (or collections), named with the handle's `table()`/`collection()`. */
  setup(readModel: RM): void | Promise<void>;
  /** Counts the event; throws if its position was already applied. */
  add(readModel: RM, event: RecordedEvent): void | Promise<void>;
  /** The tally, read through a query handle. */
  read(readModel: RM): Tally | Promise<Tally>;
}

/** One "process": a store and its projection store on the harness's database. */
export interface ProjectionProcess<Tx extends StoreTransaction, RM> {
  store: TransactionalEventStore<Tx>;
  projections: ProjectionStore<Tx, RM>;
}

/** How the projection suite reaches one adapter. */
export interface ProjectionHarness<Tx extends StoreTransaction, RM> {
  /** Opens a process on this harness's database (another connection when durable). */
  open(): Promise<ProjectionProcess<Tx, RM>>;
  /** True when two `open()` calls share data. */
  durable: boolean;
  model: TallyModel<RM>;
  /** Drops the database; called after every test, once every opened store is closed. */
  cleanup(): Promise<void>;
}

const NAME = 'tally';
const item = (n: number, extra: Record<string, unknown> = {}): EventInput => ({
  type: 'item.added',
  data: { n, ...extra },
});

/** A gate something can wait at. */
interface Gate {
  wait: Promise<void>;
  open: () => void;
  opened: boolean;
}

function gate(): Gate {
  const g: Gate = { wait: Promise.resolve(), open: () => undefined, opened: false };
  g.wait = new Promise<void>((resolve) => {
    g.open = () => {
      g.opened = true;
      resolve();
    };
  });
  return g;
}

/**
 * Holds a build back without holding a transaction open (which, on SQLite and memory, would
 * hold back every writer): `apply` fails on events past `after` while the gate is shut, and
 * the retry policy's pause, taken outside any transaction, waits for the gate.
 */
function holdBack(held: Gate, after: number) {
  return {
    before: (event: RecordedEvent) => {
      if (event.position > after && !held.opened) throw new Error('held back');
      return undefined;
    },
    retry: { attempts: 1000, baseDelayMs: 1, maxDelayMs: 1, sleep: () => held.wait },
  };
}

/** The tally of `events` as the model should hold it (item.added events only). */
function expectedTally(events: readonly RecordedEvent[]): Tally {
  const streams = new Map<string, [number, number]>();
  const applied: number[] = [];
  for (const e of events) {
    if (e.type !== 'item.added') continue;
    const t = streams.get(e.stream) ?? [0, 0];
    streams.set(e.stream, [t[0] + 1, t[1] + (e.data as { n: number }).n]);
    applied.push(e.position);
  }
  return {
    streams: [...streams]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([s, [count, sum]]) => [s, count, sum]),
    applied,
  };
}

/** A retry policy that does not sleep. */
const instantRetry = (attempts: number) => ({
  attempts,
  baseDelayMs: 1,
  maxDelayMs: 1,
  sleep: () => Promise.resolve(),
});

/**
 * The projection contract (issue: projections), run against every adapter: inline projections
 * applied in the append's transaction and rolled back with it; async projections catching up
 * then following live; rebuilds beside the serving read model while it keeps answering, and
 * the switch; status and lag; read-your-writes waits and their timeout; and bad input (failing
 * setups, misbehaving handlers, a checkpoint ahead of the log, duplicate or outdated
 * definitions).
 */
export function describeProjectionConformance<Tx extends StoreTransaction, RM>(
  name: string,
  makeHarness: () => Promise<ProjectionHarness<Tx, RM>>,
): void {
  describe(`Projection conformance: ${name}`, () => {
    let harness: ProjectionHarness<Tx, RM>;
    let main: ProjectionProcess<Tx, RM>;
    const processes: ProjectionProcess<Tx, RM>[] = [];
    const projectors: Projector<Tx, RM>[] = [];

    /**
     * A tally projection. `before` runs ahead of counting each event, and may throw, hang or
     * return something (which is then returned from `apply`). With `batched`, it also has an
     * `applyBatch` that calls `batched` with the events, then counts them one after another.
     */
    const tally = (
      options: {
        version?: number;
        mode?: ProjectionMode;
        name?: string;
        before?: (event: RecordedEvent) => unknown;
        setup?: (readModel: RM) => void | Promise<void>;
        batched?: (events: readonly RecordedEvent[]) => void;
      } = {},
    ): ProjectionDefinition<RM> =>
      defineProjection<RM>({
        ...(options.batched
          ? {
              applyBatch: async (events: readonly RecordedEvent[], rm: RM) => {
                options.batched?.(events);
                for (const event of events) await harness.model.add(rm, event);
              },
            }
          : {}),
        name: options.name ?? NAME,
        version: options.version ?? 1,
        mode: options.mode ?? 'async',
        handles: ['item.added'],
        setup: options.setup ?? ((rm) => harness.model.setup(rm)),
        apply: async (event, rm) => {
          const result: unknown = await options.before?.(event);
          if (result !== undefined) return result as never;
          await harness.model.add(rm, event);
        },
      });

    const projector = (
      projections: ProjectionDefinition<RM>[],
      options: Partial<ProjectorOptions<Tx, RM>> = {},
      on: ProjectionProcess<Tx, RM> = main,
    ) => {
      const p = new Projector<Tx, RM>({
        store: on.projections,
        projections,
        subscription: { retry: instantRetry(2), lease: { ttlMs: 60_000, wait: true } },
        ...options,
      });
      projectors.push(p);
      return p;
    };

    const read = (p: Projector<Tx, RM>, minPosition?: number) =>
      p.query(NAME, (rm) => harness.model.read(rm), {
        ...(minPosition === undefined ? {} : { minPosition }),
        timeoutMs: 15_000,
      });

    const all = async () => {
      const events: RecordedEvent[] = [];
      for await (const e of main.store.readAll()) events.push(e);
      return events;
    };

    /** Appends `count` item.added events (and a few others) through `store`. */
    const appendItems = async (
      store: Pick<TransactionalEventStore<Tx>, 'append' | 'headPosition'>,
      count: number,
    ) => {
      let last = 0;
      const head = await store.headPosition();
      for (let i = 0; i < count; i++) {
        const k = head + i;
        ({ position: last } = await store.append(`cart-${k % 7}`, [
          k % 10 === 3 ? { type: 'item.viewed', data: { n: k } } : item(k),
        ]));
      }
      return last;
    };

    beforeEach(async () => {
      harness = await makeHarness();
      main = await harness.open();
      processes.push(main);
    });

    afterEach(async () => {
      await Promise.all(projectors.splice(0).map((p) => p.stop()));
      await Promise.all(processes.splice(0).map((p) => p.store.close()));
      await harness.cleanup();
    });

    describe('inline', () => {
      it('applies in the append transaction: a query right after sees the append, at its position', async () => {
        const p = projector([tally({ mode: 'inline' })]);
        await p.start();
        const first = await p.store.append('cart-1', [item(1), item(2)]);
        const { data, position, version } = await read(p);
        expect(version).toBe(1);
        expect(position).toBe(first.position);
        expect(data.streams).toEqual([['cart-1', 2, 3]]);
        const [a, b] = await p.store.appendMany([
          { stream: 'cart-2', events: [item(5)] },
          { stream: 'cart-1', events: [{ type: 'item.viewed', data: {} }, item(7)] },
        ]);
        expect(a?.position).toBe(3);
        expect(b?.position).toBe(5);
        const after = await read(p);
        expect(after.position).toBe(5);
        expect(after.data).toEqual(expectedTally(await all()));
        expect((await p.status(NAME)).state).toBe('running');
      });

      it('hands applyBatch the events of one append, with the same read model as apply', async () => {
        const batches: number[][] = [];
        const p = projector([
          tally({
            mode: 'inline',
            batched: (events) => batches.push(events.map((e) => e.position)),
          }),
        ]);
        await p.start();
        await p.store.append('cart-1', [item(1)]);
        await p.store.appendMany([
          { stream: 'cart-2', events: [item(5), { type: 'item.viewed', data: {} }] },
          { stream: 'cart-1', events: [item(7), item(8)] },
        ]);
        // One event is applied with apply; the three of the second append in one call.
        expect(batches).toEqual([[2, 4, 5]]);
        expect((await read(p)).data).toEqual(expectedTally(await all()));
      });

      it('hands apply the events as readers of the log see them', async () => {
        const seen: RecordedEvent[] = [];
        const p = projector([tally({ mode: 'inline', before: (event) => void seen.push(event) })]);
        await p.start();
        await p.store.append('cart-1', [
          { ...item(1), metadata: { correlationId: 'c-1', custom: [1, 'two'] }, schemaVersion: 3 },
        ]);
        await p.store.appendMany([
          { stream: 'cart-2', events: [item(2), { type: 'item.viewed', data: null }] },
          {
            stream: 'cart-1',
            events: [{ ...item(3), id: '0190A3F8-7A1E-7C1A-9B1E-0000000000AA' }],
          },
        ]);
        const stored = (await all()).filter((e) => e.type === 'item.added');
        // The memory store dates its events as it commits them, a moment after they were applied.
        const withoutTime = (events: RecordedEvent[]) =>
          events.map(({ recordedAt: _, ...rest }) => rest);
        expect(withoutTime(seen)).toEqual(withoutTime(stored));
        if (harness.durable) expect(seen).toEqual(stored);
      });

      it('rolls the append back when the projection fails, whatever the failure', async () => {
        const hang = gate();
        const p = projector(
          [
            tally({
              mode: 'inline',
              before: (event) => {
                const how = (event.data as { fail?: string }).fail;
                if (how === 'error') throw new Error('no such item');
                if (how === 'string') throw 'not an error'; // eslint-disable-line @typescript-eslint/only-throw-error
                if (how === 'garbage') return 42;
                if (how === 'nack') return { action: 'skip', reason: 'later' };
                if (how === 'hang') return hang.wait;
                return undefined;
              },
            }),
          ],
          { inlineTimeoutMs: 200 },
        );
        await p.start();
        await p.store.append('cart-1', [item(1)]);
        const causes: unknown[] = [];
        for (const fail of ['error', 'string', 'garbage', 'nack', 'hang']) {
          const error = await p.store
            .append('cart-1', [item(2), item(3, { fail })])
            .catch((e: unknown) => e);
          expect(error, fail).toBeInstanceOf(ProjectionApplyError);
          expect((error as ProjectionApplyError).code).toBe(
            ProjectionErrorCode.PROJECTION_APPLY_FAILED,
          );
          causes.push((error as Error).cause);
        }
        hang.open();
        expect(causes[0]).toBeInstanceOf(Error);
        expect(causes[1]).toBeInstanceOf(NonErrorThrownError);
        expect(causes[2]).toBeInstanceOf(InvalidHandlerResultError);
        expect(causes[3]).toBeInstanceOf(InvalidHandlerResultError);
        expect(causes[4]).toBeInstanceOf(HandlerTimeoutError);
        // Nothing of the failed appends was stored or projected; the store still works.
        expect(await main.store.headPosition()).toBe(1);
        expect((await read(p)).data).toEqual({ streams: [['cart-1', 1, 1]], applied: [1] });
        const ok = await p.store.append('cart-1', [item(4)]);
        expect(ok.position).toBe(2);
        expect((await read(p)).data).toEqual(expectedTally(await all()));
      });

      it('applies appends made in a transaction, and rolls them back with it', async () => {
        const p = projector([tally({ mode: 'inline' })]);
        await p.start();
        await p.store.transaction(async (tx) => {
          await tx.append('cart-1', [item(1)]);
          await tx.appendMany([{ stream: 'cart-2', events: [item(2), item(3)] }]);
        });
        expect((await read(p)).data).toEqual(expectedTally(await all()));
        const boom = new Error('changed my mind');
        await expect(
          p.store.transaction(async (tx) => {
            await tx.append('cart-3', [item(10)]);
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(await main.store.headPosition()).toBe(3);
        expect((await read(p)).data).toEqual(expectedTally(await all()));
      });

      it('does not apply an idempotent re-append again', async () => {
        const p = projector([tally({ mode: 'inline' })]);
        await p.start();
        const events = [
          { ...item(1), id: '0190a3f8-7a1e-7c1a-9b1e-000000000001' },
          { ...item(2), id: '0190a3f8-7a1e-7c1a-9b1e-000000000002' },
        ];
        const first = await p.store.append('cart-1', events, { expectedRevision: 'no_stream' });
        await p.store.append('cart-2', [item(5)]);
        const again = await p.store.append('cart-1', events, { expectedRevision: 'no_stream' });
        expect(again).toEqual(first);
        expect((await read(p)).data).toEqual({
          streams: [
            ['cart-1', 2, 3],
            ['cart-2', 1, 5],
          ],
          applied: [1, 2, 3],
        });
      });

      it('builds a new inline projection from the log before it serves', async () => {
        await appendItems(main.store, 40);
        const p = projector([tally({ mode: 'inline' })]);
        await p.start();
        await p.switched(NAME, { timeoutMs: 15_000 });
        const position = await appendItems(p.store, 5);
        const { data, position: at } = await read(p);
        expect(at).toBe(position);
        expect(data).toEqual(expectedTally(await all()));
      });
    });

    describe('async', () => {
      it('catches up on stored events, then follows live appends', async () => {
        await appendItems(main.store, 250);
        const p = projector([tally()]);
        const states = new Set<string>();
        await p.start();
        states.add((await p.status(NAME)).state);
        const head = await main.store.headPosition();
        await p.waitFor(NAME, head, { timeoutMs: 15_000 });
        expect((await read(p)).data).toEqual(expectedTally(await all()));
        const position = await appendItems(p.store, 30);
        const { data, position: at } = await read(p, position);
        expect(at).toBeGreaterThanOrEqual(position);
        expect(data).toEqual(expectedTally(await all()));
        const status = await p.status(NAME);
        expect(status.state).toBe('running');
        expect(status.lag.events).toBe(0);
        expect(status.position).toBe(position);
      });

      it('hands applyBatch whole batches, with the same read model as apply, falling back to apply when a batch fails', async () => {
        await appendItems(main.store, 250);
        const sizes: number[] = [];
        let failed = false;
        let failedSize = 0;
        const p = projector(
          [
            tally(),
            tally({
              name: 'tally-batched',
              batched: (events) => {
                if (!failed && events.some((e) => e.position === 100)) {
                  failed = true;
                  failedSize = events.length;
                  throw new Error('this batch fails once');
                }
                sizes.push(events.length);
              },
            }),
          ],
          { subscription: { batchSize: 40, retry: instantRetry(2) } },
        );
        await p.start();
        const head = await main.store.headPosition();
        await p.waitFor(NAME, head, { timeoutMs: 15_000 });
        await p.waitFor('tally-batched', head, { timeoutMs: 15_000 });
        const expected = expectedTally(await all());
        expect((await read(p)).data).toEqual(expected);
        const batched = await p.query('tally-batched', (rm) => harness.model.read(rm));
        expect(batched.data).toEqual(expected);
        expect(failed).toBe(true);
        // Every batch but the failed one (applied event by event instead) went in one call.
        expect(sizes.every((n) => n > 1 && n <= 40)).toBe(true);
        expect(sizes.reduce((a, b) => a + b, 0) + failedSize).toBe(expected.applied.length);
        expect(await p.listParked('tally-batched')).toEqual([]);
      });

      it('applies each event exactly once across restarts', async () => {
        await appendItems(main.store, 120);
        const first = projector([tally()], { subscription: { batchSize: 7 } });
        await first.start();
        await first.waitFor(NAME, 60, { timeoutMs: 15_000 });
        await first.stop();
        await appendItems(main.store, 40);
        const second = projector([tally()], {
          subscription: { batchSize: 13, lease: { wait: true } },
        });
        await second.start();
        await second.waitFor(NAME, await main.store.headPosition(), { timeoutMs: 15_000 });
        expect((await read(second)).data).toEqual(expectedTally(await all()));
      });

      it('waits for a position (read-your-writes), and times out with a typed error', async () => {
        const held = gate();
        const p = projector([
          tally({
            before: (event) => ((event.data as { hold?: boolean }).hold ? held.wait : undefined),
          }),
        ]);
        await p.start();
        await p.store.append('cart-1', [item(1)]);
        const { position } = await p.store.append('cart-1', [item(2, { hold: true })]);
        const error = await p
          .query(NAME, (rm) => harness.model.read(rm), { minPosition: position, timeoutMs: 150 })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ProjectionWaitTimeoutError);
        expect((error as ProjectionWaitTimeoutError).position).toBe(position);
        expect((error as ProjectionWaitTimeoutError).reached).toBeLessThan(position);
        await expect(p.waitFor(NAME, position, { timeoutMs: 100 })).rejects.toBeInstanceOf(
          ProjectionWaitTimeoutError,
        );
        const waiting = read(p, position);
        held.open();
        const { data, position: at } = await waiting;
        expect(at).toBeGreaterThanOrEqual(position);
        expect(data).toEqual({ streams: [['cart-1', 2, 3]], applied: [1, 2] });
      });

      it('reports status: stopped, then lag, parked events, catching up and running', async () => {
        const clock = new ManualClock(Date.now() + 5000);
        const p = projector(
          [
            tally({
              before: (event) => {
                if ((event.data as { bad?: boolean }).bad) throw 'bad item'; // eslint-disable-line @typescript-eslint/only-throw-error
                return undefined;
              },
            }),
          ],
          { clock },
        );
        const before = await p.status(NAME);
        expect(before).toMatchObject({
          name: NAME,
          mode: 'async',
          state: 'stopped',
          position: 0,
          version: undefined,
        });
        await p.store.append('cart-1', [item(1), item(2, { bad: true }), item(3)]);
        const stopped = await p.status(NAME);
        expect(stopped.lag.events).toBe(3);
        expect(stopped.head).toBe(3);
        await p.start();
        await p.waitFor(NAME, 3, { timeoutMs: 15_000 });
        const status = await waitForStatus(p, (s) => s.state === 'running');
        expect(status).toMatchObject({
          state: 'running',
          version: 1,
          build: 1,
          position: 3,
          head: 3,
          lag: { events: 0, seconds: 0 },
          parked: 1,
          error: undefined,
          rebuild: undefined,
        });
        const [parked] = await p.listParked(NAME);
        expect(parked?.position).toBe(2);
        expect(parked?.error.name).toBe('NonErrorThrownError');
        await p.stop();
        await main.store.append('cart-1', [item(4)]);
        // The projector's clock now runs 5 s ahead of the store's (system) clock, which
        // recorded the event before this line: to the projector the event is at least 5 s old.
        clock.set(Date.now() + 5000);
        const lagging = await p.status(NAME);
        expect(lagging.state).toBe('stopped');
        expect(lagging.lag.events).toBe(1);
        expect(lagging.lag.seconds).toBeGreaterThanOrEqual(5);
        expect(lagging.lag.seconds).toBeLessThan(60);
      });

      it('parks events whose handler hangs or returns garbage, and keeps going', async () => {
        const p = projector(
          [
            tally({
              before: (event) => {
                const how = (event.data as { how?: string }).how;
                if (how === 'hang') return new Promise(() => undefined);
                if (how === 'garbage') return 'done!';
                return undefined;
              },
            }),
          ],
          { subscription: { retry: instantRetry(2), handlerTimeoutMs: 100 } },
        );
        await p.start();
        await p.store.append('cart-1', [item(1), item(2, { how: 'hang' }), item(3)]);
        await p.store.append('cart-2', [item(4, { how: 'garbage' }), item(5)]);
        await p.waitFor(NAME, 5, { timeoutMs: 15_000 });
        const parked = await p.listParked(NAME);
        expect(parked.map((e) => [e.position, e.error.name])).toEqual([
          [2, 'HandlerTimeoutError'],
          [4, 'InvalidHandlerResultError'],
        ]);
        expect((await read(p)).data.applied).toEqual([1, 3, 5]);
        expect((await p.status(NAME)).parked).toBe(2);
      });
    });

    describe('rebuilds', () => {
      it('builds a new async version beside the old one, which keeps answering, then switches', async () => {
        const v1 = projector([tally()]);
        await v1.start();
        await appendItems(v1.store, 60);
        await v1.waitFor(NAME, await main.store.headPosition(), { timeoutMs: 15_000 });
        await v1.stop();

        const held = gate();
        const { before, retry } = holdBack(held, 30);
        const v2 = projector([tally(), tally({ version: 2, before })], {
          subscription: { retry },
        });
        await v2.start();
        const during = await v2.status(NAME);
        expect(during.state).toBe('rebuilding');
        expect(during.version).toBe(1);
        expect(during.rebuild).toMatchObject({ version: 2, build: 1, parked: 0 });
        // The old version serves, and keeps up with new events, while the new one builds.
        const position = await appendItems(v2.store, 10);
        const old = await read(v2, position);
        expect(old.version).toBe(1);
        expect(old.data).toEqual(expectedTally(await all()));
        held.open();
        await v2.switched(NAME, { timeoutMs: 15_000 });
        const fresh = await read(v2, await main.store.headPosition());
        expect(fresh.version).toBe(2);
        expect(fresh.data).toEqual(expectedTally(await all()));
        const status = await v2.status(NAME);
        expect(status).toMatchObject({ state: 'running', version: 2, rebuild: undefined });
        // The old read model is gone.
        const tables = await main.projections.tables(NAME);
        expect(tables.length).toBeGreaterThan(0);
        expect(tables.every((t) => t.startsWith('tally_v2'))).toBe(true);
        expect((await main.projections.listBuilds(NAME)).map((r) => [r.version, r.status])).toEqual(
          [[2, 'serving']],
        );
      });

      it('rebuilds an inline projection while appends keep applying to the serving one', async () => {
        const v1 = projector([tally({ mode: 'inline' })]);
        await v1.start();
        await appendItems(v1.store, 50);
        await v1.stop();

        const held = gate();
        const { before, retry } = holdBack(held, 20);
        const v2 = projector(
          [tally({ mode: 'inline' }), tally({ mode: 'inline', version: 2, before })],
          { subscription: { retry } },
        );
        await v2.start();
        expect((await v2.status(NAME)).state).toBe('rebuilding');
        // Appends during the rebuild are applied inline to version 1, which serves them at once.
        for (let i = 0; i < 5; i++) {
          const { position } = await v2.store.append(`cart-${i}`, [item(100 + i)]);
          const { data, position: at, version } = await read(v2);
          expect(version).toBe(1);
          expect(at).toBe(position);
          expect(data).toEqual(expectedTally(await all()));
        }
        held.open();
        await v2.switched(NAME, { timeoutMs: 15_000 });
        const appended = await v2.store.append('cart-9', [item(999)]);
        const { data, position, version } = await read(v2);
        expect(version).toBe(2);
        expect(position).toBe(appended.position);
        expect(data).toEqual(expectedTally(await all()));
        expect((await main.projections.tables(NAME)).every((t) => t.startsWith('tally_v2'))).toBe(
          true,
        );
      });

      it('freezes an old inline version that no definition here maintains, and says where', async () => {
        const v1 = projector([tally({ mode: 'inline' })]);
        await v1.start();
        const frozenAt = await appendItems(v1.store, 30);
        await v1.stop();

        const held = gate();
        const { before, retry } = holdBack(held, 10);
        const v2 = projector([tally({ mode: 'inline', version: 2, before })], {
          subscription: { retry },
        });
        await v2.start();
        await appendItems(v2.store, 5);
        const during = await read(v2);
        expect(during.version).toBe(1);
        expect(during.position).toBe(frozenAt);
        expect(during.data.applied[during.data.applied.length - 1]).toBeLessThanOrEqual(frozenAt);
        held.open();
        await v2.switched(NAME, { timeoutMs: 15_000 });
        const after = await read(v2);
        expect(after.version).toBe(2);
        expect(after.position).toBe(await main.store.headPosition());
        expect(after.data).toEqual(expectedTally(await all()));
      });

      it('rebuilds by hand into a fresh read model equal to the old one', async () => {
        const p = projector([tally()]);
        await p.start();
        await appendItems(p.store, 80);
        const before = await read(p, await main.store.headPosition());
        const build = await p.rebuild(NAME);
        expect(build).toEqual({ name: NAME, version: 1, build: 2 });
        await p.switched(NAME, { timeoutMs: 15_000 });
        const after = await read(p, await main.store.headPosition());
        expect(after.data).toEqual(before.data);
        const tables = await main.projections.tables(NAME);
        expect(tables.length).toBeGreaterThan(0);
        expect(tables.filter((t) => !t.startsWith('tally_v1r2__'))).toEqual([]);
        const status = await p.status(NAME);
        expect(status).toMatchObject({ version: 1, build: 2, state: 'running' });
      });

      it('keeps the serving read model answering during a rebuild that parks an event, and switches once it is skipped', async () => {
        const p = projector([tally()]);
        await p.start();
        await appendItems(p.store, 20);
        await p.waitFor(NAME, await main.store.headPosition(), { timeoutMs: 15_000 });
        await p.stop();
        const v2 = projector([
          tally(),
          tally({
            version: 2,
            before: (e) => {
              if (e.position === 5) throw new Error('cannot rebuild this one');
              return undefined;
            },
          }),
        ]);
        await v2.start();
        const parked = await waitForStatus(v2, (s) => s.rebuild?.parked === 1);
        expect(parked.state).toBe('rebuilding');
        expect(parked.version).toBe(1);
        expect((await read(v2)).version).toBe(1);
        expect(await v2.skipParked(NAME, [5])).toBe(1);
        await v2.switched(NAME, { timeoutMs: 15_000 });
        expect((await read(v2)).version).toBe(2);
      });
      it('answers queries in another process during a rebuild and after the switch', async () => {
        const v1 = projector([tally()]);
        await v1.start();
        const head = await appendItems(v1.store, 40);
        await v1.waitFor(NAME, head, { timeoutMs: 15_000 });
        await v1.stop();
        const other = harness.durable ? await harness.open() : main;
        if (other !== main) processes.push(other);
        // A process that only reads: it runs nothing, and learns progress from the database.
        const reader = projector([tally(), tally({ version: 2 })], {}, other);
        const held = gate();
        const { before, retry } = holdBack(held, 10);
        const v2 = projector([tally(), tally({ version: 2, before })], {
          subscription: { retry },
        });
        await v2.start();
        const position = await appendItems(v2.store, 5);
        await reader.waitFor(NAME, position, { timeoutMs: 15_000 });
        const during = await read(reader);
        expect(during.version).toBe(1);
        expect(during.data).toEqual(expectedTally(await all()));
        held.open();
        await v2.switched(NAME, { timeoutMs: 15_000 });
        const after = await read(reader, position);
        expect(after.version).toBe(2);
        expect(after.data).toEqual(expectedTally(await all()));
        expect((await reader.status(NAME)).state).toBe('stopped');
        // An event the projection does not apply: its checkpoint need not move for a reader
        // elsewhere to know the read model is that fresh.
        const { position: skipped } = await v2.store.append('cart-1', [
          { type: 'item.viewed', data: {} },
        ]);
        await reader.waitFor(NAME, skipped, { timeoutMs: 5000 });
        expect((await read(reader)).position).toBeGreaterThanOrEqual(skipped);
      });
    });

    describe('bad input', () => {
      it('refuses two definitions with the same name and version, and bad definitions', () => {
        expect(() => projector([tally(), tally()])).toThrow(DuplicateProjectionError);
        expect(() => defineProjection({ ...tally(), name: 'Bad Name' })).toThrow(
          InvalidArgumentError,
        );
        expect(() => defineProjection({ ...tally(), version: 0 })).toThrow(InvalidArgumentError);
        expect(() => defineProjection({ ...tally(), handles: [] })).toThrow(InvalidArgumentError);
      });

      it('leaves nothing behind when setup fails, shows why, and runs the other projections', async () => {
        const boom = new Error('bad DDL');
        const broken = tally({
          name: 'broken',
          setup: async (rm) => {
            await harness.model.setup(rm);
            throw boom;
          },
        });
        const p = projector([broken, tally()]);
        const error = await p.start().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ProjectionSetupError);
        expect((error as Error).cause).toBe(boom);
        expect((error as Error).message).toContain('broken');
        expect(await main.projections.tables('broken')).toEqual([]);
        expect(await main.projections.listBuilds('broken')).toEqual([]);
        const status = await p.status('broken');
        expect(status.state).toBe('stopped');
        expect(status.error).toBe(error);
        // The healthy projection runs.
        const position = await appendItems(p.store, 3);
        expect((await read(p, position)).data).toEqual(expectedTally(await all()));
      });

      it('refuses to start on a checkpoint ahead of the log', async () => {
        const p = projector([tally()]);
        await p.start();
        await p.store.append('cart-1', [item(1)]);
        await p.waitFor(NAME, 1, { timeoutMs: 15_000 });
        await p.stop();
        await main.projections.storage.checkpoints.save(
          buildSubscriptionName({ name: NAME, version: 1, build: 1 }),
          50,
        );
        const error = await p.start().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CheckpointAheadError);
        const status = await p.status(NAME);
        expect(status.state).toBe('stopped');
        expect(status.error).toBe(error);
      });

      it('refuses a definition older than the version in the database', async () => {
        const v2 = projector([tally({ version: 2, mode: 'inline' })]);
        await v2.start();
        await v2.store.append('cart-1', [item(1)]);
        await v2.stop();
        const old = projector([tally({ version: 1, mode: 'inline' })]);
        await expect(old.start()).rejects.toBeInstanceOf(ProjectionOutdatedError);
        expect((await old.status(NAME)).state).toBe('stopped');
        // Its appends would leave version 2 behind: refused, and rolled back.
        await expect(old.store.append('cart-1', [item(2)])).rejects.toBeInstanceOf(
          ProjectionOutdatedError,
        );
        expect(await main.store.headPosition()).toBe(1);
      });
    });
  });

  /** Resolves with the first status satisfying `predicate`, looking on every change. */
  async function waitForStatus<Tx2 extends StoreTransaction, RM2>(
    p: Projector<Tx2, RM2>,
    predicate: (status: ProjectionStatus) => boolean,
    timeoutMs = 15_000,
  ): Promise<ProjectionStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await p.status(NAME);
      if (predicate(status)) return status;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for a status; last ${JSON.stringify(status)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
