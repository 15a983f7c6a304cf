import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NatsMessageBus } from '@causewayjs/nats';
import {
  BusUnavailableError,
  GroupAlreadySubscribedError,
  InvalidSubjectPrefixError,
  type BusSubscription,
  type RecordedEvent,
  InvalidArgumentError,
  MemoryParkedEventStore,
} from '@causewayjs/core';
import { busEvent, eventually } from '@causewayjs/testing';
import {
  connectNats,
  deleteNatsStream,
  natsAvailable,
  natsUrl,
  randomNatsName,
} from '../support/nats.js';

const available = await natsAvailable();

describe.skipIf(!available)('NatsMessageBus on a real server', () => {
  let stream: string;
  let prefix: string;
  const connections: NatsConnection[] = [];
  const buses: NatsMessageBus[] = [];
  const members: BusSubscription[] = [];

  const open = async (options: { ackWaitMs?: number } = {}) => {
    const nc = await connectNats();
    connections.push(nc);
    const bus = await NatsMessageBus.open({ connection: nc, stream, prefix, ...options });
    buses.push(bus);
    return { nc, bus };
  };

  beforeEach(() => {
    stream = randomNatsName('NB');
    prefix = stream.toLowerCase();
  });
  afterEach(async () => {
    for (const m of members.splice(0)) await m.stop();
    for (const b of buses.splice(0)) await b.close();
    const nc = await connectNats();
    await deleteNatsStream(nc, stream);
    await nc.close();
    for (const c of connections.splice(0)) if (!c.isClosed()) await c.close();
  });

  it('redelivers what a crashed member held, and parks a message delivered past maxDeliveries unanswered', async () => {
    const crashed = await open({ ackWaitMs: 300 });
    let release: () => void = () => undefined;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const held: RecordedEvent[] = [];
    // This member takes the message and never answers; then its process "dies".
    await crashed.bus.subscribe({
      group: 'workers',
      handler: async (e) => {
        held.push(e);
        await stuck;
      },
    });
    const event = busEvent('order-1', 'order.placed');
    const second = busEvent('order-2', 'order.placed');
    await crashed.bus.publish(event);
    await eventually(() => held.length === 1, 'the first member to take the message');
    await crashed.nc.close();
    release();

    const survivor = await open({ ackWaitMs: 300 });
    const attempts: number[] = [];
    const parked = new MemoryParkedEventStore();
    const member = await survivor.bus.subscribe({
      group: 'workers',
      maxDeliveries: 1,
      parked,
      handler: (e, ctx) => void attempts.push(ctx.attempt),
    });
    members.push(member);
    await survivor.bus.publish(second);
    await eventually(() => member.status().parked === 1, 'the unanswered message parked');
    await eventually(() => member.status().handled === 1, 'the next message handled');
    expect(attempts).toEqual([1]);
    const [entry] = await member.listParked();
    expect(entry).toMatchObject({ eventId: event.id, reason: 'failed', attempts: 1 });
    expect(entry?.error.message).toMatch(/without an answer/);
    // Retry finds the message in the stream and hands it to the handler.
    expect(await member.retryParked('all')).toEqual({ delivered: 1, parkedAgain: 0, missing: 0 });
    expect(await member.parkedCount()).toBe(0);
  });

  it('keeps a message with a member whose handler outlasts ackWaitMs', async () => {
    const { bus } = await open({ ackWaitMs: 200 });
    const calls: number[] = [];
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const a = await bus.subscribe({
      group: 'slow',
      handler: async (_e, ctx) => {
        calls.push(ctx.attempt);
        await slow;
      },
    });
    const b = await bus.subscribe({
      group: 'slow',
      handler: (_e, ctx) => void calls.push(ctx.attempt),
    });
    members.push(a, b);
    await bus.publish(busEvent('order-1', 'order.placed'));
    await eventually(() => calls.length === 1, 'the first delivery');
    // Let the broker's ack wait pass several times over while the handler works.
    const start = Date.now();
    await eventually(() => Date.now() - start > 1000, 'five ack waits');
    release();
    await eventually(() => a.status().handled + b.status().handled === 1, 'the acknowledgement');
    expect(calls).toEqual([1]);
  });

  it('redelivers with a growing attempt count after nak, on a fresh connection too', async () => {
    const a = await open();
    const attempts: number[] = [];
    const member = await a.bus.subscribe({
      group: 'naks',
      backoff: { baseDelayMs: 5, maxDelayMs: 10 },
      handler: (_e, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt < 3) throw new Error('not yet');
      },
    });
    members.push(member);
    await a.bus.publish(busEvent('order-1', 'order.placed'));
    await eventually(() => member.status().handled === 1, 'success on the third delivery');
    expect(attempts).toEqual([1, 2, 3]);
    await member.stop();
    // Progress is the broker's: a new connection's member of the group starts after it.
    const b = await open();
    const seen: string[] = [];
    const next = busEvent('order-2', 'order.placed');
    const member2 = await b.bus.subscribe({ group: 'naks', handler: (e) => void seen.push(e.id) });
    members.push(member2);
    await b.bus.publish(next);
    await eventually(() => seen.length === 1, 'the new message');
    expect(seen).toEqual([next.id]);
  });

  it('terminates and counts a message that is not a Causeway envelope, and carries on', async () => {
    const { nc, bus } = await open();
    const seen: string[] = [];
    const member = await bus.subscribe({ group: 'strict', handler: (e) => void seen.push(e.id) });
    members.push(member);
    await jetstream(nc).publish(`${prefix}.order.garbage`, 'not json at all');
    await jetstream(nc).publish(`${prefix}.order.garbage`, JSON.stringify({ id: 1 }));
    const good = busEvent('order-1', 'order.placed');
    await bus.publish(good);
    await eventually(() => seen.length === 1, 'the good message');
    expect(member.status().undecodable).toBe(2);
    expect(seen).toEqual([good.id]);
  });

  it('refuses a group member whose subjects differ from the group consumer', async () => {
    const { bus } = await open();
    const member = await bus.subscribe({ group: 'g', subjects: ['order.>'], handler: () => {} });
    members.push(member);
    await expect(
      bus.subscribe({ group: 'g', subjects: ['payment.>'], handler: () => {} }),
    ).rejects.toBeInstanceOf(GroupAlreadySubscribedError);
  });

  it('connect owns its connection: close() closes it; an unreachable server is a typed error', async () => {
    const bus = await NatsMessageBus.connect(natsUrl, { stream, prefix });
    const receipt = await bus.publish(busEvent('order-1', 'order.placed'));
    expect(receipt.duplicate).toBe(false);
    await bus.close();
    expect(bus.connection.isClosed()).toBe(true);
    await expect(
      NatsMessageBus.connect('nats://127.0.0.1:1', { stream, prefix }),
    ).rejects.toBeInstanceOf(BusUnavailableError);
  });

  it('rejects bad options with typed errors', async () => {
    const nc = await connectNats();
    connections.push(nc);
    await expect(
      NatsMessageBus.open({ connection: nc, stream: 'bad.name' }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(
      NatsMessageBus.open({ connection: nc, stream, prefix: 'a.*' }),
    ).rejects.toBeInstanceOf(InvalidSubjectPrefixError);
    await expect(
      NatsMessageBus.open({ connection: nc, stream, prefetch: 0 }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(NatsMessageBus.open(null as never)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
