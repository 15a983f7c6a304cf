import { afterEach, describe, expect, it } from 'vitest';
import { CausewayMetrics } from '@causewayjs/core/internals';
import type { CommandDispatcher } from '@causewayjs/core';
import { FULFILMENT_SAGA } from '../../examples/shop/fulfilment-saga.js';
import { memoryShop, stockAndPlace } from '../sagas/shop-fixture.js';
import { startServer, type Running } from './support.js';

describe('saga command administration over HTTP', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('lists, retries and skips parked saga commands, and the metrics follow', async () => {
    const down = new Set(['order.cancel']);
    const shop = memoryShop({
      wrap: (inner): CommandDispatcher => ({
        dispatch: (c) =>
          down.has(c.type) ? Promise.reject(new Error('service down')) : inner.dispatch(c),
      }),
      runtime: { outbox: { maxAttempts: 2, backoff: { baseDelayMs: 0 } } },
    });
    cleanups.push(
      () => shop.store.close(),
      () => shop.runtime.stop(),
    );
    await shop.runtime.start();
    const tea = [{ sku: 'tea', quantity: 1, unitPrice: 450 }];
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 }, 'declined-card');
    await stockAndPlace(shop.store, 'o2', tea, {}, 'declined-card');
    await shop.runtime.runUntilIdle();

    const metrics = new CausewayMetrics({ processMetrics: false }).trackSagaRuntime(shop.runtime);
    const running: Running = await startServer({
      store: shop.store,
      sagas: shop.runtime,
      sagaCommands: shop.runtime.parkedCommands,
      metrics,
      adminUi: false,
    });
    cleanups.push(() => running.close());
    const { http } = running;

    const list = await http.get('/saga-commands/parked');
    expect(list.status).toBe(200);
    const commands = (list.body as unknown as { commands: Record<string, unknown>[] }).commands;
    expect(commands.map((c) => [c.instanceId, (c.command as { type: string }).type])).toEqual([
      ['o1', 'order.cancel'],
      ['o2', 'order.cancel'],
    ]);
    expect(typeof commands[0]?.createdAt).toBe('string');
    const byInstance = await http.get('/saga-commands/parked?instance=o2&limit=1');
    const page = byInstance.body as unknown as { commands: { seq: number }[]; next: number };
    expect(page.commands).toHaveLength(1);
    expect(page.next).toBe(page.commands[0]?.seq);
    const [first, second] = commands.map((c) => (c.command as { id: string }).id);
    const metricsText = async () => (await http.get('/metrics')).text;
    expect(await metricsText()).toMatch(/^causeway_saga_outbox_commands\{status="parked"\} 2$/m);

    down.clear();
    const retried = await http.post(`/saga-commands/${first}/retry`, { reason: 'service back' });
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual({
      commandId: first,
      status: 'pending',
      instance: { saga: FULFILMENT_SAGA, id: 'o1', status: 'compensating' },
    });
    await shop.runtime.runUntilIdle();
    expect((await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1'))?.status).toBe('compensated');

    const skipped = await http.post(`/saga-commands/${second}/skip`, {});
    expect(skipped.status).toBe(200);
    expect(skipped.body).toMatchObject({ status: 'skipped', instance: { status: 'compensated' } });
    const text = await metricsText();
    expect(text).toMatch(/^causeway_saga_outbox_commands\{status="parked"\} 0$/m);
    expect(text).toMatch(/^causeway_saga_commands_total\{outcome="requeued"\} 1$/m);

    // Bad paths: gone, malformed, and a server without the capability.
    const again = await http.post(`/saga-commands/${second}/skip`, {});
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('PARKED_COMMAND_NOT_FOUND');
    const tooLong = await http.post(`/saga-commands/${first}/retry`, { reason: 'x'.repeat(1001) });
    expect(tooLong.status).toBe(400);
    const plain = await http.request('POST', `/saga-commands/${first}/retry`, {
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(plain.status).toBe(415);
    const bare = await startServer({ store: shop.store, adminUi: false });
    cleanups.push(() => bare.close());
    const notConfigured = await bare.http.get('/saga-commands/parked');
    expect(notConfigured.status).toBe(404);
    expect(notConfigured.body.code).toBe('NOT_CONFIGURED');
  });

  it('answers 409 to a retry of a forward command whose instance has ended', async () => {
    const shop = memoryShop({
      wrap: (inner): CommandDispatcher => ({
        dispatch: (c) =>
          c.type === 'payment.authorise'
            ? Promise.reject(new Error('payments down'))
            : inner.dispatch(c),
      }),
      runtime: { outbox: { maxAttempts: 1 } },
    });
    cleanups.push(
      () => shop.store.close(),
      () => shop.runtime.stop(),
    );
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', [{ sku: 'tea', quantity: 1, unitPrice: 1 }], { tea: 1 });
    await shop.runtime.runUntilIdle();
    const running = await startServer({
      store: shop.store,
      sagaCommands: shop.runtime.parkedCommands,
      adminUi: false,
    });
    cleanups.push(() => running.close());
    const [parked] = await shop.runtime.parkedCommands.listParked();
    const reply = await running.http.post(`/saga-commands/${parked?.command.id}/retry`, {});
    expect(reply.status).toBe(409);
    expect(reply.body.code).toBe('PARKED_COMMAND_NOT_RETRYABLE');
    expect(await shop.runtime.parkedCommands.listParked()).toHaveLength(1);
  });
});
