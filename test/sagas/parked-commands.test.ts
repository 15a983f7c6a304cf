import { afterEach, describe, expect, it } from 'vitest';
import {
  ParkedCommandNotFoundError,
  ParkedCommandNotRetryableError,
  type CommandDispatcher,
  type CommandEnvelope,
} from '@causewayjs/core';
import { FULFILMENT_SAGA } from '../../examples/shop/fulfilment-saga.js';
import { memoryShop, stockAndPlace } from './shop-fixture.js';

const tea = [{ sku: 'tea', quantity: 1, unitPrice: 450 }];

/** A shop whose dispatcher fails the command types in `down` (as if their service were down). */
function shopWithOutage(down: Set<string>) {
  const calls: CommandEnvelope[] = [];
  const shop = memoryShop({
    wrap: (inner): CommandDispatcher => ({
      dispatch(c) {
        calls.push(c);
        if (down.has(c.type)) return Promise.reject(new Error(`${c.type} service down`));
        return inner.dispatch(c);
      },
    }),
    runtime: { outbox: { maxAttempts: 2, backoff: { baseDelayMs: 0 } } },
  });
  return { shop, calls };
}

describe('parked saga commands', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a skipped compensation lets a failed instance end compensated; it is never sent again', async () => {
    const { shop, calls } = shopWithOutage(new Set(['order.cancel']));
    cleanups.push(
      () => shop.store.close(),
      () => shop.runtime.stop(),
    );
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 }, 'declined-card');
    await shop.runtime.runUntilIdle();
    expect((await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1'))?.status).toBe('failed');
    const [parked] = await shop.runtime.parkedCommands.listParked();
    const id = parked?.command.id ?? '';
    const tries = calls.filter((c) => c.id === id).length;

    const result = await shop.runtime.parkedCommands.skip(id, { reason: 'cancelled by phone' });
    expect(result).toEqual({
      commandId: id,
      status: 'skipped',
      instance: { saga: FULFILMENT_SAGA, id: 'o1', status: 'compensated' },
    });
    await shop.runtime.runUntilIdle();
    const view = await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1');
    expect(view?.status).toBe('compensated');
    expect(view?.history.slice(-2)).toMatchObject([
      {
        kind: 'compensation',
        type: 'order.cancel',
        id,
        detail: { outcome: 'skipped', compensation: true, reason: 'cancelled by phone' },
      },
      { kind: 'compensation', type: 'compensation.compensated' },
    ]);
    expect(calls.filter((c) => c.id === id)).toHaveLength(tries);
    expect(await shop.runtime.parkedCommands.listParked()).toEqual([]);
    await expect(shop.runtime.parkedCommands.skip(id)).rejects.toBeInstanceOf(
      ParkedCommandNotFoundError,
    );
  });

  it('a retried compensation that is parked again leaves the instance failed again', async () => {
    const { shop, calls } = shopWithOutage(new Set(['order.cancel']));
    cleanups.push(
      () => shop.store.close(),
      () => shop.runtime.stop(),
    );
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 }, 'declined-card');
    await shop.runtime.runUntilIdle();
    const [parked] = await shop.runtime.parkedCommands.listParked();
    const id = parked?.command.id ?? '';
    const result = await shop.runtime.parkedCommands.retry(id);
    expect(result.instance?.status).toBe('compensating');
    await shop.runtime.runUntilIdle();
    expect((await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1'))?.status).toBe('failed');
    const [again] = await shop.runtime.parkedCommands.listParked();
    // Parked again after a fresh count of attempts, under the same id.
    expect(again).toMatchObject({ command: { id }, attempts: 2 });
    expect(calls.filter((c) => c.id === id)).toHaveLength(4);
  });

  it('refuses to retry a forward command of an instance that no longer runs; it may be skipped', async () => {
    const { shop } = shopWithOutage(new Set(['payment.authorise']));
    cleanups.push(
      () => shop.store.close(),
      () => shop.runtime.stop(),
    );
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 });
    await shop.runtime.runUntilIdle();
    const before = await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1');
    expect(before?.status).toBe('compensated');
    const [parked] = await shop.runtime.parkedCommands.listParked();
    expect(parked).toMatchObject({ compensation: false, command: { type: 'payment.authorise' } });
    const id = parked?.command.id ?? '';
    await expect(shop.runtime.parkedCommands.retry(id)).rejects.toBeInstanceOf(
      ParkedCommandNotRetryableError,
    );
    expect(await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1')).toEqual(before);
    const skipped = await shop.runtime.parkedCommands.skip(id);
    expect(skipped.instance?.status).toBe('compensated');
    const view = await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1');
    expect(view?.history.at(-1)).toMatchObject({
      kind: 'error',
      type: 'payment.authorise',
      detail: { outcome: 'skipped' },
    });
    expect(await shop.runtime.parkedCommands.listParked()).toEqual([]);
  });
});
