import { afterEach, describe, expect, it } from 'vitest';
import { collect } from '@causewayjs/core';
import { FULFILMENT_SAGA } from '../../examples/shop/fulfilment-saga.js';
import { memoryShop, stockAndPlace } from './shop-fixture.js';

describe('fulfilment saga on the memory store', () => {
  let shop: ReturnType<typeof memoryShop> | undefined;
  afterEach(async () => {
    await shop?.runtime.stop();
    await shop?.store.close();
    shop = undefined;
  });

  it('completes an order end to end', async () => {
    shop = memoryShop();
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', [{ sku: 'tea', quantity: 2, unitPrice: 450 }], {
      tea: 5,
    });
    await shop.runtime.runUntilIdle();
    const view = await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1');
    expect(view?.status).toBe('completed');
    const types = (await collect(shop.store.readAll())).map((e) => e.type);
    expect(types).toEqual([
      'stock.restocked',
      'order.placed',
      'stock.reserved',
      'payment.authorised',
      'order.confirmed',
      'shipment.created',
      'payment.captured',
      'stock.committed',
      'order.completed',
    ]);
    expect(view?.timers).toEqual([]);
  });
});
