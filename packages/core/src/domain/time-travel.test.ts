import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { InvalidArgumentError } from '../core/errors.js';
import { collect } from '../store/collect.js';
import { MemoryEventStore } from '../store/memory-event-store.js';
import { orderDecider, type OrderCommand } from '../../../../examples/shop/order-decider.js';
import { CommandHandler } from './command-handler.js';
import { readAllUntil, stateAt } from './time-travel.js';

const T0 = Date.parse('2026-03-01T09:00:00Z');
const minute = 60_000;

describe('time travel', () => {
  let clock: ManualClock;
  let store: MemoryEventStore;

  // order-1: placed at T0, line at T0+1m, line at T0+2m, paid at T0+3m; other-1 at T0+1.5m.
  beforeEach(async () => {
    clock = new ManualClock(T0);
    store = new MemoryEventStore({ clock });
    const orders = new CommandHandler({ store, decider: orderDecider });
    const run = (command: OrderCommand) => orders.handle('order-1', command);
    await run({
      type: 'order.place',
      data: { customerId: 'c-1', lines: [{ sku: 'tea', quantity: 1, unitPrice: 400 }] },
    });
    clock.advance(minute);
    await run({ type: 'order.add-line', data: { sku: 'cup', quantity: 1, unitPrice: 600 } });
    clock.advance(minute / 2);
    await store.append('other-1', [{ type: 'x.happened', data: null }]);
    clock.advance(minute / 2);
    await run({ type: 'order.add-line', data: { sku: 'pot', quantity: 1, unitPrice: 2000 } });
    clock.advance(minute);
    await run({ type: 'order.pay', data: { amount: 3000 } });
  });

  afterEach(async () => {
    await store.close();
  });

  describe('stateAt', () => {
    it('folds the stream up to a revision', async () => {
      const at1 = await stateAt(store, orderDecider, 'order-1', { revision: 1 });
      expect(at1).toMatchObject({
        revision: 1,
        position: 2,
        events: 2,
        state: { status: 'placed', total: 1000 },
      });
      expect(at1.state.lines.map((l) => l.sku)).toEqual(['tea', 'cup']);
      const at0 = await stateAt(store, orderDecider, 'order-1', { revision: 0 });
      expect(at0.state.total).toBe(400);
      const beyond = await stateAt(store, orderDecider, 'order-1', { revision: 99 });
      expect(beyond).toMatchObject({ revision: 3, events: 4, state: { status: 'paid' } });
    });

    it('folds the stream up to a time, inclusive', async () => {
      const justBefore = await stateAt(store, orderDecider, 'order-1', { at: T0 + 2 * minute - 1 });
      expect(justBefore).toMatchObject({ revision: 1, state: { total: 1000 } });
      expect(justBefore.recordedAt).toEqual(new Date(T0 + minute));
      const exactly = await stateAt(store, orderDecider, 'order-1', {
        at: new Date(T0 + 2 * minute),
      });
      expect(exactly).toMatchObject({ revision: 2, state: { total: 3000, status: 'placed' } });
    });

    it('gives the initial state before the first event', async () => {
      const before = await stateAt(store, orderDecider, 'order-1', { at: T0 - 1 });
      expect(before).toEqual({
        state: { status: 'none', customerId: null, lines: [], total: 0 },
        revision: null,
        position: null,
        recordedAt: null,
        events: 0,
      });
      expect((await stateAt(store, orderDecider, 'nobody-1', { revision: 5 })).events).toBe(0);
    });

    it('refuses bad points', async () => {
      for (const point of [
        { revision: -1 },
        { revision: 1.5 },
        { at: new Date('nope') },
        { at: Number.NaN },
        {},
        null,
      ]) {
        await expect(
          stateAt(store, orderDecider, 'order-1', point as never),
        ).rejects.toBeInstanceOf(InvalidArgumentError);
      }
    });
  });

  describe('readAllUntil', () => {
    it('reads the log up to a position, inclusive', async () => {
      const events = await collect(readAllUntil(store, { position: 3 }));
      expect(events.map((e) => [e.position, e.stream])).toEqual([
        [1, 'order-1'],
        [2, 'order-1'],
        [3, 'other-1'],
      ]);
    });

    it('reads the log up to a time, with from and filters', async () => {
      const events = await collect(
        readAllUntil(
          store,
          { at: T0 + 2 * minute },
          { from: 2, filter: { streamPrefix: 'order-' } },
        ),
      );
      expect(events.map((e) => e.position)).toEqual([2, 4]);
      expect(await collect(readAllUntil(store, { at: T0 - 1 }))).toEqual([]);
    });

    it('stops reading at the bound', async () => {
      let pulled = 0;
      const counting = {
        ...store,
        readAll: (options?: Parameters<MemoryEventStore['readAll']>[0]) =>
          (async function* () {
            for await (const e of store.readAll(options)) {
              pulled++;
              yield e;
            }
          })(),
      } as unknown as MemoryEventStore;
      await collect(readAllUntil(counting, { position: 1 }));
      expect(pulled).toBe(2); // the first event, and the one that showed the bound was passed
    });

    it('refuses bad points', () => {
      expect(() => readAllUntil(store, { position: -1 })).toThrow(InvalidArgumentError);
      expect(() => readAllUntil(store, { at: 'yesterday' as never })).toThrow(InvalidArgumentError);
    });
  });
});
