import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RabbitMqMessageBus } from '@causewayjs/rabbitmq';
import {
  BusUnavailableError,
  OutboxRelay,
  inboxHandler,
  type BusSubscription,
  MemoryEventStore,
  memorySubscriptionStorage,
} from '@causewayjs/core';
import { busEvent, eventually } from '@causewayjs/testing';
import { PrivateRabbitMq, privateRabbitMqAvailable } from '../support/private-rabbitmq.js';

const available = privateRabbitMqAvailable();

describe.skipIf(!available)('RabbitMQ: connections cut and the broker killed mid-run', () => {
  let node: PrivateRabbitMq;
  beforeAll(async () => {
    node = await PrivateRabbitMq.start();
  }, 90_000);
  afterAll(() => node?.cleanup());

  it('the buses reconnect with backoff, the relay and the consumer resume: 0 lost, 0 duplicated', async () => {
    const options = {
      prefix: 'fault',
      publishTimeoutMs: 500,
      publishRetry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 },
      reconnect: { baseDelayMs: 50, maxDelayMs: 500 },
    };
    // The publisher and the consumer each on a bus (a connection) of their own.
    const publisher = await RabbitMqMessageBus.connect(node.url, {
      ...options,
      connectionName: 'fault-publisher',
    });
    const consumer = await RabbitMqMessageBus.connect(node.url, {
      ...options,
      connectionName: 'fault-consumer',
    });
    const store = new MemoryEventStore();
    const consumerStore = new MemoryEventStore();
    const inbox = memorySubscriptionStorage(consumerStore);
    const effects = new Map<number, number>();
    const relay = new OutboxRelay({
      storage: memorySubscriptionStorage(store),
      bus: publisher,
      batchSize: 20,
      maxInFlight: 10,
      retry: { baseDelayMs: 20, maxDelayMs: 200 },
    });
    let member: BusSubscription | undefined;
    const append = async (from: number, count: number) => {
      for (let i = from; i < from + count; i++)
        await store.append(`order-${i}`, [{ type: 'order.placed', data: { i } }]);
    };
    let appended = 0;
    /**
     * Appends one event at a time, at most 10 ahead of the effects, until `done()` holds: a
     * steady flow that is in the middle of things when the fault comes and waits out the outage.
     */
    const flow = async (done: () => boolean) => {
      while (!done()) {
        await append(appended, 1);
        appended += 1;
        const upTo = appended - 10;
        await eventually(() => effects.size >= upTo, `effect ${upTo}`, 90_000);
      }
    };
    const after = (condition: () => boolean, extra: number) => {
      let mark: number | undefined;
      return () => {
        if (mark === undefined && condition()) mark = appended;
        return mark !== undefined && appended >= mark + extra;
      };
    };
    try {
      member = await consumer.subscribe({
        group: 'billing',
        subjects: ['order.>'],
        maxDeliveries: 1000,
        handler: inboxHandler(inbox, 'billing', (event, { tx }) => {
          tx.onCommit(() => effects.set(event.position, (effects.get(event.position) ?? 0) + 1));
        }),
      });
      await append(0, 100);
      appended = 100;
      await relay.start();
      await eventually(() => effects.size === 100, 'the first 100 effects', 30_000);

      // Connection loss: the broker closes both connections while events flow.
      let cut = false;
      const flowing = flow(
        after(() => cut && publisher.reconnections > 0 && consumer.reconnections > 0, 20),
      );
      await eventually(() => effects.size > 110, 'events flowing', 30_000);
      await node.closeAllConnections();
      cut = true;
      await flowing;
      expect(publisher.reconnections).toBeGreaterThanOrEqual(1);
      expect(consumer.reconnections).toBeGreaterThanOrEqual(1);

      // Broker restart: kill -9 mid-flow, then boot on the same data.
      let restarted = false;
      const reconnectionsBefore = publisher.reconnections + consumer.reconnections;
      const start = appended;
      const more = flow(after(() => restarted, 20));
      await eventually(() => effects.size > start + 10, 'events flowing again', 30_000);
      await node.kill();
      // A direct publish while the broker is down retries, then fails with a typed error.
      const error = await publisher.publish(busEvent('x-1', 'x.lost')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BusUnavailableError);
      await node.boot();
      restarted = true;
      await more;
      expect(publisher.reconnections + consumer.reconnections).toBeGreaterThan(
        reconnectionsBefore + 1,
      );
      await relay.waitForPosition(appended, { timeoutMs: 60_000 });
      const total = appended;
      await eventually(() => effects.size === total, 'every effect after the restart', 60_000);

      const lost = Array.from({ length: appended }, (_, i) => i + 1).filter((p) => !effects.has(p));
      const duplicated = [...effects].filter(([, n]) => n > 1).map(([p]) => p);
      expect({ lost, duplicated }).toEqual({ lost: [], duplicated: [] });
      expect(member.status()).toMatchObject({ parked: 0, running: true });
      expect(await member.parkedCount()).toBe(0);
    } finally {
      await member?.stop();
      await relay.stop();
      await publisher.close();
      await consumer.close();
      await store.close();
      await consumerStore.close();
    }
  }, 180_000);
});
