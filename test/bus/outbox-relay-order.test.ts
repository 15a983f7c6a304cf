import { afterEach, describe, expect, it } from 'vitest';
import {
  BusSequenceMismatchError,
  BusUnavailableError,
  MessageTooLargeError,
  OutboxRelay,
  type BusLogTail,
  type BusSubscription,
  type MessageBus,
  type PublishOptions,
  type PublishReceipt,
  type RecordedEvent,
  MemoryEventStore,
  memorySubscriptionStorage,
} from '@causewayjs/core';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A bus with a sequenced log that keeps expectations the way JetStream does (duplicate
 * check first, then the expected last sequence and event), and fails chosen publishes.
 */
class SequencedBus implements MessageBus {
  readonly prefix = 'shop';
  readonly log: RecordedEvent[] = [];
  /** Positions whose next publish fails as if the broker were unreachable. */
  readonly failOnce = new Set<number>();
  /** Positions the broker can never take. */
  readonly tooLarge = new Set<number>();
  refused = 0;
  /** False: ids are forgotten, as past the broker's duplicate window. */
  dedupe = true;

  async publish(event: RecordedEvent, options?: PublishOptions): Promise<PublishReceipt> {
    await Promise.resolve();
    const subject = `shop.${event.stream}`;
    if (this.tooLarge.has(event.position)) throw new MessageTooLargeError(event.id, 2, 1);
    if (this.failOnce.delete(event.position))
      throw new BusUnavailableError('no acknowledgement (test)');
    const held = this.log.findIndex((e) => e.id === event.id);
    if (held >= 0 && this.dedupe) return { subject, sequence: held + 1, duplicate: true };
    const seq = options?.expectedLastSequence;
    const id = options?.expectedLastEventId;
    if (
      (seq !== undefined && seq !== this.log.length) ||
      (id !== undefined && id !== this.log.at(-1)?.id)
    ) {
      this.refused += 1;
      throw new BusSequenceMismatchError(event.id, options ?? {}, `log at ${this.log.length}`);
    }
    this.log.push(event);
    return { subject, sequence: this.log.length, duplicate: false };
  }

  tail(): Promise<BusLogTail> {
    const last = this.log.at(-1);
    return Promise.resolve({
      sequence: this.log.length,
      last: last ? { eventId: last.id, position: last.position } : undefined,
    });
  }

  subscribe(): Promise<BusSubscription> {
    return Promise.reject(new Error('not used'));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function setup(count: number) {
  const store = new MemoryEventStore();
  cleanups.push(() => store.close());
  for (let i = 0; i < count; i += 50)
    await store.appendMany(
      Array.from({ length: 50 }, (_, j) => ({
        stream: `order-${i + j}`,
        events: [{ type: 'order.placed', data: { n: i + j } }],
      })),
    );
  const bus = new SequencedBus();
  const relay = new OutboxRelay({
    storage: memorySubscriptionStorage(store),
    bus,
    batchSize: 100,
    maxInFlight: 32,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
  });
  cleanups.push(() => relay.stop());
  return { store, bus, relay };
}

describe('OutboxRelay on a bus with a sequenced log', () => {
  it('keeps the log in position order when a publish in the middle of a window fails', async () => {
    const { bus, relay } = await setup(300);
    bus.failOnce.add(5).add(70).add(150);
    await relay.start();
    await relay.waitForPosition(300);
    expect(bus.log.map((e) => e.position)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    // The publishes after each failed one were refused, not stored ahead of it.
    expect(bus.refused).toBeGreaterThan(0);
    expect(relay.status()).toMatchObject({ position: 300, published: 300, duplicates: 0 });
  });

  it('parks an event the broker can never take and goes on in order', async () => {
    const { bus, relay } = await setup(100);
    bus.tooLarge.add(10).add(11).add(60);
    await relay.start();
    await relay.waitForPosition(100);
    const expected = Array.from({ length: 100 }, (_, i) => i + 1).filter(
      (p) => ![10, 11, 60].includes(p),
    );
    expect(bus.log.map((e) => e.position)).toEqual(expected);
    expect((await relay.listParked()).map((p) => p.position)).toEqual([10, 11, 60]);
    // A parked event published again lands after the rest: by choice, and the chain goes on.
    bus.tooLarge.clear();
    expect(await relay.retryParked([60])).toEqual({ published: 1, failed: 0, missing: 0 });
    expect(bus.log.at(-1)?.position).toBe(60);
  });

  it('learns where the log ends at start: what it holds past the checkpoint is not stored again', async () => {
    const { store, bus, relay } = await setup(100);
    await relay.start();
    await relay.waitForPosition(100);
    await relay.stop();
    // As if the process died after the broker took 61..100, before the checkpoint.
    const storage = memorySubscriptionStorage(store);
    await storage.checkpoints.save('outbox-relay', 60);
    // Past the duplicate window: only the expectation keeps 61..100 from being stored twice.
    bus.dedupe = false;
    const again = new OutboxRelay({ storage, bus, maxInFlight: 32 });
    cleanups.push(() => again.stop());
    await again.start();
    await again.waitForPosition(100);
    expect(bus.log.map((e) => e.position)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(again.status()).toMatchObject({ published: 40, duplicates: 40 });
  });
});
