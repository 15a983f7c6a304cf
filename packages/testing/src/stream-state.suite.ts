import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  END_OF_EVENT_TIME,
  InvalidArgumentError,
  StreamJob,
  StreamJobFencedError,
  collect,
  collectSink,
  count,
  storeSink,
  storeSource,
  tumbling,
  type RecordedEvent,
  type StreamStateStore,
  type WindowResult,
  type TransactionalEventStore,
} from '@causewayjs/core';

/** How the stream-state suite reaches one adapter. */
export interface StreamStateHarness {
  /** Opens a store and its stream state storage on this harness's database. */
  open(): Promise<{ store: TransactionalEventStore; states: StreamStateStore }>;
  /** True when two `open()` calls share data. */
  durable: boolean;
  /**
   * Resolves once another connection of this harness's database waits for a lock (when
   * transactions of one store can wait on each other's row locks, as PostgreSQL's can);
   * absent where one write lock orders a store's transactions (memory, SQLite).
   */
  blocked?(): Promise<void>;
  /** Drops the database; called after every test, once every opened store is closed. */
  cleanup(): Promise<void>;
}

/**
 * Stream-job checkpoint storage, run against every adapter: save/load/delete/list, positions
 * of both kinds, writes inside a transaction that commit or roll back with it, a job whose
 * derived events and checkpoint commit together, and fencing: claims give rising epochs, a
 * save with a stale epoch fails and writes nothing (nor does its transaction), the current
 * owner's saves work, and a claim and a fenced commit never interleave.
 */
export function describeStreamStateConformance(
  name: string,
  makeHarness: () => Promise<StreamStateHarness>,
): void {
  describe(`StreamStateStore conformance: ${name}`, () => {
    let harness: StreamStateHarness;
    let store: TransactionalEventStore;
    let states: StreamStateStore;
    const opened: TransactionalEventStore[] = [];
    const open = async () => {
      const o = await harness.open();
      opened.push(o.store);
      return o;
    };

    beforeEach(async () => {
      harness = await makeHarness();
      ({ store, states } = await open());
    });

    afterEach(async () => {
      for (const s of opened.splice(0)) if (!s.isClosed) await s.close();
      await harness.cleanup();
    });

    it('keeps the end of event time (the largest safe integer) as a watermark, in load and list', async () => {
      // A downstream stage reads it to know an upstream partition has ended.
      await states.save('ended', {
        position: 9,
        watermark: END_OF_EVENT_TIME,
        state: '{}',
      });
      expect((await states.load('ended'))?.watermark).toBe(Number.MAX_SAFE_INTEGER);
      expect((await states.list()).map((c) => c.watermark)).toEqual([Number.MAX_SAFE_INTEGER]);
    });

    it('has nothing for an unknown job', async () => {
      expect(await states.load('nobody')).toBeUndefined();
      expect(await states.list()).toEqual([]);
    });

    it('saves, replaces, lists and deletes checkpoints, with numeric and string positions', async () => {
      await states.save('a', { position: 42, watermark: 1_700_000_000_000, state: '{"x":1}' });
      await states.save('b', { position: 'seq-9', watermark: null, state: '[]' });
      await states.save('c', { position: undefined, watermark: -5, state: '' });
      const a = await states.load('a');
      expect(a).toMatchObject({ position: 42, watermark: 1_700_000_000_000, state: '{"x":1}' });
      expect(a?.updatedAt).toBeInstanceOf(Date);
      expect(await states.load('b')).toMatchObject({
        position: 'seq-9',
        watermark: null,
        state: '[]',
      });
      expect(await states.load('c')).toMatchObject({
        position: undefined,
        watermark: -5,
        state: '',
      });
      await states.save('a', { position: 43, watermark: null, state: 'é'.repeat(3) });
      expect(await states.load('a')).toMatchObject({ position: 43, state: 'ééé' });
      const list = await states.list();
      expect(list.map((c) => [c.job, c.position, c.bytes])).toEqual([
        ['a', 43, 6],
        ['b', 'seq-9', 2],
        ['c', undefined, 0],
      ]);
      await states.delete('a');
      expect(await states.load('a')).toBeUndefined();
      await states.delete('a');
    });

    it('keeps large state intact', async () => {
      const big = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ i, s: `v${i}` })));
      await states.save('big', { position: 1, watermark: null, state: big });
      expect((await states.load('big'))?.state).toBe(big);
    });

    it('refuses bad names and bad checkpoints with InvalidArgumentError', async () => {
      await expect(states.load('')).rejects.toThrow(InvalidArgumentError);
      await expect(
        states.save('x'.repeat(201), { position: 1, watermark: null, state: '' }),
      ).rejects.toThrow(InvalidArgumentError);
      await expect(states.save('j', { position: -1, watermark: null, state: '' })).rejects.toThrow(
        InvalidArgumentError,
      );
      await expect(states.save('j', { position: 1.5, watermark: null, state: '' })).rejects.toThrow(
        InvalidArgumentError,
      );
      await expect(
        states.save('j', { position: 1, watermark: Number.POSITIVE_INFINITY, state: '' }),
      ).rejects.toThrow(InvalidArgumentError);
      await expect(
        states.save('j', { position: 1, watermark: null, state: 5 as unknown as string }),
      ).rejects.toThrow(InvalidArgumentError);
      await expect(states.save('j', null as never)).rejects.toThrow(InvalidArgumentError);
      expect(await states.load('j')).toBeUndefined();
    });

    it('a save inside a transaction commits with its appends, or rolls back with them', async () => {
      await store.transaction(async (tx) => {
        await tx.append('out-1', [{ type: 'derived', data: {} }]);
        await states.save('job', { position: 7, watermark: 3, state: 's1' }, tx);
      });
      expect(await states.load('job')).toMatchObject({ position: 7, state: 's1' });
      await expect(
        store.transaction(async (tx) => {
          await tx.append('out-1', [{ type: 'derived', data: {} }]);
          await states.save('job', { position: 9, watermark: 4, state: 's2' }, tx);
          await states.delete('other', tx);
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await states.load('job')).toMatchObject({ position: 7, state: 's1' });
      expect(await collect(store.readStream('out-1'))).toHaveLength(1);
    });

    it('a job appends derived events and its checkpoint in one transaction, and resumes', async () => {
      for (let i = 0; i < 12; i++)
        await store.append(`in-${i % 2}`, [
          { type: 'reading.taken', data: { key: `k${i % 2}`, at: i * 10 } },
        ]);
      const define = (s: TransactionalEventStore, st: StreamStateStore) => {
        const job = new StreamJob<RecordedEvent>({
          name: 'derive',
          source: storeSource(s, { filter: { types: ['reading.taken'] }, live: false }),
          timestamp: 'data.at',
          checkpoints: st,
          batchSize: 5,
          maxFutureMs: Number.POSITIVE_INFINITY,
        });
        const seen = collectSink<WindowResult<string, number>>();
        const counted = job.input
          .keyBy((e) => (e.data as { key: string }).key)
          .window(tumbling({ size: 40 }))
          .aggregate(count());
        counted.to(seen);
        counted.to(
          storeSink({
            store: s,
            stream: (r) => `counts-${r.key}`,
            event: (r) => ({
              type: 'readings.counted',
              data: { start: r.window.start, count: r.value },
            }),
          }),
        );
        return { job, seen };
      };
      const first = define(store, states);
      await first.job.run();
      // Positions a filter leaves out (the derived events) count as passed.
      expect((await states.load('derive'))?.position).toBe(await headOf(store));
      // Windows [0,40) and [40,80) closed (watermark 109); [80,120) is open state.
      const counted = async () =>
        (await collect(store.readAll({ filter: { types: ['readings.counted'] } }))).map(
          (e) => `${e.stream}:${JSON.stringify(e.data)}`,
        );
      expect((await counted()).sort()).toEqual([
        'counts-k0:{"start":0,"count":2}',
        'counts-k0:{"start":40,"count":2}',
        'counts-k1:{"start":0,"count":2}',
        'counts-k1:{"start":40,"count":2}',
      ]);
      for (let i = 12; i < 16; i++)
        await store.append(`in-${i % 2}`, [
          { type: 'reading.taken', data: { key: `k${i % 2}`, at: i * 10 } },
        ]);
      const reopened = harness.durable ? await open() : { store, states };
      const second = define(reopened.store, reopened.states);
      await second.job.run();
      expect((await counted()).sort()).toEqual([
        'counts-k0:{"start":0,"count":2}',
        'counts-k0:{"start":40,"count":2}',
        'counts-k0:{"start":80,"count":2}',
        'counts-k1:{"start":0,"count":2}',
        'counts-k1:{"start":40,"count":2}',
        'counts-k1:{"start":80,"count":2}',
      ]);
      expect(second.job.status().committedPosition).toBe(await headOf(store));
    });

    describe('fencing', () => {
      const cp = (state: string, epoch?: number) => ({
        position: 1,
        watermark: null,
        state,
        ...(epoch === undefined ? {} : { epoch }),
      });

      it('claims rising epochs per job, kept when the checkpoint is deleted', async () => {
        expect(await states.claim('job', 'a')).toBe(1);
        expect(await states.claim('job', 'b')).toBe(2);
        expect(await states.claim('other', 'a')).toBe(1);
        await states.save('job', cp('s', 2));
        await states.delete('job');
        expect(await states.claim('job', 'a')).toBe(3);
        expect(await store.transaction((tx) => states.claim('job', 'c', tx))).toBe(4);
        await expect(states.claim('', 'a')).rejects.toThrow(InvalidArgumentError);
        await expect(states.claim('job', '')).rejects.toThrow(InvalidArgumentError);
        await expect(states.save('job', cp('s', 0))).rejects.toThrow(InvalidArgumentError);
        await expect(states.save('job', cp('s', 1.5))).rejects.toThrow(InvalidArgumentError);
      });

      it("refuses a stale epoch's save, writing nothing, and keeps the new owner's", async () => {
        const first = await states.claim('job', 'first');
        await store.transaction(async (tx) => {
          await tx.append('out', [{ type: 'derived', data: { by: 'first' } }]);
          await states.save('job', cp('first-1', first), tx);
        });
        expect(await states.load('job')).toMatchObject({ state: 'first-1', epoch: first });

        const second = await states.claim('job', 'second');
        expect(second).toBeGreaterThan(first);
        // The stale owner's transaction fails whole: its appends are not stored either.
        const refused = await store
          .transaction(async (tx) => {
            await tx.append('out', [{ type: 'derived', data: { by: 'first, late' } }]);
            await states.save('job', cp('first-2', first), tx);
          })
          .then(
            () => undefined,
            (error: unknown) => error,
          );
        expect(refused).toBeInstanceOf(StreamJobFencedError);
        expect(refused).toMatchObject({
          code: 'STREAM_JOB_FENCED',
          job: 'job',
          epoch: first,
          current: { epoch: second, owner: 'second' },
        });
        // Without a transaction too.
        await expect(states.save('job', cp('first-3', first))).rejects.toThrow(
          StreamJobFencedError,
        );
        expect(await states.load('job')).toMatchObject({ state: 'first-1', epoch: first });
        expect(
          (await collect(store.readStream('out'))).map((e) => (e.data as { by: string }).by),
        ).toEqual(['first']);

        // The current owner saves, with or without a transaction.
        await store.transaction(async (tx) => {
          await tx.append('out', [{ type: 'derived', data: { by: 'second' } }]);
          await states.save('job', cp('second-1', second), tx);
        });
        await states.save('job', cp('second-2', second));
        expect(await states.load('job')).toMatchObject({ state: 'second-2', epoch: second });
        expect(await collect(store.readStream('out'))).toHaveLength(2);
        // An epoch never claimed is no better than a stale one; a save without one is unfenced.
        await expect(states.save('job', cp('x', second + 1))).rejects.toThrow(StreamJobFencedError);
        await expect(states.save('never-claimed', cp('x', 1))).rejects.toThrow(
          StreamJobFencedError,
        );
        expect(await states.load('never-claimed')).toBeUndefined();
        await states.save('job', cp('unfenced'));
        expect(await states.load('job')).toMatchObject({ state: 'unfenced', epoch: undefined });
      });

      it('a claim waits for a transaction that checked the epoch, then sees its commit', async () => {
        const first = await states.claim('job', 'first');
        const hold = gate();
        const checked = gate();
        const committing = store.transaction(async (tx) => {
          await tx.append('out', [{ type: 'derived', data: {} }]);
          await states.save('job', cp('first-1', first), tx);
          checked.open();
          await hold.wait;
        });
        await checked.wait;
        let claimed: number | undefined;
        const claim = states.claim('job', 'second').then((epoch) => (claimed = epoch));
        await harness.blocked?.();
        expect(claimed).toBeUndefined();
        hold.open();
        await committing;
        expect(await claim).toBe(first + 1);
        // The new owner, loading after its claim, starts from the old owner's last commit.
        expect(await states.load('job')).toMatchObject({ state: 'first-1', epoch: first });
        expect(await collect(store.readStream('out'))).toHaveLength(1);
      });

      it('a commit waits for a claim in progress, then is refused', async () => {
        const first = await states.claim('job', 'first');
        const hold = gate();
        const claimedIn = gate();
        let second = 0;
        const claiming = store.transaction(async (tx) => {
          second = await states.claim('job', 'second', tx);
          claimedIn.open();
          await hold.wait;
        });
        await claimedIn.wait;
        const late = store.transaction(async (tx) => {
          await tx.append('out', [{ type: 'derived', data: {} }]);
          await states.save('job', cp('first-late', first), tx);
        });
        const outcome = late.then(
          () => 'committed',
          (error: unknown) => error,
        );
        await harness.blocked?.();
        hold.open();
        await claiming;
        expect(await outcome).toBeInstanceOf(StreamJobFencedError);
        expect(second).toBe(first + 1);
        expect(await states.load('job')).toBeUndefined();
        expect(await collect(store.readStream('out'))).toEqual([]);
      });
    });
  });
}

function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

function headOf(store: TransactionalEventStore): Promise<number> {
  return store.headPosition();
}
