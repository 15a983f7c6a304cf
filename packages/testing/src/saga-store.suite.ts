import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  ManualClock,
  ParkedCommandNotFoundError,
  ParkedCommandNotRetryableError,
  ParkedSagaCommands,
  newId,
  type NewOutboxEntry,
  type SagaInstanceRecord,
  type SagaStore,
  type SagaTimerRecord,
  type StoreTransaction,
  type SubscriptionStorage,
  type TransactionalEventStore,
} from '@causewayjs/core';

/** One opened adapter: its store, saga store and subscription storage. */
export interface SagaStoreParts {
  store: TransactionalEventStore;
  sagaStore: SagaStore;
  storage: SubscriptionStorage;
}

/** How the saga store suite reaches one adapter. */
export interface SagaStoreHarness {
  /** Opens the adapter on this harness's database (several calls share it when durable). */
  open(): Promise<SagaStoreParts>;
  /** True when two `open()` calls share data. */
  durable: boolean;
  /** Drops the database; called after every test, once every opened store is closed. */
  cleanup(): Promise<void>;
}

const T0 = Date.parse('2026-01-01T00:00:00Z');

function instance(
  saga: string,
  id: string,
  over: Partial<SagaInstanceRecord> = {},
): SagaInstanceRecord {
  return {
    saga,
    id,
    status: 'running',
    step: 'first',
    state: { n: 1, nested: { list: [1, 'two'] } },
    trail: ['first'],
    lastPosition: 7,
    newHistory: [
      {
        at: new Date(T0).toISOString(),
        kind: 'received',
        type: 'x.happened',
        id: 'e1',
        step: 'first',
      },
    ],
    pendingCompensations: 0,
    failedCompensations: 0,
    startedAt: T0,
    updatedAt: T0,
    ...over,
  };
}

/** A record as a load returns it: its new history stored, so none in hand. */
function loaded(record: SagaInstanceRecord): SagaInstanceRecord {
  return { ...record, newHistory: [] };
}

function timer(id: string, dueAt: number, over: Partial<SagaTimerRecord> = {}): SagaTimerRecord {
  return { id, saga: 's', instanceId: 'i1', type: 't.due', dueAt, data: { id }, ...over };
}

function command(type: string, over: Partial<NewOutboxEntry> = {}): NewOutboxEntry {
  return {
    command: { id: newId(), type, data: { type }, metadata: { correlationId: 'c' } },
    source: 's',
    instanceId: 'i1',
    compensation: false,
    createdAt: T0,
    ...over,
  };
}

const ROLLBACK = new Error('roll back');

/**
 * The saga store contract (instances, timers, outbox), run against every adapter, plus the
 * fulfilment saga end to end on the adapter's own transactions.
 */
export function describeSagaStoreConformance(
  name: string,
  makeHarness: () => Promise<SagaStoreHarness>,
): void {
  describe(`SagaStore conformance: ${name}`, () => {
    let harness: SagaStoreHarness;
    let parts: SagaStoreParts;
    const opened: TransactionalEventStore[] = [];
    const open = async () => {
      const p = await harness.open();
      opened.push(p.store);
      return p;
    };
    const inTx = <T>(work: (tx: StoreTransaction) => Promise<T>) => parts.store.transaction(work);
    const rolledBack = async (work: (tx: StoreTransaction) => Promise<void>) => {
      await expect(
        parts.store.transaction(async (tx) => {
          await work(tx);
          throw ROLLBACK;
        }),
      ).rejects.toBe(ROLLBACK);
    };

    beforeEach(async () => {
      harness = await makeHarness();
      parts = await open();
    });

    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await harness.cleanup();
    });

    describe('instances', () => {
      it('saves an instance with its transaction, and reads it back whole', async () => {
        const record = instance('s', 'i1');
        const stored = loaded(record);
        await inTx(async (tx) => {
          await parts.sagaStore.saveInstance(record, tx);
          // Inside the transaction its own write is seen; outside, not yet. A load leaves the
          // stored history out: its new history is empty.
          expect(await parts.sagaStore.loadInstance('s', 'i1', tx)).toEqual(stored);
          expect(await parts.sagaStore.getInstance('s', 'i1')).toBeUndefined();
        });
        expect(await parts.sagaStore.loadInstance('s', 'i1')).toEqual(stored);
        const view = await parts.sagaStore.getInstance('s', 'i1');
        expect(view).toMatchObject({
          saga: 's',
          id: 'i1',
          status: 'running',
          step: 'first',
          state: record.state,
          startedAt: new Date(T0).toISOString(),
          history: record.newHistory,
          timers: [],
        });
      });

      it('appends the new history at every save, and nothing of a rolled-back one', async () => {
        const entry = (n: number, detail?: unknown) => ({
          at: new Date(T0 + n).toISOString(),
          kind: 'received' as const,
          type: `x.${n}`,
          id: `e${n}`,
          step: 'first',
          ...(detail === undefined ? {} : { detail }),
        });
        await inTx((tx) =>
          parts.sagaStore.saveInstance(instance('s', 'i1', { newHistory: [entry(1)] }), tx),
        );
        // Text that looks like the stored format (line feeds, brackets) stays data.
        const odd = { text: 'a\nb],[{"', emoji: '\u{1F600}', nothing: null };
        await inTx((tx) =>
          parts.sagaStore.saveInstance(
            instance('s', 'i1', { step: 'second', newHistory: [entry(2, odd), entry(3)] }),
            tx,
          ),
        );
        await rolledBack((tx) =>
          parts.sagaStore.saveInstance(instance('s', 'i1', { newHistory: [entry(4)] }), tx),
        );
        // Saved again with no new entry: the history stays as it is.
        await inTx((tx) =>
          parts.sagaStore.saveInstance(instance('s', 'i1', { step: 'third', newHistory: [] }), tx),
        );
        // The same instance twice in one call: both records' entries, in order.
        await inTx(async (tx) => {
          const save = (records: SagaInstanceRecord[]) =>
            parts.sagaStore.saveInstances
              ? parts.sagaStore.saveInstances(records, tx)
              : Promise.all(records.map((r) => parts.sagaStore.saveInstance(r, tx)));
          await save([
            instance('s', 'i1', { newHistory: [entry(5)] }),
            instance('s', 'i1', { step: 'fourth', newHistory: [entry(6)] }),
          ]);
        });
        const view = await parts.sagaStore.getInstance('s', 'i1');
        expect(view?.step).toBe('fourth');
        expect(view?.history).toEqual([entry(1), entry(2, odd), entry(3), entry(5), entry(6)]);
        const [listed] = await parts.sagaStore.listInstances({ saga: 's' });
        expect(listed?.history).toEqual(view?.history);
        expect((await parts.sagaStore.loadInstance('s', 'i1'))?.newHistory).toEqual([]);
      });

      it('reads the stored history alone, in a transaction seeing its own writes', async () => {
        const { sagaStore } = parts;
        if (!sagaStore.loadHistory) return;
        const first = instance('s', 'i1').newHistory;
        const second = [{ ...first[0]!, id: 'e2', type: 'x.again' }];
        await inTx((tx) => sagaStore.saveInstance(instance('s', 'i1'), tx));
        await inTx(async (tx) => {
          await sagaStore.saveInstance(instance('s', 'i1', { newHistory: second }), tx);
          expect(await sagaStore.loadHistory?.('s', 'i1', tx)).toEqual([...first, ...second]);
          expect(await sagaStore.loadHistory?.('s', 'i1')).toEqual(first);
          expect(await sagaStore.loadHistory?.('s', 'none', tx)).toEqual([]);
        });
        expect(await sagaStore.loadHistory('s', 'i1')).toEqual([...first, ...second]);
        expect(await sagaStore.loadHistory('other', 'i1')).toEqual([]);
      });

      it('replaces an instance, and leaves nothing when the transaction rolls back', async () => {
        await inTx((tx) => parts.sagaStore.saveInstance(instance('s', 'i1'), tx));
        await rolledBack((tx) =>
          parts.sagaStore.saveInstance(instance('s', 'i1', { status: 'failed' }), tx),
        );
        await rolledBack((tx) => parts.sagaStore.saveInstance(instance('s', 'i2'), tx));
        expect((await parts.sagaStore.loadInstance('s', 'i1'))?.status).toBe('running');
        expect(await parts.sagaStore.loadInstance('s', 'i2')).toBeUndefined();
        await inTx((tx) =>
          parts.sagaStore.saveInstance(
            instance('s', 'i1', { status: 'compensating', step: 'b', updatedAt: T0 + 5 }),
            tx,
          ),
        );
        const view = await parts.sagaStore.getInstance('s', 'i1');
        expect(view?.status).toBe('compensating');
        expect(view?.step).toBe('b');
        expect(view?.updatedAt).toBe(new Date(T0 + 5).toISOString());
      });

      it('lists instances by id, filtered by saga and status, in pages', async () => {
        await inTx(async (tx) => {
          for (const id of ['c', 'a', 'b', 'd'])
            await parts.sagaStore.saveInstance(
              instance('s', id, { status: id === 'b' ? 'completed' : 'running' }),
              tx,
            );
          await parts.sagaStore.saveInstance(instance('other', 'a'), tx);
        });
        const ids = (views: { saga: string; id: string }[]) =>
          views.map((v) => `${v.saga}/${v.id}`);
        expect(ids(await parts.sagaStore.listInstances())).toEqual([
          'other/a',
          's/a',
          's/b',
          's/c',
          's/d',
        ]);
        expect(ids(await parts.sagaStore.listInstances({ saga: 's', limit: 2 }))).toEqual([
          's/a',
          's/b',
        ]);
        expect(ids(await parts.sagaStore.listInstances({ saga: 's', after: 'b' }))).toEqual([
          's/c',
          's/d',
        ]);
        expect(ids(await parts.sagaStore.listInstances({ status: 'completed' }))).toEqual(['s/b']);
        expect(await parts.sagaStore.listInstances({ saga: 'none' })).toEqual([]);
        // Counts cover every page, with the same filters.
        const count = (options?: { saga?: string; status?: 'completed' }) =>
          parts.sagaStore.countInstances?.(options);
        expect(await count()).toBe(5);
        expect(await count({ saga: 's' })).toBe(4);
        expect(await count({ status: 'completed' })).toBe(1);
        expect(await count({ saga: 'none' })).toBe(0);
      });

      it('refuses bad query arguments with a typed error', async () => {
        await expect(parts.sagaStore.listInstances({ limit: 0 })).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
        await expect(
          parts.sagaStore.listInstances({ status: 'sleeping' as 'running' }),
        ).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(parts.sagaStore.getInstance('', 'x')).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
      });
    });

    describe('timers', () => {
      it('sets a timer once, shows it with its instance, and finds it when due', async () => {
        await inTx(async (tx) => {
          await parts.sagaStore.saveInstance(instance('s', 'i1'), tx);
          await parts.sagaStore.addTimer(timer('t2', T0 + 2000), tx);
          await parts.sagaStore.addTimer(timer('t1', T0 + 1000), tx);
          // The same id again is left as it is.
          await parts.sagaStore.addTimer(timer('t1', T0 + 9999), tx);
        });
        expect((await parts.sagaStore.timersOf('s', 'i1')).map((t) => [t.id, t.dueAt])).toEqual([
          ['t1', T0 + 1000],
          ['t2', T0 + 2000],
        ]);
        expect((await parts.sagaStore.getInstance('s', 'i1'))?.timers).toEqual([
          { id: 't1', type: 't.due', dueAt: new Date(T0 + 1000).toISOString() },
          { id: 't2', type: 't.due', dueAt: new Date(T0 + 2000).toISOString() },
        ]);
        expect(await parts.sagaStore.dueTimers(T0 + 999, 10)).toEqual([]);
        expect((await parts.sagaStore.dueTimers(T0 + 1000, 10)).map((t) => t.id)).toEqual(['t1']);
        expect((await parts.sagaStore.dueTimers(T0 + 5000, 1)).map((t) => t.id)).toEqual(['t1']);
        expect(await parts.sagaStore.dueTimers(T0 + 5000, 10)).toEqual([
          timer('t1', T0 + 1000),
          timer('t2', T0 + 2000),
        ]);
        // Only the timers of the sagas asked for.
        await inTx((tx) => parts.sagaStore.addTimer(timer('t3', T0, { saga: 'other' }), tx));
        expect((await parts.sagaStore.dueTimers(T0 + 5000, 10, ['s'])).map((t) => t.id)).toEqual([
          't1',
          't2',
        ]);
        expect(
          (await parts.sagaStore.dueTimers(T0 + 5000, 10, ['other'])).map((t) => t.id),
        ).toEqual(['t3']);
        expect(await parts.sagaStore.dueTimers(T0 + 5000, 10, [])).toEqual([]);
      });

      it('takes a timer once; a rolled-back take leaves it set', async () => {
        await inTx((tx) => parts.sagaStore.addTimer(timer('t1', T0), tx));
        await rolledBack(async (tx) => {
          expect((await parts.sagaStore.takeTimer('t1', tx))?.id).toBe('t1');
        });
        expect(await parts.sagaStore.timersOf('s', 'i1')).toHaveLength(1);
        await inTx(async (tx) => {
          expect(await parts.sagaStore.takeTimer('t1', tx)).toEqual(timer('t1', T0));
          expect(await parts.sagaStore.takeTimer('t1', tx)).toBeUndefined();
          expect(await parts.sagaStore.timersOf('s', 'i1', tx)).toEqual([]);
        });
        await inTx(async (tx) => {
          expect(await parts.sagaStore.takeTimer('t1', tx)).toBeUndefined();
        });
        expect(await parts.sagaStore.dueTimers(T0 + 1, 10)).toEqual([]);
      });

      it('refuses a malformed timer', async () => {
        await expect(
          inTx((tx) => parts.sagaStore.addTimer(timer('t1', Number.NaN), tx)),
        ).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(
          inTx((tx) => parts.sagaStore.addTimer(timer('', T0), tx)),
        ).rejects.toBeInstanceOf(InvalidArgumentError);
        expect(await parts.sagaStore.dueTimers(T0 + 1, 10)).toEqual([]);
      });
    });

    describe('batches (what the runtime writes once per transaction)', () => {
      it("reads several instances at once, seeing the transaction's own writes", async () => {
        const { sagaStore } = parts;
        if (!sagaStore.loadInstances) return;
        const load = sagaStore.loadInstances.bind(sagaStore);
        await inTx((tx) => sagaStore.saveInstance(instance('s', 'a'), tx));
        await inTx(async (tx) => {
          await sagaStore.saveInstance(instance('s', 'b', { step: 'second' }), tx);
          const found = await load('s', ['b', 'missing', 'a'], tx);
          expect(found.map((r) => r.id).sort()).toEqual(['a', 'b']);
          expect(found.find((r) => r.id === 'a')).toEqual(loaded(instance('s', 'a')));
          expect(found.find((r) => r.id === 'b')?.step).toBe('second');
          expect(await load('other-saga', ['a', 'b'], tx)).toEqual([]);
          expect(await load('s', [], tx)).toEqual([]);
        });
      });

      it('saves several instances in one call, with the transaction, replacing existing ones', async () => {
        const { sagaStore } = parts;
        if (!sagaStore.saveInstances) return;
        const save = sagaStore.saveInstances.bind(sagaStore);
        await inTx((tx) => save([instance('s', 'a'), instance('s', 'b')], tx));
        await rolledBack((tx) => save([instance('s', 'a', { step: 'lost' })], tx));
        const changed = instance('s', 'b', {
          status: 'completed',
          step: 'done',
          state: { n: 2 },
          trail: ['first', 'done'],
          updatedAt: T0 + 5,
        });
        await inTx((tx) => save([changed, instance('s', 'c')], tx));
        expect(await sagaStore.loadInstance('s', 'a')).toEqual(loaded(instance('s', 'a')));
        expect(await sagaStore.loadInstance('s', 'b')).toEqual(loaded(changed));
        expect(await sagaStore.loadInstance('s', 'c')).toEqual(loaded(instance('s', 'c')));
        // Each save appended its entries: b was saved twice.
        expect((await sagaStore.getInstance('s', 'b'))?.history).toHaveLength(2);
        expect(await sagaStore.countInstances?.({ saga: 's' })).toBe(3);
      });

      it('records many commands in one call in order, and settles many at once', async () => {
        const { sagaStore } = parts;
        const list = Array.from({ length: 25 }, (_, i) =>
          command(`c${i}.do`, { instanceId: `i${i % 3}`, compensation: i % 5 === 0 }),
        );
        await inTx((tx) => sagaStore.enqueue([...list, list[0] as NewOutboxEntry], tx));
        const pending = await sagaStore.pendingCommands(100);
        expect(pending.map((e) => e.command.id)).toEqual(list.map((e) => e.command.id));
        expect(pending.map((e) => e.compensation)).toEqual(list.map((e) => e.compensation));
        expect(pending.map((e) => e.command.data)).toEqual(list.map((e) => e.command.data));
        if (!sagaStore.settleCommands) return;
        const settle = sagaStore.settleCommands.bind(sagaStore);
        const update = (i: number) => ({
          status: i % 2 === 0 ? ('sent' as const) : ('rejected' as const),
          attempts: i + 1,
          lastError: i % 2 === 0 ? null : `no ${i}`,
          nextAttemptAt: T0 + i,
          settledAt: T0 + i,
          reply:
            i % 2 === 0
              ? { status: 'accepted' as const, stream: 's-1', revision: i }
              : { status: 'rejected' as const, code: 'NO', message: `no ${i}` },
        });
        const first = list.slice(0, 10);
        await rolledBack((tx) =>
          settle(
            first.map((e, i) => ({ commandId: e.command.id, update: update(i) })),
            tx,
          ),
        );
        expect(await sagaStore.pendingCommands(100)).toHaveLength(25);
        await inTx((tx) =>
          settle(
            first.map((e, i) => ({ commandId: e.command.id, update: update(i) })),
            tx,
          ),
        );
        const after = await sagaStore.listCommands({ limit: 100 });
        for (const [i, e] of first.entries()) {
          const found = after.find((x) => x.command.id === e.command.id);
          expect(found).toMatchObject(update(i));
        }
        expect(await sagaStore.pendingCommands(100)).toHaveLength(15);
      });
    });

    describe('outbox', () => {
      it('records commands in order with their transaction; a command id is recorded once', async () => {
        const a = command('a.do');
        const b = command('b.do', { compensation: true });
        const c = command('c.do', { source: 'chor', instanceId: null });
        await inTx(async (tx) => {
          await parts.sagaStore.enqueue([a, b], tx);
          await parts.sagaStore.enqueue([c, a], tx);
          expect(await parts.sagaStore.pendingCommands(10)).toEqual([]);
        });
        await inTx((tx) => parts.sagaStore.enqueue([a], tx));
        const pending = await parts.sagaStore.pendingCommands(10);
        expect(pending.map((e) => e.command.type)).toEqual(['a.do', 'b.do', 'c.do']);
        expect(pending[0]).toMatchObject({
          command: a.command,
          source: 's',
          instanceId: 'i1',
          compensation: false,
          status: 'pending',
          attempts: 0,
          lastError: null,
          settledAt: null,
          reply: null,
          createdAt: T0,
        });
        expect(pending[1]?.compensation).toBe(true);
        expect(pending[2]?.instanceId).toBeNull();
        expect(pending.map((e) => e.seq)).toEqual(
          [...pending.map((e) => e.seq)].sort((x, y) => x - y),
        );
        expect(await parts.sagaStore.pendingCommands(1)).toHaveLength(1);
        // Only the commands of the sources asked for.
        expect(
          (await parts.sagaStore.pendingCommands(10, ['chor'])).map((e) => e.command.type),
        ).toEqual(['c.do']);
        expect(
          (await parts.sagaStore.pendingCommands(10, ['s', 'x'])).map((e) => e.command.type),
        ).toEqual(['a.do', 'b.do']);
        expect(await parts.sagaStore.pendingCommands(10, [])).toEqual([]);
      });

      it('records nothing when the transaction rolls back', async () => {
        await rolledBack((tx) => parts.sagaStore.enqueue([command('a.do')], tx));
        expect(await parts.sagaStore.pendingCommands(10)).toEqual([]);
        expect(await parts.sagaStore.listCommands()).toEqual([]);
      });

      it('writes dispatch outcomes and lists commands by source, instance and status', async () => {
        const a = command('a.do');
        const b = command('b.do', { instanceId: 'i2' });
        await inTx((tx) => parts.sagaStore.enqueue([a, b], tx));
        await parts.sagaStore.settleCommand(a.command.id, {
          status: 'pending',
          attempts: 1,
          lastError: 'down',
          nextAttemptAt: T0 + 100,
          settledAt: null,
          reply: null,
        });
        let [first] = await parts.sagaStore.pendingCommands(10);
        expect(first).toMatchObject({ attempts: 1, lastError: 'down', nextAttemptAt: T0 + 100 });
        await inTx((tx) =>
          parts.sagaStore.settleCommand(
            a.command.id,
            {
              status: 'sent',
              attempts: 2,
              lastError: null,
              nextAttemptAt: T0 + 200,
              settledAt: T0 + 200,
              reply: { status: 'accepted', stream: 'x-1', revision: 3 },
            },
            tx,
          ),
        );
        [first] = await parts.sagaStore.pendingCommands(10);
        expect(first?.command.id).toBe(b.command.id);
        const sent = await parts.sagaStore.listCommands({ status: 'sent' });
        expect(sent).toHaveLength(1);
        expect(sent[0]).toMatchObject({
          status: 'sent',
          attempts: 2,
          settledAt: T0 + 200,
          reply: { status: 'accepted', stream: 'x-1', revision: 3 },
        });
        expect(
          (await parts.sagaStore.listCommands({ instanceId: 'i2' })).map((e) => e.command.id),
        ).toEqual([b.command.id]);
        expect(await parts.sagaStore.listCommands({ source: 'nobody' })).toEqual([]);
        const all = await parts.sagaStore.listCommands();
        expect(await parts.sagaStore.listCommands({ after: all[0]?.seq ?? 0 })).toHaveLength(1);
      });

      it('lists parked commands; a retry re-queues one with its id, a skip records it', async () => {
        const parkedUpdate = {
          status: 'parked' as const,
          attempts: 3,
          lastError: 'down',
          nextAttemptAt: T0,
          settledAt: T0,
          reply: null,
        };
        const a = command('a.undo', { compensation: true });
        const b = command('b.undo', { compensation: true });
        const forward = command('c.do', { instanceId: 'i2' });
        await inTx(async (tx) => {
          await parts.sagaStore.saveInstance(
            instance('s', 'i1', { status: 'failed', failedCompensations: 2 }),
            tx,
          );
          await parts.sagaStore.saveInstance(instance('s', 'i2', { status: 'compensated' }), tx);
          await parts.sagaStore.enqueue([a, b, forward], tx);
        });
        for (const c of [a, b, forward])
          await parts.sagaStore.settleCommand(c.command.id, parkedUpdate);
        const admin = new ParkedSagaCommands({
          store: parts.store,
          sagaStore: parts.sagaStore,
          clock: new ManualClock(T0 + 1000),
        });
        expect((await admin.listParked()).map((e) => e.command.id)).toEqual(
          [a, b, forward].map((c) => c.command.id),
        );
        expect((await admin.listParked({ instanceId: 'i1' })).map((e) => e.command.type)).toEqual([
          'a.undo',
          'b.undo',
        ]);

        const retried = await admin.retry(a.command.id, { reason: 'service back' });
        expect(retried).toEqual({
          commandId: a.command.id,
          status: 'pending',
          instance: { saga: 's', id: 'i1', status: 'compensating' },
        });
        const [pending] = await parts.sagaStore.pendingCommands(10);
        expect(pending).toMatchObject({
          command: { id: a.command.id, type: 'a.undo' },
          status: 'pending',
          attempts: 0,
          nextAttemptAt: T0 + 1000,
        });
        let record = await parts.sagaStore.loadInstance('s', 'i1');
        expect(record).toMatchObject({ pendingCompensations: 1, failedCompensations: 1 });
        const lastEntry = async () =>
          (await parts.sagaStore.getInstance('s', 'i1'))?.history.at(-1);
        expect(await lastEntry()).toMatchObject({
          kind: 'compensation',
          id: a.command.id,
          detail: { outcome: 'retry-requested', reason: 'service back' },
        });

        const skipped = await admin.skip(b.command.id);
        expect(skipped.status).toBe('skipped');
        const [asSkipped] = await parts.sagaStore.listCommands({ status: 'skipped' });
        expect(asSkipped).toMatchObject({ command: { id: b.command.id }, attempts: 3 });
        record = await parts.sagaStore.loadInstance('s', 'i1');
        // Still compensating: the retried command has not settled yet.
        expect(record).toMatchObject({
          status: 'compensating',
          pendingCompensations: 1,
          failedCompensations: 0,
        });
        expect((await lastEntry())?.detail).toMatchObject({ outcome: 'skipped' });

        await expect(admin.retry(b.command.id)).rejects.toBeInstanceOf(ParkedCommandNotFoundError);
        await expect(admin.skip(a.command.id)).rejects.toBeInstanceOf(ParkedCommandNotFoundError);
        await expect(admin.retry(forward.command.id)).rejects.toBeInstanceOf(
          ParkedCommandNotRetryableError,
        );
        // The refused retry changed nothing.
        expect((await admin.listParked()).map((e) => e.command.id)).toEqual([forward.command.id]);
        await expect(admin.retry('')).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(admin.listParked({ limit: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
      });
    });

    it('keeps instances, timers and commands across a reopen', async (ctx) => {
      if (!harness.durable) ctx.skip();
      await inTx(async (tx) => {
        await parts.sagaStore.saveInstance(instance('s', 'i1'), tx);
        await parts.sagaStore.addTimer(timer('t1', T0), tx);
        await parts.sagaStore.enqueue([command('a.do')], tx);
      });
      await parts.store.close();
      const again = await open();
      expect(await again.sagaStore.loadInstance('s', 'i1')).toEqual(loaded(instance('s', 'i1')));
      expect(await again.sagaStore.dueTimers(T0, 10)).toEqual([timer('t1', T0)]);
      expect(await again.sagaStore.pendingCommands(10)).toHaveLength(1);
    });
  });
}
