import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RabbitMqMessageBus, topicBindingKey } from '@causewayjs/rabbitmq';
import {
  GroupAlreadySubscribedError,
  InvalidSubjectPatternError,
  InvalidArgumentError,
  nack,
} from '@causewayjs/core';
import { busEvent, eventually } from '@causewayjs/testing';
import {
  amqpUrl,
  deleteRabbitTopology,
  rabbitMqAvailable,
  randomRabbitName,
} from '../support/rabbitmq.js';

describe('topicBindingKey', () => {
  it('maps Causeway subject patterns to AMQP topic binding keys', () => {
    expect(topicBindingKey('shop', 'order.>')).toBe('shop.order.*.#');
    expect(topicBindingKey('shop', '>')).toBe('shop.*.#');
    expect(topicBindingKey('shop', '*.order.shipped')).toBe('shop.*.order.shipped');
    expect(topicBindingKey('shop', 'order.order.placed')).toBe('shop.order.order.placed');
    // A literal # (no subject holds one) must not become AMQP's wildcard.
    expect(topicBindingKey('shop', 'order.#')).toBe('shop.order.%23');
    expect(() => topicBindingKey('shop', 'order.>.x')).toThrow(InvalidSubjectPatternError);
  });
});

const available = await rabbitMqAvailable();

describe.skipIf(!available)('RabbitMqMessageBus', () => {
  let bus: RabbitMqMessageBus;

  beforeEach(async () => {
    bus = await RabbitMqMessageBus.connect(amqpUrl, {
      prefix: randomRabbitName('rb'),
      logMaxAge: '1h',
    });
  });
  afterEach(async () => {
    await bus.close();
    await deleteRabbitTopology(bus.topology());
  });

  it('a member stopped while replaying the log replays it again at its next start', async () => {
    const events = Array.from({ length: 5 }, (_, i) => busEvent(`r-${i}`, 'r.done'));
    for (const e of events) await bus.publish(e);
    const first: string[] = [];
    const stopping = await bus.subscribe({
      group: 'replayer',
      handler: (e) => {
        first.push(e.id);
        return first.length === 3 ? nack.stop('going down mid-replay') : undefined;
      },
    });
    await eventually(() => !stopping.status().running, 'the member to stop');
    expect(first).toEqual(events.slice(0, 3).map((e) => e.id));
    const second: string[] = [];
    const member = await bus.subscribe({
      group: 'replayer',
      handler: (e) => void second.push(e.id),
    });
    await eventually(() => second.length === 5, 'the whole log again');
    expect(second).toEqual(events.map((e) => e.id));
    const late = busEvent('r-9', 'r.done');
    await bus.publish(late);
    await eventually(() => second.length === 6, 'a message after the replay');
    expect(second[5]).toBe(late.id);
    await member.stop();
  });

  it('a second member of a group that is replaying takes the queue, not the log again', async () => {
    const events = Array.from({ length: 5 }, (_, i) => busEvent(`s-${i}`, 's.done'));
    for (const e of events) await bus.publish(e);
    const seen: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = await bus.subscribe({
      group: 'sharers',
      handler: async (e) => {
        seen.push(e.id);
        if (seen.length === 1) await held;
      },
    });
    await eventually(() => seen.length === 1, 'the first member mid-replay');
    const second = await bus.subscribe({ group: 'sharers', handler: (e) => void seen.push(e.id) });
    release();
    await eventually(() => seen.length >= 5, 'the five events');
    const sentinel = busEvent('s-9', 's.done');
    await bus.publish(sentinel);
    await eventually(() => seen.includes(sentinel.id), 'the sentinel');
    expect([...seen].sort()).toEqual([...events, sentinel].map((e) => e.id).sort());
    await first.stop();
    await second.stop();
  });

  it('parks through the dead-letter exchange: retried and skipped bodies leave the parking queue', async () => {
    const [a, b] = [busEvent('p-1', 'p.bad'), busEvent('p-2', 'p.bad')];
    await bus.publish(a);
    await bus.publish(b);
    let healed = false;
    const member = await bus.subscribe({
      group: 'parker',
      handler: () => (healed ? undefined : nack.park('not now')),
    });
    await eventually(() => member.status().parked === 2, 'both parked');
    const parkingQueue = bus.topology().queues.find((q) => q.endsWith('.group.parker.parked'));
    const { model } = await bus.session();
    const waiting = async () => {
      const channel = await model.createChannel();
      try {
        return (await channel.checkQueue(String(parkingQueue))).messageCount;
      } finally {
        await channel.close();
      }
    };
    await expect.poll(waiting, { timeout: 10_000 }).toBe(2);
    expect(await member.skipParked([a.position])).toBe(1);
    // Bodies taken and not acknowledged return to the queue as the channel closes.
    await expect.poll(waiting, { timeout: 10_000 }).toBe(1);
    healed = true;
    expect(await member.retryParked('all')).toEqual({ delivered: 1, parkedAgain: 0, missing: 0 });
    expect(await member.parkedCount()).toBe(0);
    await expect.poll(waiting, { timeout: 10_000 }).toBe(0);
    await member.stop();
  });

  it('refuses a second member of a group with other subjects, and a subject over 255 bytes', async () => {
    const handler = () => undefined;
    const member = await bus.subscribe({ group: 'picky', subjects: ['order.>'], handler });
    await expect(
      bus.subscribe({ group: 'picky', subjects: ['payment.>'], handler }),
    ).rejects.toBeInstanceOf(GroupAlreadySubscribedError);
    await member.stop();
    await expect(bus.publish(busEvent('x-1', 'y'.repeat(300)))).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it('rejects bad options with typed errors', async () => {
    await expect(RabbitMqMessageBus.connect('http://x')).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(
      RabbitMqMessageBus.connect(amqpUrl, { prefix: 'bad prefix' }),
    ).rejects.toMatchObject({ code: 'INVALID_SUBJECT_PREFIX' });
    await expect(RabbitMqMessageBus.connect(amqpUrl, { prefetch: 0 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(
      RabbitMqMessageBus.connect('amqp://guest:guest@127.0.0.1:1'),
    ).rejects.toMatchObject({ code: 'BUS_UNAVAILABLE' });
  });
});
