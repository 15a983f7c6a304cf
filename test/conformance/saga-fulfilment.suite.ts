import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFulfilmentSaga, createShopDispatcher } from '../../examples/shop/fulfilment-saga.js';
import { ManualClock, SagaRuntime, newId, type CommandDispatcher } from '@causewayjs/core';
import type { SagaStoreHarness, SagaStoreParts } from '@causewayjs/testing';

const T0 = Date.parse('2026-01-01T00:00:00Z');

/**
 * The shop's fulfilment saga end to end on an adapter's own transactions: beside the public
 * saga store suite (`@causewayjs/testing`), which cannot depend on the shop example.
 */
export function describeFulfilmentSagaConformance(
  name: string,
  makeHarness: () => Promise<SagaStoreHarness>,
): void {
  describe(`fulfilment saga: ${name}`, () => {
    let harness: SagaStoreHarness;
    let parts: SagaStoreParts;
    const opened: SagaStoreParts[] = [];

    beforeEach(async () => {
      harness = await makeHarness();
      parts = await harness.open();
      opened.push(parts);
    });

    afterEach(async () => {
      for (const p of opened.splice(0)) if (!p.store.isClosed) await p.store.close();
      await harness.cleanup();
    });

    describe('the fulfilment saga on this adapter', () => {
      const place = async (orderId: string, method?: string) => {
        const dispatcher = createShopDispatcher(parts.store);
        await dispatcher.dispatch({
          id: newId(),
          type: 'inventory.restock',
          data: { sku: 'tea', quantity: 3 },
          metadata: {},
        });
        const reply = await dispatcher.dispatch({
          id: newId(),
          type: 'order.place',
          data: {
            orderId,
            customerId: 'c-1',
            lines: [{ sku: 'tea', quantity: 2, unitPrice: 450 }],
            ...(method ? { paymentMethod: method } : {}),
          },
          metadata: {},
        });
        expect(reply.status).toBe('accepted');
      };

      it('completes one order and compensates a declined one', async () => {
        const clock = new ManualClock(T0);
        const runtime = new SagaRuntime({
          storage: parts.storage,
          sagaStore: parts.sagaStore,
          sagas: [createFulfilmentSaga({ paymentTimeoutMs: 1000 })],
          dispatcher: createShopDispatcher(parts.store),
          clock,
          lease: false,
        });
        await runtime.start();
        try {
          await place('o1');
          await place('o2', 'declined-card');
          await runtime.runUntilIdle();
          expect((await runtime.getInstance('order-fulfilment', 'o1'))?.status).toBe('completed');
          const declined = await runtime.getInstance('order-fulfilment', 'o2');
          expect(declined?.status).toBe('compensated');
          expect(declined?.timers).toEqual([]);
          const commands = await parts.sagaStore.listCommands({ instanceId: 'o2' });
          expect(
            commands.filter((c) => c.compensation).map((c) => [c.command.type, c.status]),
          ).toEqual([
            ['inventory.release', 'sent'],
            ['order.cancel', 'sent'],
          ]);
          expect(await parts.sagaStore.pendingCommands(10)).toEqual([]);
        } finally {
          await runtime.stop();
        }
      });

      it('a compensation parked while its handler is down ends compensated once retried', async () => {
        const clock = new ManualClock(T0);
        const shop = createShopDispatcher(parts.store);
        let down = true;
        const sent: string[] = [];
        const dispatcher: CommandDispatcher = {
          dispatch(c) {
            if (c.type === 'order.cancel') {
              sent.push(c.id);
              if (down) return Promise.reject(new Error('order service down'));
            }
            return shop.dispatch(c);
          },
        };
        const runtime = new SagaRuntime({
          storage: parts.storage,
          sagaStore: parts.sagaStore,
          sagas: [createFulfilmentSaga({ paymentTimeoutMs: 1000 })],
          dispatcher,
          clock,
          lease: false,
          outbox: { maxAttempts: 2, backoff: { baseDelayMs: 0 } },
        });
        await runtime.start();
        try {
          await place('o3', 'declined-card');
          await runtime.runUntilIdle();
          expect((await runtime.getInstance('order-fulfilment', 'o3'))?.status).toBe('failed');
          const [parked, ...others] = await runtime.parkedCommands.listParked();
          expect(others).toEqual([]);
          expect(parked?.command.type).toBe('order.cancel');
          down = false;
          const result = await runtime.parkedCommands.retry(parked?.command.id ?? '');
          expect(result.instance?.status).toBe('compensating');
          await runtime.runUntilIdle();
          const view = await runtime.getInstance('order-fulfilment', 'o3');
          expect(view?.status).toBe('compensated');
          expect(view?.history.map((h) => h.type)).toContain('compensation.compensated');
          // Three tries of one command, all with its one id.
          expect(sent).toEqual([parked?.command.id, parked?.command.id, parked?.command.id]);
          expect(await runtime.parkedCommands.listParked()).toEqual([]);
          expect(runtime.status.stats.commandsRequeued).toBe(1);
        } finally {
          await runtime.stop();
        }
      });
    });
  });
}
