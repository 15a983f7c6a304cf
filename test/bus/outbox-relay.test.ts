import { afterEach, describe, expect, it } from 'vitest';
import {
  BusUnavailableError,
  InProcessBus,
  MessageTooLargeError,
  OutboxRelay,
  inboxHandler,
  type MessageBus,
  type OutboxRelayStatus,
  type PublishReceipt,
  ManualClock,
  type RecordedEvent,
  InvalidArgumentError,
  MemoryEventStore,
  SubscriptionLeasedError,
  memorySubscriptionStorage,
  nack,
} from '@causewayjs/core';
import type { LagSource } from '@causewayjs/core/internals';
import { eventually } from '@causewayjs/testing';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(bus: MessageBus = new InProcessBus({ prefix: 'shop' })) {
  const store = new MemoryEventStore();
  const storage = memorySubscriptionStorage(store);
  cleanups.push(() => store.close());
  cleanups.push(() => bus.close());
  return { store, storage, bus };
}

function relayOf(options: ConstructorParameters<typeof OutboxRelay>[0]) {
  const relay = new OutboxRelay({ retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...options });
  cleanups.push(() => relay.stop());
  return relay;
}

async function appendOrders(store: MemoryEventStore, count: number, from = 0) {
  for (let i = from; i < from + count; i++)
    await store.append(`order-${i}`, [{ type: 'order.placed', data: { n: i } }]);
}

/** Records what reaches a bus group. */
async function collector(bus: MessageBus, group = 'collector') {
  const seen: RecordedEvent[] = [];
  const member = await bus.subscribe({ group, handler: (e) => void seen.push(e) });
  cleanups.push(() => member.stop());
  return seen;
}

/** A bus that refuses every publish while `down`, like a broker that is not there. */
class SwitchableBus implements MessageBus {
  down = false;
  calls = 0;
  /** Publishes wait on this while set: to look at the relay between publish and ack. */
  gate: Promise<void> | undefined;
  constructor(readonly inner: InProcessBus) {}
  get prefix() {
    return this.inner.prefix;
  }
  async publish(event: RecordedEvent): Promise<PublishReceipt> {
    this.calls += 1;
    if (this.gate) await this.gate;
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

describe('OutboxRelay', () => {
  it('publishes every committed event in position order and reports progress', async () => {
    const { store, storage, bus } = setup();
    await appendOrders(store, 25);
    const seen = await collector(bus);
    const relay = relayOf({ storage, bus, batchSize: 7, maxInFlight: 3 });
    await relay.start();
    await relay.waitForPosition(25);
    await appendOrders(store, 5, 25);
    await relay.waitForPosition(30);
    await eventually(() => seen.length === 30, 'all 30 events on the bus');
    expect(seen.map((e) => e.position)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(relay.status()).toMatchObject({
      state: 'running',
      position: 30,
      head: 30,
      lag: 0,
      published: 30,
      duplicates: 0,
    });
    expect((await storage.checkpoints.load('outbox-relay'))?.position).toBe(30);
    expect(await relay.lag()).toBe(0);
  });

  it('saves its checkpoint only after the broker acknowledged', async () => {
    const inner = new InProcessBus();
    const bus = new SwitchableBus(inner);
    const { store, storage } = setup(bus);
    await appendOrders(store, 3);
    let open: () => void = () => undefined;
    bus.gate = new Promise((resolve) => (open = resolve));
    const relay = relayOf({ storage, bus });
    await relay.start();
    await eventually(() => bus.calls === 3, 'three publishes in flight');
    expect(await storage.checkpoints.load('outbox-relay')).toBeUndefined();
    expect(relay.status()).toMatchObject({ position: 0, lag: 3, published: 0 });
    bus.gate = undefined;
    open();
    await relay.waitForPosition(3);
    expect((await storage.checkpoints.load('outbox-relay'))?.position).toBe(3);
    expect(inner.size).toBe(3);
  });

  it('waits and retries while the broker is down, reporting its lag, and loses nothing', async () => {
    const inner = new InProcessBus();
    const bus = new SwitchableBus(inner);
    const { store, storage } = setup(bus);
    const seen = await collector(inner);
    await appendOrders(store, 10);
    bus.down = true;
    const statuses: OutboxRelayStatus[] = [];
    const relay = relayOf({ storage, bus, maxInFlight: 4 });
    relay.onStatus((s) => statuses.push(s));
    await relay.start();
    await eventually(() => relay.status().failures >= 3, 'three failed rounds');
    expect(relay.status()).toMatchObject({
      state: 'waiting-for-broker',
      position: 0,
      lag: 10,
      head: 10,
    });
    expect(relay.status().lastError).toBeInstanceOf(BusUnavailableError);
    expect(await relay.lag()).toBe(10);
    await appendOrders(store, 2, 10);
    bus.down = false;
    await relay.waitForPosition(12);
    await eventually(() => seen.length === 12, 'all 12 events');
    expect(seen.map((e) => e.position)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(relay.status()).toMatchObject({ state: 'running', lag: 0, lastError: undefined });
    expect(statuses.some((s) => s.state === 'waiting-for-broker')).toBe(true);
  });

  it('republishes from its checkpoint after a restart: the bus deduplicates, the inbox applies once', async () => {
    const { store, storage, bus } = setup();
    await appendOrders(store, 8);
    const first = relayOf({ storage, bus });
    await first.start();
    await first.waitForPosition(8);
    await first.stop();
    // A crash between the broker's ack and the checkpoint: the checkpoint is behind.
    await storage.checkpoints.save('outbox-relay', 3);
    const second = relayOf({ storage, bus });
    await second.start();
    await second.waitForPosition(8);
    expect(second.status()).toMatchObject({ published: 5, duplicates: 5 });
    expect((bus as InProcessBus).size).toBe(8);
  });

  it('with an inbox, a consumer applies each event once even when the bus delivers it twice', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    // A duplicate window of 1 ms that the clock jumps over: the bus will not deduplicate.
    const bus = new InProcessBus({ duplicateWindowMs: 1, clock });
    const { store, storage } = setup(bus);
    const consumerStore = new MemoryEventStore();
    const consumer = memorySubscriptionStorage(consumerStore);
    cleanups.push(() => consumerStore.close());
    const applied = new Map<string, number>();
    let deliveries = 0;
    let failOnce = true;
    const member = await bus.subscribe({
      group: 'billing',
      backoff: { baseDelayMs: 1, maxDelayMs: 2 },
      handler: inboxHandler(consumer, 'billing', async (event, { tx }) => {
        deliveries += 1;
        await tx.append(`invoice-${event.stream}`, [{ type: 'invoice.opened', data: {} }]);
        if (failOnce && event.position === 2) {
          failOnce = false;
          return nack.retry('rolled back, with its inbox record');
        }
        tx.onCommit(() => applied.set(event.id, (applied.get(event.id) ?? 0) + 1));
      }),
    });
    cleanups.push(() => member.stop());
    await appendOrders(store, 4);
    const relay = relayOf({ storage, bus });
    await relay.start();
    await relay.waitForPosition(4);
    await relay.stop();
    clock.advance(10);
    await storage.checkpoints.save('outbox-relay', 0);
    const again = relayOf({ storage, bus });
    await again.start();
    await again.waitForPosition(4);
    expect(again.status().duplicates).toBe(0);
    await eventually(() => member.status().handled === 8, 'eight deliveries acknowledged');
    expect([...applied.values()]).toEqual([1, 1, 1, 1]);
    expect(deliveries).toBe(5);
    // The retried event's first effects were rolled back: one invoice stream per order.
    const invoices = [];
    for await (const e of consumerStore.readAll()) invoices.push(e.stream);
    expect(invoices.sort()).toEqual([
      'invoice-order-0',
      'invoice-order-1',
      'invoice-order-2',
      'invoice-order-3',
    ]);
  });

  it('parks an event too large for the broker, moves on, and can retry or skip it', async () => {
    const bus = new InProcessBus({ maxPayloadBytes: 2000 });
    const { store, storage } = setup(bus);
    const seen = await collector(bus);
    await appendOrders(store, 2);
    await store.append('blob-1', [{ type: 'blob.stored', data: { text: 'x'.repeat(5000) } }]);
    await appendOrders(store, 2, 2);
    const relay = relayOf({ storage, bus });
    await relay.start();
    await relay.waitForPosition(5);
    await eventually(() => seen.length === 4, 'the four small events');
    expect(seen.map((e) => e.position)).toEqual([1, 2, 4, 5]);
    expect(relay.status().parked).toBe(1);
    const [parked] = await relay.listParked();
    expect(parked).toMatchObject({
      subscription: 'outbox-relay',
      position: 3,
      stream: 'blob-1',
      reason: 'failed',
      error: { name: 'MessageTooLargeError', code: 'MESSAGE_TOO_LARGE' },
    });
    expect(await relay.retryParked('all')).toEqual({ published: 0, failed: 1, missing: 0 });
    expect(await relay.parkedCount()).toBe(1);
    expect(await relay.skipParked([3])).toBe(1);
    expect(await relay.parkedCount()).toBe(0);
  });

  it('publishes a parked event once the broker takes it', async () => {
    const inner = new InProcessBus();
    let limit = 100;
    const bus = new SwitchableBus(inner);
    bus.publish = async (event) => {
      const size = JSON.stringify(event.data).length;
      if (size > limit) throw new MessageTooLargeError(event.id, size, limit);
      return inner.publish(event);
    };
    const { store, storage } = setup(bus);
    await store.append('blob-1', [{ type: 'blob.stored', data: { text: 'y'.repeat(500) } }]);
    const relay = relayOf({ storage, bus });
    await relay.start();
    await relay.waitForPosition(1);
    expect(await relay.parkedCount()).toBe(1);
    limit = 10_000;
    expect(await relay.retryParked('all')).toEqual({ published: 1, failed: 0, missing: 0 });
    expect(await relay.parkedCount()).toBe(0);
    expect(inner.size).toBe(1);
  });

  it('waits for a failing store like for the broker, then carries on', async () => {
    const { store, storage, bus } = setup();
    const seen = await collector(bus);
    await appendOrders(store, 5);
    let failing = true;
    let reads = 0;
    const source = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'readAll')
          return (options: Parameters<MemoryEventStore['readAll']>[0]) => {
            reads += 1;
            if (failing) throw new Error('database unreachable (test)');
            return target.readAll(options);
          };
        const value: unknown = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const relay = relayOf({ storage, bus, source });
    await relay.start();
    await eventually(() => reads >= 3, 'three failed reads');
    expect(relay.status()).toMatchObject({ state: 'waiting-for-store', position: 0 });
    expect(relay.status().lastError?.message).toBe('database unreachable (test)');
    failing = false;
    await relay.waitForPosition(5);
    await eventually(() => seen.length === 5, 'the five events');
    expect(relay.status()).toMatchObject({ state: 'running', lastError: undefined });
  });

  it('is a lag source for the metrics: name, position and parked count', async () => {
    const { store, storage, bus } = setup();
    await appendOrders(store, 4);
    const relay = relayOf({ storage, bus, name: 'to-nats' });
    const source: LagSource = relay;
    expect(source.position()).toBe(0);
    await relay.start();
    await relay.waitForPosition(4);
    expect(source.name).toBe('to-nats');
    expect(source.position()).toBe(4);
    expect(await source.parkedCount()).toBe(0);
  });

  it('passes over events outside its filter', async () => {
    const { store, storage, bus } = setup();
    const seen = await collector(bus);
    await appendOrders(store, 3);
    await store.append('payment-1', [{ type: 'payment.authorised', data: {} }]);
    await appendOrders(store, 2, 3);
    const relay = relayOf({ storage, bus, filter: { types: ['payment.authorised'] } });
    await relay.start();
    await relay.waitForPosition(6);
    await eventually(() => seen.length === 1, 'the payment event');
    expect(seen[0]?.type).toBe('payment.authorised');
    expect(relay.status()).toMatchObject({ published: 1, lag: 0 });
  });

  it('runs in one process at a time', async () => {
    const { storage, bus } = setup();
    const a = relayOf({ storage, bus, owner: 'a' });
    await a.start();
    const b = relayOf({ storage, bus, owner: 'b' });
    await expect(b.start()).rejects.toBeInstanceOf(SubscriptionLeasedError);
    expect(b.status()).toMatchObject({ state: 'stopped' });
    expect(b.status().error).toBeInstanceOf(SubscriptionLeasedError);
  });

  it('stops on its own when the bus is closed, saying why', async () => {
    const { store, storage, bus } = setup();
    await bus.close();
    await appendOrders(store, 1);
    const relay = relayOf({ storage, bus });
    await relay.start();
    await expect(relay.waitForPosition(1)).rejects.toMatchObject({ code: 'BUS_CLOSED' });
    expect(relay.status().state).toBe('stopped');
  });

  it('rejects bad options with typed errors', () => {
    const { storage, bus } = setup();
    const bad: unknown[] = [
      null,
      { bus },
      { storage, bus: {} },
      { storage, bus, batchSize: 0 },
      { storage, bus, batchSize: 1001 },
      { storage, bus, maxInFlight: 0 },
      { storage, bus, name: '' },
      { storage, bus, lease: { ttlMs: -1 } },
    ];
    for (const options of bad)
      expect(() => new OutboxRelay(options as never)).toThrow(InvalidArgumentError);
  });
});
