import { describe, expect, it } from 'vitest';
import { NatsCommandDispatcher, serveNatsCommands } from '@causewayjs/nats';
import { collect } from '@causewayjs/core';
import { FULFILMENT_SAGA } from '../../examples/shop/fulfilment-saga.js';
import { connectNats, natsAvailable, randomNatsName } from '../support/nats.js';
import { memoryShop, stockAndPlace } from './shop-fixture.js';

const available = await natsAvailable();

describe.skipIf(!available)('fulfilment saga with commands over NATS request/reply', () => {
  it('completes one order and compensates a declined one, the handlers in a responder', async () => {
    const nc = await connectNats();
    const prefix = randomNatsName('saga-commands');
    let shop: ReturnType<typeof memoryShop> | undefined;
    let responder: { stop(): Promise<void> } | undefined;
    try {
      shop = memoryShop({
        wrap: (inner) => {
          responder = serveNatsCommands({
            connection: nc,
            prefix,
            handle: (c) => inner.dispatch(c),
          });
          return new NatsCommandDispatcher({ connection: nc, prefix, timeoutMs: 5000 });
        },
      });
      await shop.runtime.start();
      await stockAndPlace(shop.store, 'o1', [{ sku: 'tea', quantity: 1, unitPrice: 450 }], {
        tea: 2,
      });
      await stockAndPlace(
        shop.store,
        'o2',
        [{ sku: 'tea', quantity: 1, unitPrice: 450 }],
        {},
        'declined-card',
      );
      await shop.runtime.runUntilIdle();
      expect((await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1'))?.status).toBe('completed');
      expect((await shop.runtime.getInstance(FULFILMENT_SAGA, 'o2'))?.status).toBe('compensated');
      const tea = (await collect(shop.store.readStream('inventory-tea'))).map((e) => e.type);
      expect(tea).toHaveLength(5);
      expect(tea.filter((t) => t === 'stock.reserved')).toHaveLength(2);
      expect(tea.filter((t) => t === 'stock.committed')).toHaveLength(1);
      expect(tea.filter((t) => t === 'stock.released')).toHaveLength(1);
      expect(shop.runtime.status.stats.commandsSent).toBeGreaterThan(8);
    } finally {
      await shop?.runtime.stop();
      await shop?.store.close();
      await responder?.stop();
      await nc.close();
    }
  });
});
