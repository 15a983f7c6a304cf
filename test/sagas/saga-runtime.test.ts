import { afterEach, describe, expect, it, vi } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { trace } from '@opentelemetry/api';
import {
  InvalidArgumentError,
  MemorySagaStore,
  SagaRuntime,
  SagaRuntimeStateError,
  collect,
  defineChoreography,
  newId,
  type CommandDispatcher,
  type CommandEnvelope,
  type CommandReply,
  type EventStore,
} from '@causewayjs/core';
import { FULFILMENT_SAGA, PAYMENT_TIMED_OUT } from '../../examples/shop/fulfilment-saga.js';
import { memoryShop, stockAndPlace } from './shop-fixture.js';

const tea = [{ sku: 'tea', quantity: 2, unitPrice: 450 }];

/** A dispatcher that answers some command types itself and hands the rest on. */
function intercepting(
  inner: CommandDispatcher,
  answer: (command: CommandEnvelope) => Promise<CommandReply> | undefined,
): CommandDispatcher & { calls: CommandEnvelope[] } {
  const calls: CommandEnvelope[] = [];
  return {
    calls,
    dispatch(command) {
      calls.push(command);
      return answer(command) ?? inner.dispatch(command);
    },
  };
}

async function typesIn(store: EventStore, stream?: string): Promise<string[]> {
  const events = await collect(stream ? store.readStream(stream) : store.readAll());
  return events.map((e) => e.type);
}

describe('saga runtime', () => {
  let shop: ReturnType<typeof memoryShop> | undefined;
  afterEach(async () => {
    await shop?.runtime.stop();
    await shop?.store.close();
    shop = undefined;
  });

  it('keeps commands pending when recording their outcome fails, and sends them again once', async () => {
    const sagaStore = new MemorySagaStore();
    let failures = 0;
    // The first record of dispatch outcomes fails inside its transaction, as a PostgreSQL
    // deadlock would.
    const failingOnce = new Proxy(sagaStore, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key !== 'settleCommand' || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (args[2] !== undefined && failures === 0) {
            failures += 1;
            return Promise.reject(new Error('deadlock detected'));
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    shop = memoryShop({ runtime: { sagaStore: failingOnce } });
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 });
    await shop.runtime.runUntilIdle();
    expect(failures).toBe(1);
    expect((await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1'))?.status).toBe('completed');
    // The command sent twice was applied once.
    expect(await typesIn(shop.store, 'inventory-tea')).toEqual([
      'stock.restocked',
      'stock.reserved',
      'stock.committed',
    ]);
    expect(shop.runtime.status.stats.dispatchFailures).toBeGreaterThanOrEqual(1);
  });

  it('holds a step wake-up while a command is out (stepLingerMs), and lets it go once none is', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let out = false;
    shop = memoryShop({
      runtime: { stepLingerMs: 60_000 },
      wrap: (inner) =>
        intercepting(inner, (command) => {
          if (command.type !== 'payment.authorise' || out) return undefined;
          out = true;
          return gate.then(() => inner.dispatch(command));
        }),
    });
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 });
    await vi.waitFor(() => expect(out).toBe(true));
    // Placed while o1's authorisation is out: the saga's wake-up for it is held.
    await stockAndPlace(shop.store, 'o2', tea, {});
    expect(await shop.runtime.getInstance(FULFILMENT_SAGA, 'o2')).toBeUndefined();
    release();
    // Nothing out any more: it goes at once, long before the 60 s linger ends.
    const runtime = shop.runtime;
    await vi.waitFor(
      async () => expect(await runtime.getInstance(FULFILMENT_SAGA, 'o2')).toBeDefined(),
      { timeout: 900 },
    );
    await runtime.runUntilIdle();
    for (const id of ['o1', 'o2'])
      expect((await runtime.getInstance(FULFILMENT_SAGA, id))?.status).toBe('completed');
  });

  it('refuses a stepLingerMs that is not an integer from 0 to 60000', () => {
    for (const stepLingerMs of [-1, 1.5, 60_001, Number.NaN])
      expect(() => memoryShop({ runtime: { stepLingerMs } })).toThrow(InvalidArgumentError);
    expect(() => memoryShop({ runtime: { stepLingerMs: 0 } })).not.toThrow();
  });

  it('runs compensations in reverse order and ends compensated when the payment is declined', async () => {
    shop = memoryShop();
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 }, 'declined-card');
    await shop.runtime.runUntilIdle();
    const view = await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1');
    expect(view?.status).toBe('compensated');
    expect(await typesIn(shop.store, 'inventory-tea')).toEqual([
      'stock.restocked',
      'stock.reserved',
      'stock.released',
    ]);
    expect(await typesIn(shop.store, 'order-o1')).toEqual(['order.placed', 'order.cancelled']);
    const kinds = view?.history.map((h) => `${h.kind}:${h.type}`);
    // Started, then ended compensated. The order.cancelled its own compensation appends is
    // recorded (ignored: the instance no longer runs) before or after the end, whichever of
    // the saga's step and the outbox's settle commits first.
    expect(kinds?.filter((k) => k.startsWith('compensation:compensation.'))).toEqual([
      'compensation:compensation.started',
      'compensation:compensation.compensated',
    ]);
    expect(kinds?.at(-1)).toMatch(
      /^(compensation:compensation\.compensated|received:order\.cancelled)$/,
    );
    // The stock is back: a second order of all five units goes through.
    await stockAndPlace(shop.store, 'o2', [{ sku: 'tea', quantity: 5, unitPrice: 450 }], {});
    await shop.runtime.runUntilIdle();
    expect((await shop.runtime.getInstance(FULFILMENT_SAGA, 'o2'))?.status).toBe('completed');
  });

  it('compensates a shortage: releases what was reserved and cancels the order', async () => {
    shop = memoryShop();
    await shop.runtime.start();
    await stockAndPlace(
      shop.store,
      'o1',
      [
        { sku: 'tea', quantity: 1, unitPrice: 450 },
        { sku: 'cup', quantity: 3, unitPrice: 900 },
      ],
      { tea: 5, cup: 1 },
    );
    await shop.runtime.runUntilIdle();
    expect((await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1'))?.status).toBe('compensated');
    expect(await typesIn(shop.store, 'inventory-tea')).toEqual([
      'stock.restocked',
      'stock.reserved',
      'stock.released',
    ]);
    expect(await typesIn(shop.store, 'inventory-cup')).toEqual([
      'stock.restocked',
      'stock.shortage',
    ]);
    expect(await typesIn(shop.store, 'payment-o1')).toEqual([]);
    const commands = await shop.sagaStore.listCommands({ instanceId: 'o1' });
    expect(
      commands
        .filter((c) => c.compensation)
        .map((c) => `${c.command.type}:${(c.command.data as { sku?: string }).sku ?? ''}`),
    ).toEqual(['inventory.release:cup', 'inventory.release:tea', 'order.cancel:']);
  });

  it('times out a payment that does not answer, fires after the clock passes, and refuses the late answer', async () => {
    // The payment service takes the request and never answers (no event).
    let dispatcher: ReturnType<typeof intercepting> | undefined;
    shop = memoryShop({
      paymentTimeoutMs: 30_000,
      wrap: (inner) =>
        (dispatcher = intercepting(inner, (c) =>
          c.type === 'payment.authorise' ? Promise.resolve({ status: 'accepted' }) : undefined,
        )),
    });
    const real = shop.dispatcher;
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 });
    await shop.runtime.runUntilIdle();
    let view = await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1');
    expect(view?.step).toBe('authorising-payment');
    expect(view?.timers.map((t) => t.type)).toEqual([PAYMENT_TIMED_OUT]);
    expect(view?.timers[0]?.dueAt).toBe(new Date(shop.clock.now() + 30_000).toISOString());
    // Not due yet.
    shop.clock.advance(29_999);
    expect(await shop.runtime.fireDueTimers()).toBe(0);
    shop.clock.advance(1);
    expect(await shop.runtime.fireDueTimers()).toBe(1);
    expect(await shop.runtime.fireDueTimers()).toBe(0);
    await shop.runtime.runUntilIdle();
    view = await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1');
    expect(view?.status).toBe('compensated');
    expect(view?.timers).toEqual([]);
    expect(
      view?.history.some((h) => h.kind === 'timer-fired' && h.type === PAYMENT_TIMED_OUT),
    ).toBe(true);
    expect(await typesIn(shop.store, 'payment-o1')).toEqual(['payment.voided']);
    // The late authorisation is refused: the customer is not charged.
    const authorise = dispatcher?.calls.find((c) => c.type === 'payment.authorise');
    expect(authorise).toBeDefined();
    const late = await real.dispatch(authorise as CommandEnvelope);
    expect(late.status).toBe('rejected');
  });

  it('cancels the timeout once the payment answers; it never fires', async () => {
    shop = memoryShop();
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 });
    await shop.runtime.runUntilIdle();
    const view = await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1');
    expect(view?.status).toBe('completed');
    expect(view?.history.filter((h) => h.kind === 'timer-cancelled').map((h) => h.type)).toEqual([
      PAYMENT_TIMED_OUT,
    ]);
    shop.clock.advance(3_600_000);
    expect(await shop.runtime.fireDueTimers()).toBe(0);
  });

  it('records a timer firing for an instance that has ended as ignored', async () => {
    shop = memoryShop();
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 });
    await shop.runtime.runUntilIdle();
    await shop.store.transaction((tx) =>
      shop!.sagaStore.addTimer(
        {
          id: newId(),
          saga: FULFILMENT_SAGA,
          instanceId: 'o1',
          type: PAYMENT_TIMED_OUT,
          dueAt: shop!.clock.now(),
          data: null,
        },
        tx,
      ),
    );
    expect(await shop.runtime.fireDueTimers()).toBe(1);
    const view = await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1');
    expect(view?.status).toBe('completed');
    expect(view?.history.at(-1)).toMatchObject({
      kind: 'timer-fired',
      type: PAYMENT_TIMED_OUT,
      detail: { outcome: 'ignored', reason: 'the instance is completed' },
    });
    expect(shop.runtime.status.stats.ignored).toBe(1);
  });

  it('ends failed, with the compensation parked and visible, when a compensation keeps failing', async () => {
    let dispatcher!: ReturnType<typeof intercepting>;
    shop = memoryShop({
      wrap: (inner) =>
        (dispatcher = intercepting(inner, (c) =>
          c.type === 'order.cancel' ? Promise.reject(new Error('order service down')) : undefined,
        )),
      runtime: { outbox: { maxAttempts: 3, backoff: { baseDelayMs: 0 } } },
    });
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 }, 'declined-card');
    await shop.runtime.runUntilIdle();
    const view = await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1');
    expect(view?.status).toBe('failed');
    expect(view?.history.at(-1)?.type).toBe('compensation.failed');
    expect(view?.history.some((h) => h.kind === 'error' && h.type === 'order.cancel')).toBe(true);
    const [parked] = await shop.sagaStore.listCommands({ status: 'parked' });
    expect(parked).toMatchObject({
      attempts: 3,
      compensation: true,
      command: { type: 'order.cancel' },
    });
    expect(parked?.lastError).toMatch(/order service down/);
    expect(dispatcher.calls.filter((c) => c.type === 'order.cancel')).toHaveLength(3);
    // The other compensation still ran.
    expect(await typesIn(shop.store, 'inventory-tea')).toContain('stock.released');
    expect(shop.runtime.status.stats.commandsParked).toBe(1);
  });

  it('compensates everything done so far when a forward command is rejected', async () => {
    shop = memoryShop({
      wrap: (inner) =>
        intercepting(inner, (c) =>
          c.type === 'shipping.create-shipment'
            ? Promise.resolve({
                status: 'rejected',
                code: 'NO_COURIER',
                message: 'no courier today',
              })
            : undefined,
        ),
    });
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 });
    await shop.runtime.runUntilIdle();
    const view = await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1');
    expect(view?.status).toBe('compensated');
    expect(view?.history.find((h) => h.kind === 'error')).toMatchObject({
      type: 'shipping.create-shipment',
      detail: { outcome: 'rejected', code: 'NO_COURIER' },
    });
    expect(await typesIn(shop.store, 'payment-o1')).toEqual([
      'payment.authorised',
      'payment.voided',
    ]);
    expect(await typesIn(shop.store, 'order-o1')).toEqual([
      'order.placed',
      'order.confirmed',
      'order.cancelled',
    ]);
    const [rejected] = await shop.sagaStore.listCommands({ status: 'rejected' });
    expect(rejected?.command.type).toBe('shipping.create-shipment');
  });

  it('retries a command whose dispatch fails, with the same id, and applies it once', async () => {
    let failures = 2;
    let dispatcher!: ReturnType<typeof intercepting>;
    shop = memoryShop({
      wrap: (inner) =>
        (dispatcher = intercepting(inner, (c) => {
          if (c.type === 'inventory.reserve' && failures > 0) {
            failures -= 1;
            return Promise.reject(new Error('broker down'));
          }
          return undefined;
        })),
      runtime: { outbox: { backoff: { baseDelayMs: 0 } } },
    });
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 });
    await shop.runtime.runUntilIdle();
    expect((await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1'))?.status).toBe('completed');
    const reserves = dispatcher.calls.filter((c) => c.type === 'inventory.reserve');
    expect(reserves).toHaveLength(3);
    expect(new Set(reserves.map((c) => c.id)).size).toBe(1);
    expect(shop.runtime.status.stats.dispatchFailures).toBe(2);
  });

  it('passes over events for unknown instances (counted), or parks them when asked', async () => {
    shop = memoryShop();
    await shop.runtime.start();
    await shop.store.append('inventory-tea', [
      { type: 'stock.reserved', data: { sku: 'tea', quantity: 1, orderId: 'ghost' } },
    ]);
    await shop.runtime.runUntilIdle();
    expect(await shop.runtime.getInstance(FULFILMENT_SAGA, 'ghost')).toBeUndefined();
    expect(shop.runtime.status.stats.unmatched).toBe(1);
    await shop.runtime.stop();

    const { createFulfilmentSaga } = await import('../../examples/shop/fulfilment-saga.js');
    const parking = memoryShop({
      runtime: { sagas: [{ ...createFulfilmentSaga(), unknownInstance: 'park' }] },
    });
    await parking.runtime.start();
    try {
      await parking.store.append('payment-ghost', [
        { type: 'payment.authorised', data: { orderId: 'ghost', amount: 1 } },
      ]);
      await parking.runtime.runUntilIdle();
      const [subscription] = parking.runtime.subscriptionList;
      const parked = await subscription!.listParked();
      expect(parked.map((p) => [p.type, p.reason])).toEqual([['payment.authorised', 'requested']]);
      expect(parked[0]?.error.message).toMatch(/no instance "ghost"/);
    } finally {
      await parking.runtime.stop();
      await parking.store.close();
    }
  });

  it('replaying the whole log sends nothing twice: every redelivery is recorded as a duplicate', async () => {
    shop = memoryShop();
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 });
    await shop.runtime.runUntilIdle();
    const before = await shop.sagaStore.listCommands({ limit: 1000 });
    const events = (await collect(shop.store.readAll())).length;
    await shop.runtime.stop();
    await shop.storage.checkpoints.delete(`saga:${FULFILMENT_SAGA}`);
    shop = { ...shop, runtime: new SagaRuntime(shop.runtimeOptions) };
    await shop.runtime.start();
    await shop.runtime.runUntilIdle();
    expect(await shop.sagaStore.listCommands({ limit: 1000 })).toEqual(before);
    expect((await collect(shop.store.readAll())).length).toBe(events);
    const view = await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1');
    const duplicates = view?.history.filter(
      (h) => (h.detail as { outcome?: string } | undefined)?.outcome === 'duplicate',
    );
    // order.placed, stock.reserved, payment.authorised, shipment.created, order.completed.
    expect(duplicates?.map((h) => h.type)).toEqual([
      'order.placed',
      'stock.reserved',
      'payment.authorised',
      'shipment.created',
      'order.completed',
    ]);
  });

  it('runs choreography handlers: commands recorded with the checkpoint, sent once', async () => {
    const restock = defineChoreography({
      name: 'restock-on-shortage',
      handles: ['stock.shortage'],
      react: (event) => {
        const { sku, requested } = event.data as { sku: string; requested: number };
        return [{ type: 'inventory.restock', data: { sku, quantity: requested } }];
      },
    });
    shop = memoryShop({ runtime: { choreography: [restock] } });
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', [{ sku: 'cup', quantity: 4, unitPrice: 100 }], {});
    await shop.runtime.runUntilIdle();
    expect(await typesIn(shop.store, 'inventory-cup')).toEqual([
      'stock.shortage',
      'stock.restocked',
    ]);
    const [sent] = await shop.sagaStore.listCommands({ source: 'restock-on-shortage' });
    expect(sent).toMatchObject({
      status: 'sent',
      instanceId: null,
      command: { type: 'inventory.restock' },
    });
    expect(sent?.command.metadata).toMatchObject({ choreography: 'restock-on-shortage' });
    // Replayed, the handler records the same command id: nothing is sent again.
    await shop.runtime.stop();
    await shop.storage.checkpoints.delete('choreography:restock-on-shortage');
    shop = { ...shop, runtime: new SagaRuntime(shop.runtimeOptions) };
    await shop.runtime.start();
    await shop.runtime.runUntilIdle();
    expect(await typesIn(shop.store, 'inventory-cup')).toEqual([
      'stock.shortage',
      'stock.restocked',
    ]);
    expect(await shop.sagaStore.listCommands({ source: 'restock-on-shortage' })).toHaveLength(1);
  });

  it('a command recorded but never dispatched before a stop is dispatched after the restart, once', async () => {
    shop = memoryShop({
      wrap: (inner) => intercepting(inner, () => Promise.reject(new Error('not yet'))),
      runtime: {
        outbox: { backoff: { baseDelayMs: 60_000, maxDelayMs: 60_000, random: () => 1 } },
      },
    });
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 });
    await shop.runtime.runUntilIdle();
    const [pending] = await shop.sagaStore.pendingCommands(10);
    expect(pending).toMatchObject({ attempts: 1, command: { type: 'inventory.reserve' } });
    await shop.runtime.stop();
    shop.clock.advance(60_000);
    // The restarted process reaches the handlers.
    shop = {
      ...shop,
      runtime: new SagaRuntime({ ...shop.runtimeOptions, dispatcher: shop.dispatcher }),
    };
    await shop.runtime.start();
    await shop.runtime.runUntilIdle();
    expect((await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1'))?.status).toBe('completed');
    expect(await typesIn(shop.store, 'inventory-tea')).toEqual([
      'stock.restocked',
      'stock.reserved',
      'stock.committed',
    ]);
  });

  it('refuses to start twice, and runUntilIdle before start', async () => {
    shop = memoryShop();
    await expect(shop.runtime.runUntilIdle()).rejects.toBeInstanceOf(SagaRuntimeStateError);
    await shop.runtime.start();
    await expect(shop.runtime.start()).rejects.toBeInstanceOf(SagaRuntimeStateError);
  });
});

describe('saga spans', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

  it('runs each step in a causeway.saga.step span continuing the event trace, and passes the trace on in commands', async () => {
    provider.register();
    const shop = memoryShop();
    try {
      await shop.runtime.start();
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const traceparent = `00-${traceId}-b7ad6b7169203331-01`;
      await shop.store.append('order-t1', [
        {
          type: 'order.placed',
          data: { customerId: 'c', lines: [{ line: 1, sku: 'tea', quantity: 1, unitPrice: 1 }] },
          metadata: { traceparent },
        },
      ]);
      await shop.runtime.runUntilIdle();
      const step = exporter
        .getFinishedSpans()
        .find(
          (s) =>
            s.name === 'causeway.saga.step' &&
            s.attributes['causeway.event.type'] === 'order.placed',
        );
      expect(step?.spanContext().traceId).toBe(traceId);
      const [reserve] = await shop.sagaStore.listCommands({ instanceId: 't1' });
      expect(String(reserve?.command.metadata.traceparent)).toContain(traceId);
      expect(String(reserve?.command.metadata.traceparent)).toContain(step?.spanContext().spanId);
    } finally {
      await shop.runtime.stop();
      await shop.store.close();
      await provider.shutdown();
      trace.disable();
    }
  });
});
