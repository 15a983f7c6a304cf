import { afterEach, describe, expect, it } from 'vitest';
import {
  BusUnavailableError,
  InProcessBus,
  OutboxRelay,
  type MessageBus,
  type PublishReceipt,
  type RecordedEvent,
  MemoryEventStore,
  memorySubscriptionStorage,
  newId,
  type CommandDispatcher,
  type SagaHistoryEntry,
} from '@causewayjs/core';
import { CausewayMetrics } from '@causewayjs/core/internals';
import {
  FULFILMENT_SAGA,
  FulfilmentStep,
  PAYMENT_TIMED_OUT,
} from '../../examples/shop/fulfilment-saga.js';
import { eventually } from '@causewayjs/testing';
import { memoryShop, stockAndPlace } from './shop-fixture.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One sample of the Prometheus text format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (the subset prom-client writes). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key as string] = value as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Reads metrics by name and labels from one scrape. */
async function scrape(metrics: CausewayMetrics) {
  const samples = parseMetrics(await metrics.registry.metrics());
  return (name: string, labels: Record<string, string> = {}): number | undefined =>
    samples.find(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    )?.value;
}

type Read = Awaited<ReturnType<typeof scrape>>;

const EVENT_OUTCOMES = ['started', 'unknown_instance', 'duplicate', 'out_of_order', 'after_end'];

const events = (read: Read) =>
  Object.fromEntries(
    EVENT_OUTCOMES.map((o) => [o, read('causeway_saga_events_total', { outcome: o })]),
  );

/** How many history entries of the instances record an ignored delivery, by reason. */
function ignoredIn(histories: SagaHistoryEntry[][], kind: SagaHistoryEntry['kind'], re: RegExp) {
  return histories.flat().filter((h) => {
    const detail = h.detail as { outcome?: string; reason?: string } | undefined;
    return h.kind === kind && detail?.outcome === 'ignored' && re.test(detail.reason ?? '');
  }).length;
}

describe('saga runtime metrics', () => {
  it('exposes event outcomes, timers, commands and the outbox backlog of a real run', async () => {
    let orderServiceDown = true;
    const shop = memoryShop({
      wrap: (inner): CommandDispatcher => ({
        dispatch(c) {
          if (c.type === 'order.cancel' && orderServiceDown)
            return Promise.reject(new Error('order service down'));
          // Order o3's payment never answers: it stays in step `authorising`.
          if (c.type === 'payment.authorise' && (c.data as { orderId: string }).orderId === 'o3')
            return Promise.resolve({ status: 'accepted', stream: 'payment-o3', revision: 0 });
          return inner.dispatch(c);
        },
      }),
      runtime: { outbox: { maxAttempts: 2, backoff: { baseDelayMs: 0 } } },
    });
    cleanups.push(() => shop.store.close());
    cleanups.push(() => shop.runtime.stop());
    const metrics = new CausewayMetrics({ processMetrics: false });
    // Before any runtime is tracked, the saga counters have no samples.
    expect((await scrape(metrics))('causeway_saga_events_total', { outcome: 'started' })).toBe(
      undefined,
    );
    metrics.trackSagaRuntime(shop.runtime);
    await shop.runtime.start();

    await stockAndPlace(shop.store, 'o1', [{ sku: 'tea', quantity: 1, unitPrice: 450 }], {
      tea: 5,
    });
    await stockAndPlace(
      shop.store,
      'o2',
      [{ sku: 'tea', quantity: 1, unitPrice: 450 }],
      {},
      'declined-card',
    );
    await stockAndPlace(shop.store, 'o3', [{ sku: 'tea', quantity: 1, unitPrice: 450 }], {});
    await shop.runtime.runUntilIdle();
    expect((await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1'))?.status).toBe('completed');
    expect((await shop.runtime.getInstance(FULFILMENT_SAGA, 'o2'))?.status).toBe('failed');
    expect((await shop.runtime.getInstance(FULFILMENT_SAGA, 'o3'))?.step).toBe(
      FulfilmentStep.authorising,
    );

    let read = await scrape(metrics);
    const histories = async () =>
      (await shop.runtime.listInstances()).map((instance) => instance.history);
    // What the metrics say is what the instances recorded.
    expect(read('causeway_saga_events_total', { outcome: 'started' })).toBe(
      (await shop.runtime.listInstances()).length,
    );
    expect(read('causeway_saga_events_total', { outcome: 'after_end' })).toBe(
      ignoredIn(await histories(), 'received', /^the instance is/),
    );
    expect(read('causeway_saga_events_total', { outcome: 'out_of_order' })).toBe(
      ignoredIn(await histories(), 'received', /^not expected/),
    );
    const [parked, ...moreParked] = await shop.sagaStore.listCommands({ status: 'parked' });
    expect(moreParked).toEqual([]);
    expect(parked?.command.type).toBe('order.cancel');
    expect(read('causeway_saga_commands_total', { outcome: 'parked' })).toBe(1);
    expect(read('causeway_saga_commands_total', { outcome: 'retried' })).toBe(parked?.attempts);
    expect(read('causeway_saga_commands_total', { outcome: 'sent' })).toBe(
      (await shop.sagaStore.listCommands({ status: 'sent', limit: 1000 })).length,
    );
    expect(read('causeway_saga_commands_total', { outcome: 'requeued' })).toBe(0);
    expect(read('causeway_saga_outbox_commands', { status: 'parked' })).toBe(1);
    expect(read('causeway_saga_outbox_commands', { status: 'pending' })).toBe(0);

    // One event of each kind the runtime passes over, each moving only its own counter.
    const provoke = async (append: () => Promise<unknown>, outcome: string) => {
      const before = events(await scrape(metrics));
      await append();
      await shop.runtime.runUntilIdle();
      const after = events(await scrape(metrics));
      expect(after).toEqual({ ...before, [outcome]: (before[outcome] ?? 0) + 1 });
    };
    const reserved = (orderId: string) => () =>
      shop.store.append('inventory-tea', [
        { type: 'stock.reserved', data: { sku: 'tea', quantity: 1, orderId } },
      ]);
    await provoke(reserved('ghost'), 'unknown_instance');
    await provoke(reserved('o1'), 'after_end');
    await provoke(reserved('o3'), 'out_of_order');

    // A timer firing for an instance that has ended.
    read = await scrape(metrics);
    const firedBefore = read('causeway_saga_timers_total', { outcome: 'fired' }) ?? 0;
    const endedBefore = read('causeway_saga_timers_total', { outcome: 'after_end' }) ?? 0;
    await shop.store.transaction((tx) =>
      shop.sagaStore.addTimer(
        {
          id: newId(),
          saga: FULFILMENT_SAGA,
          instanceId: 'o1',
          type: PAYMENT_TIMED_OUT,
          dueAt: shop.clock.now(),
          data: null,
        },
        tx,
      ),
    );
    expect(await shop.runtime.fireDueTimers()).toBe(1);
    read = await scrape(metrics);
    expect(read('causeway_saga_timers_total', { outcome: 'fired' })).toBe(firedBefore + 1);
    expect(read('causeway_saga_timers_total', { outcome: 'after_end' })).toBe(endedBefore + 1);

    // The operator requeues the parked command once the order service is back.
    orderServiceDown = false;
    const sentBefore = read('causeway_saga_commands_total', { outcome: 'sent' }) ?? 0;
    await shop.runtime.parkedCommands.retry(parked?.command.id ?? '');
    read = await scrape(metrics);
    expect(read('causeway_saga_commands_total', { outcome: 'requeued' })).toBe(1);
    expect(read('causeway_saga_outbox_commands', { status: 'parked' })).toBe(0);
    await shop.runtime.runUntilIdle();
    read = await scrape(metrics);
    expect(read('causeway_saga_commands_total', { outcome: 'sent' })).toBe(sentBefore + 1);
    expect(read('causeway_saga_outbox_commands', { status: 'pending' })).toBe(0);
    expect((await shop.runtime.getInstance(FULFILMENT_SAGA, 'o2'))?.status).toBe('compensated');
  });

  it('counts duplicate deliveries of a replayed log', async () => {
    const shop = memoryShop();
    cleanups.push(() => shop.store.close());
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', [{ sku: 'tea', quantity: 1, unitPrice: 450 }], {
      tea: 5,
    });
    await shop.runtime.runUntilIdle();
    const received = (await shop.runtime.getInstance(FULFILMENT_SAGA, 'o1'))?.history.filter(
      (h) => h.kind === 'received',
    ).length;
    await shop.runtime.stop();
    await shop.storage.checkpoints.delete(`saga:${FULFILMENT_SAGA}`);
    const { SagaRuntime } = await import('@causewayjs/core');
    const replay = new SagaRuntime(shop.runtimeOptions);
    cleanups.push(() => replay.stop());
    const metrics = new CausewayMetrics({ processMetrics: false }).trackSagaRuntime(replay);
    await replay.start();
    await replay.runUntilIdle();
    const read = await scrape(metrics);
    expect(received).toBeGreaterThan(0);
    expect(read('causeway_saga_events_total', { outcome: 'duplicate' })).toBe(received);
    expect(read('causeway_saga_events_total', { outcome: 'started' })).toBe(0);
    expect(read('causeway_saga_commands_total', { outcome: 'sent' })).toBe(0);
  });
});

/** A bus that refuses every publish while `down`, like a broker that is not there. */
class SwitchableBus implements MessageBus {
  down = false;
  constructor(readonly inner: InProcessBus) {}
  get prefix() {
    return this.inner.prefix;
  }
  async publish(event: RecordedEvent): Promise<PublishReceipt> {
    if (this.down) throw new BusUnavailableError('broker down (test)');
    return this.inner.publish(event);
  }
  subscribe(options: Parameters<MessageBus['subscribe']>[0]) {
    return this.inner.subscribe(options);
  }
  close() {
    return this.inner.close();
  }
}

describe('outbox relay metrics', () => {
  it('exposes published count, lag, position and state, up and waiting for the broker', async () => {
    const store = new MemoryEventStore();
    const bus = new SwitchableBus(new InProcessBus());
    cleanups.push(() => store.close());
    cleanups.push(() => bus.close());
    const relay = new OutboxRelay({
      name: 'shop-relay',
      storage: memorySubscriptionStorage(store),
      bus,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
    });
    cleanups.push(() => relay.stop());
    const metrics = new CausewayMetrics({ processMetrics: false }).trackRelay(relay);
    const append = (n: number) =>
      store.appendMany(
        Array.from({ length: n }, () => ({
          stream: `order-${newId()}`,
          events: [{ type: 'order.placed', data: {} }],
        })),
      );
    const relayLabel = { relay: 'shop-relay' };

    await append(5);
    let read = await scrape(metrics);
    expect(read('causeway_relay_up', relayLabel)).toBe(0);
    expect(read('causeway_relay_state', { ...relayLabel, state: 'stopped' })).toBe(1);
    expect(read('causeway_relay_lag_events', relayLabel)).toBe(5);

    await relay.start();
    await relay.waitForPosition(5);
    read = await scrape(metrics);
    expect(read('causeway_relay_published_total', relayLabel)).toBe(5);
    expect(read('causeway_relay_position', relayLabel)).toBe(5);
    expect(read('causeway_relay_lag_events', relayLabel)).toBe(0);
    expect(read('causeway_relay_up', relayLabel)).toBe(1);
    expect(read('causeway_relay_state', { ...relayLabel, state: 'running' })).toBe(1);
    expect(read('causeway_relay_state', { ...relayLabel, state: 'waiting-for-broker' })).toBe(0);

    bus.down = true;
    await append(3);
    await eventually(() => relay.status().failures >= 1, 'a failed publishing round');
    read = await scrape(metrics);
    expect(read('causeway_relay_up', relayLabel)).toBe(0);
    expect(read('causeway_relay_state', { ...relayLabel, state: 'waiting-for-broker' })).toBe(1);
    expect(read('causeway_relay_lag_events', relayLabel)).toBe(3);
    expect(read('causeway_relay_published_total', relayLabel)).toBe(5);
    expect(read('causeway_relay_failures_total', relayLabel)).toBeGreaterThanOrEqual(1);

    bus.down = false;
    await relay.waitForPosition(8);
    await eventually(() => relay.status().state === 'running', 'the relay running again');
    read = await scrape(metrics);
    expect(read('causeway_relay_published_total', relayLabel)).toBe(8);
    expect(read('causeway_relay_lag_events', relayLabel)).toBe(0);
    expect(read('causeway_relay_up', relayLabel)).toBe(1);
  });
});
