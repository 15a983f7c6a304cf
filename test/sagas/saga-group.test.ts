import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventStore, sqliteSagaStore, sqliteSubscriptionStorage } from '@causewayjs/sqlite';
import { ManualClock, SagaRuntime, newId, type CommandDispatcher } from '@causewayjs/core';
import {
  FULFILMENT_SAGA,
  PAYMENT_TIMED_OUT,
  createFulfilmentSaga,
  createShopDispatcher,
} from '../../examples/shop/fulfilment-saga.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('sagas in a group of processes (SQLite, leases)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('fires each due timer on exactly one member, once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-saga-group-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'events.db');
    const clock = new ManualClock(T0);
    const member = async (owner: string) => {
      const store = SqliteEventStore.open(file, { pollIntervalMs: 10 });
      const shop = createShopDispatcher(store);
      // Payments are taken and never answered: every order waits for its timeout.
      const dispatcher: CommandDispatcher = {
        dispatch: (c) =>
          c.type === 'payment.authorise'
            ? Promise.resolve({ status: 'accepted' })
            : shop.dispatch(c),
      };
      const runtime = new SagaRuntime({
        storage: await sqliteSubscriptionStorage(store),
        sagaStore: await sqliteSagaStore(store),
        sagas: [createFulfilmentSaga({ paymentTimeoutMs: 10_000 })],
        dispatcher,
        clock,
        owner,
        lease: { ttlMs: 60_000, retryIntervalMs: 20 },
      });
      cleanup.push(async () => {
        await runtime.stop();
        await store.close();
      });
      return { store, runtime, shop };
    };
    const a = await member('member-a');
    await a.runtime.start();
    const b = await member('member-b');
    await b.runtime.start();
    expect(b.runtime.subscriptionList[0]?.status.state).toBe('waiting-for-lease');

    await a.shop.dispatch({
      id: newId(),
      type: 'inventory.restock',
      data: { sku: 'tea', quantity: 100 },
      metadata: {},
    });
    for (let i = 0; i < 6; i++) {
      await a.shop.dispatch({
        id: newId(),
        type: 'order.place',
        data: {
          orderId: `o${i}`,
          customerId: 'c',
          lines: [{ sku: 'tea', quantity: 1, unitPrice: 100 }],
        },
        metadata: {},
      });
    }
    await a.runtime.runUntilIdle();
    const waiting = await a.runtime.listInstances({ status: 'running' });
    expect(waiting).toHaveLength(6);
    expect(waiting.every((v) => v.timers.length === 1)).toBe(true);

    clock.advance(10_000);
    const fired = await Promise.all([
      a.runtime.fireDueTimers(),
      b.runtime.fireDueTimers(),
      a.runtime.fireDueTimers(),
      b.runtime.fireDueTimers(),
    ]);
    expect(fired.reduce((x, y) => x + y, 0)).toBe(6);
    const byA = (fired[0] ?? 0) + (fired[2] ?? 0);
    const byB = (fired[1] ?? 0) + (fired[3] ?? 0);
    expect(byA === 0 || byB === 0).toBe(true);
    for (let i = 0; i < 6; i++) {
      const view = await a.runtime.getInstance(FULFILMENT_SAGA, `o${i}`);
      expect(
        view?.history.filter((h) => h.kind === 'timer-fired' && h.type === PAYMENT_TIMED_OUT),
      ).toHaveLength(1);
      expect(view?.status).toMatch(/^compensat(ing|ed)$/);
    }
  });
});
