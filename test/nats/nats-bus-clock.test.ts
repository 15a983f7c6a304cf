import type { NatsConnection } from '@nats-io/transport-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NatsMessageBus } from '@causewayjs/nats';
import {
  type BusSubscription,
  ManualClock,
  InvalidArgumentError,
  MemoryParkedEventStore,
} from '@causewayjs/core';
import { busEvent, eventually } from '@causewayjs/testing';
import { connectNats, deleteNatsStream, natsAvailable, randomNatsName } from '../support/nats.js';

const available = await natsAvailable();

/** Far from the wall clock, so a time read from it cannot pass for the manual clock's. */
const T0 = Date.parse('2001-02-03T04:05:06.000Z');
const fast = { baseDelayMs: 5, maxDelayMs: 20 };

describe.skipIf(!available)('NatsMessageBus parking times on an injected clock', () => {
  let stream: string;
  let nc: NatsConnection;
  const buses: NatsMessageBus[] = [];
  const members: BusSubscription[] = [];

  const open = async (clock?: ManualClock) => {
    const bus = await NatsMessageBus.open({
      connection: nc,
      stream,
      prefix: stream.toLowerCase(),
      ...(clock ? { clock } : {}),
    });
    buses.push(bus);
    return bus;
  };

  beforeEach(async () => {
    stream = randomNatsName('NC');
    nc = await connectNats();
  });
  afterEach(async () => {
    for (const m of members.splice(0)) await m.stop();
    for (const b of buses.splice(0)) await b.close();
    await deleteNatsStream(nc, stream);
    await nc.close();
  });

  it("stamps a message parked after maxDeliveries with the bus clock's time", async () => {
    const clock = new ManualClock(T0);
    const bus = await open(clock);
    const parked = new MemoryParkedEventStore();
    const attempts: number[] = [];
    const member = await bus.subscribe({
      group: 'clocked',
      maxDeliveries: 3,
      backoff: fast,
      parked,
      handler: (_e, ctx) => {
        attempts.push(ctx.attempt);
        // Time moves on between deliveries: parking must read the clock when it parks.
        clock.advance(60_000);
        throw new Error(`attempt ${ctx.attempt} failed`);
      },
    });
    members.push(member);
    const event = busEvent('order-1', 'order.placed');
    await bus.publish(event);
    await eventually(async () => (await member.parkedCount()) === 1, 'the message to be parked');

    expect(attempts).toEqual([1, 2, 3]);
    const [entry] = await member.listParked();
    expect(entry).toMatchObject({
      eventId: event.id,
      reason: 'failed',
      attempts: 3,
      error: { message: 'attempt 3 failed' },
    });
    expect(entry?.parkedAt.toISOString()).toBe(new Date(T0 + 3 * 60_000).toISOString());
    expect(member.status()).toMatchObject({ parked: 1, retried: 2 });
  });

  it("uses a member's own clock over the bus's, and the system clock when neither is given", async () => {
    const busClock = new ManualClock(T0);
    const memberClock = new ManualClock(T0 + 86_400_000);
    const clocked = await open(busClock);
    const own = await clocked.subscribe({
      group: 'own-clock',
      maxDeliveries: 1,
      clock: memberClock,
      parked: new MemoryParkedEventStore(),
      handler: () => {
        throw new Error('always');
      },
    });
    members.push(own);
    await clocked.publish(busEvent('order-2', 'order.placed'));
    await eventually(async () => (await own.parkedCount()) === 1, 'the own-clock park');
    const [ownEntry] = await own.listParked();
    expect(ownEntry?.parkedAt.getTime()).toBe(memberClock.now());

    const plain = await open();
    const before = Date.now();
    const wall = await plain.subscribe({
      group: 'wall-clock',
      maxDeliveries: 1,
      parked: new MemoryParkedEventStore(),
      handler: () => {
        throw new Error('always');
      },
    });
    members.push(wall);
    await eventually(async () => (await wall.parkedCount()) >= 1, 'the wall-clock park');
    const [wallEntry] = await wall.listParked();
    const at = wallEntry?.parkedAt.getTime() ?? 0;
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });

  it('rejects a clock that is not a Clock with a typed error', async () => {
    await expect(
      NatsMessageBus.open({ connection: nc, stream, clock: { now: 5 } as never }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    const bus = await open();
    await expect(
      bus.subscribe({ group: 'bad', clock: 'soon' as never, handler: () => undefined }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
