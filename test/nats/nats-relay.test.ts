import type { NatsConnection } from '@nats-io/transport-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NatsMessageBus } from '@causewayjs/nats';
import {
  OutboxRelay,
  inboxHandler,
  type RecordedEvent,
  MemoryEventStore,
  memorySubscriptionStorage,
} from '@causewayjs/core';
import { eventually } from '@causewayjs/testing';
import { connectNats, deleteNatsStream, natsAvailable, randomNatsName } from '../support/nats.js';

const available = await natsAvailable();

describe.skipIf(!available)('outbox relay to NATS JetStream', () => {
  let nc: NatsConnection;
  let stream: string;
  let bus: NatsMessageBus;
  let store: MemoryEventStore;
  let relay: OutboxRelay | undefined;

  beforeEach(async () => {
    nc = await connectNats();
    stream = randomNatsName('RELAY');
    bus = await NatsMessageBus.open({ connection: nc, stream, prefix: stream.toLowerCase() });
    store = new MemoryEventStore();
  });
  afterEach(async () => {
    await relay?.stop();
    await bus.close();
    await deleteNatsStream(nc, stream);
    await nc.close();
    await store.close();
  });

  it('carries store events to an inbox consumer group, in position order', async () => {
    const storage = memorySubscriptionStorage(store);
    const consumerStore = new MemoryEventStore();
    const consumer = memorySubscriptionStorage(consumerStore);
    const applied: RecordedEvent[] = [];
    const member = await bus.subscribe({
      group: 'shipping',
      subjects: ['order.>'],
      handler: inboxHandler(consumer, 'shipping', (event, { tx }) => {
        tx.onCommit(() => applied.push(event));
      }),
    });
    try {
      for (let i = 0; i < 50; i++)
        await store.append(i % 5 === 0 ? `payment-${i}` : `order-${i}`, [
          { type: i % 5 === 0 ? 'payment.authorised' : 'order.placed', data: { i } },
        ]);
      relay = new OutboxRelay({ storage, bus, maxInFlight: 16 });
      await relay.start();
      await relay.waitForPosition(50);
      await eventually(() => applied.length === 40, 'the 40 order events');
      expect(applied.map((e) => e.position)).toEqual(
        Array.from({ length: 50 }, (_, i) => i + 1).filter((p) => (p - 1) % 5 !== 0),
      );
      expect(member.status().skipped).toBe(0);
    } finally {
      await member.stop();
      await consumerStore.close();
    }
  });

  it('parks an event over the broker max_payload, publishes the rest, loses nothing', async () => {
    const storage = memorySubscriptionStorage(store);
    const limit = nc.info?.max_payload ?? 1024 * 1024;
    await store.append('order-1', [{ type: 'order.placed', data: {} }]);
    // Within the store's own limit, but not once wrapped in the bus envelope.
    await store.append('blob-1', [
      { type: 'blob.stored', data: { text: 'z'.repeat(limit - 200) } },
    ]);
    await store.append('order-2', [{ type: 'order.placed', data: {} }]);
    const seen: number[] = [];
    const member = await bus.subscribe({
      group: 'all',
      handler: (e) => void seen.push(e.position),
    });
    try {
      relay = new OutboxRelay({ storage, bus });
      await relay.start();
      await relay.waitForPosition(3);
      await eventually(() => seen.length === 2, 'the two small events');
      expect(seen).toEqual([1, 3]);
      const [parked] = await relay.listParked();
      expect(parked).toMatchObject({
        position: 2,
        stream: 'blob-1',
        error: { code: 'MESSAGE_TOO_LARGE' },
      });
      expect(relay.status()).toMatchObject({ parked: 1, lag: 0 });
    } finally {
      await member.stop();
    }
  });
});
