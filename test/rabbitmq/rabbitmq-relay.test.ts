import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RabbitMqMessageBus } from '@causewayjs/rabbitmq';
import {
  OutboxRelay,
  inboxHandler,
  type RecordedEvent,
  MemoryEventStore,
  memorySubscriptionStorage,
} from '@causewayjs/core';
import { eventually } from '@causewayjs/testing';
import {
  amqpUrl,
  deleteRabbitTopology,
  rabbitMqAvailable,
  randomRabbitName,
} from '../support/rabbitmq.js';

const available = await rabbitMqAvailable();

describe.skipIf(!available)('outbox relay to RabbitMQ', () => {
  let prefix: string;
  let bus: RabbitMqMessageBus;
  let store: MemoryEventStore;
  const relays: OutboxRelay[] = [];
  const buses: RabbitMqMessageBus[] = [];

  beforeEach(async () => {
    prefix = randomRabbitName('relay');
    bus = await RabbitMqMessageBus.connect(amqpUrl, { prefix, logMaxAge: '1h' });
    buses.push(bus);
    store = new MemoryEventStore();
  });
  afterEach(async () => {
    for (const r of relays.splice(0)) await r.stop();
    for (const b of buses.splice(0)) {
      await b.close();
      await deleteRabbitTopology(b.topology());
    }
    await store.close();
  });

  it('carries store events to an inbox consumer group in position order; a republish from another publisher changes nothing', async () => {
    const consumerStore = new MemoryEventStore();
    const consumer = memorySubscriptionStorage(consumerStore);
    const applied: RecordedEvent[] = [];
    const deliveries = new Map<number, number>();
    const handler = inboxHandler(consumer, 'shipping', (event, { tx }) => {
      tx.onCommit(() => applied.push(event));
    });
    const member = await bus.subscribe({
      group: 'shipping',
      subjects: ['order.>'],
      handler: (event, context) => {
        deliveries.set(event.position, (deliveries.get(event.position) ?? 0) + 1);
        return handler(event, context);
      },
    });
    try {
      for (let i = 0; i < 50; i++)
        await store.append(i % 5 === 0 ? `payment-${i}` : `order-${i}`, [
          { type: i % 5 === 0 ? 'payment.authorised' : 'order.placed', data: { i } },
        ]);
      const relay = new OutboxRelay({
        storage: memorySubscriptionStorage(store),
        bus,
        maxInFlight: 16,
      });
      relays.push(relay);
      await relay.start();
      await relay.waitForPosition(50);
      const orders = Array.from({ length: 50 }, (_, i) => i + 1).filter((p) => (p - 1) % 5 !== 0);
      await eventually(() => applied.length === 40, 'the 40 order events', 30_000);
      expect(applied.map((e) => e.position)).toEqual(orders);

      // The same events again, from a relay that starts over on another bus object (which
      // cannot know the ids the first one sent): the broker delivers them, the inbox drops them.
      const again = await RabbitMqMessageBus.connect(amqpUrl, { prefix, logMaxAge: '1h' });
      buses.push(again);
      const second = new OutboxRelay({
        storage: memorySubscriptionStorage(store),
        bus: again,
        name: 'second',
      });
      relays.push(second);
      await second.start();
      await second.waitForPosition(50);
      expect(second.status().duplicates).toBe(0);
      await eventually(
        () => orders.every((p) => (deliveries.get(p) ?? 0) >= 2),
        'the 40 republished events',
        30_000,
      );
      expect(applied.map((e) => e.position)).toEqual(orders);
    } finally {
      await member.stop();
      await consumerStore.close();
    }
  });
});
