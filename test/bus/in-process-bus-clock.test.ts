import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  InProcessBus,
  type BusHandler,
  type BusSubscription,
  ManualClock,
  MemoryParkedEventStore,
  nack,
} from '@causewayjs/core';
import { busEvent, eventually } from '@causewayjs/testing';

const T0 = Date.parse('2026-03-01T00:00:00.000Z');
/** Full jitter at one half: retry n waits half of min(8000, 1000 * 2^(n-1)): 500, 1000, ... */
const backoff = { baseDelayMs: 1000, maxDelayMs: 8000, random: () => 0.5 };

/**
 * Resolves once `check` holds, letting the bus's promise chains run between looks (one
 * event-loop turn each, no timer); fails after `turns` turns.
 */
async function until(check: () => boolean, what: string, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never saw ${what}`);
}

/** Lets pending promise chains run for a few event-loop turns. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface Call {
  attempt: number;
  at: number;
}

describe('InProcessBus on an injected clock', () => {
  let clock: ManualClock;
  let bus: InProcessBus;
  let member: BusSubscription | undefined;
  let calls: Call[];

  async function join(handler: BusHandler, extra: { maxDeliveries?: number } = {}) {
    member = await bus.subscribe({
      group: 'clocked',
      backoff,
      parked: new MemoryParkedEventStore(),
      ...extra,
      handler: (event, ctx) => {
        calls.push({ attempt: ctx.attempt, at: clock.now() });
        return handler(event, ctx);
      },
    });
    return member;
  }

  beforeEach(() => {
    clock = new ManualClock(T0);
    bus = new InProcessBus({ prefix: 'clocked', clock });
    member = undefined;
    calls = [];
  });
  afterEach(async () => {
    await member?.stop();
    await bus.close();
    vi.useRealTimers();
  });

  it("redelivers a nak'd message only once the clock passes its backoff", async () => {
    const m = await join((_e, ctx) => (ctx.attempt < 3 ? nack.retry('not yet') : undefined));
    await bus.publish(busEvent('order-1', 'order.placed'));
    await until(() => m.status().retried === 1, 'the first nak');
    expect(calls).toEqual([{ attempt: 1, at: T0 }]);

    clock.advance(499);
    expect(bus.redeliverDue()).toBe(0);
    await settle();
    expect(calls).toHaveLength(1);

    clock.advance(1);
    expect(bus.redeliverDue()).toBe(1);
    await until(() => m.status().retried === 2, 'the second nak');
    expect(calls[1]).toEqual({ attempt: 2, at: T0 + 500 });

    // The second retry waits twice as long.
    clock.advance(999);
    expect(bus.redeliverDue()).toBe(0);
    clock.advance(1);
    expect(bus.redeliverDue()).toBe(1);
    await until(() => m.status().handled === 1, 'the handled third delivery');
    expect(calls).toEqual([
      { attempt: 1, at: T0 },
      { attempt: 2, at: T0 + 500 },
      { attempt: 3, at: T0 + 1500 },
    ]);
    expect(m.status()).toMatchObject({ handled: 1, retried: 2, parked: 0 });
    expect(bus.redeliverDue()).toBe(0);
  });

  it('delivers new messages at once while a redelivery waits on the clock', async () => {
    const m = await join((e) => (e.type === 'order.failing' ? nack.retry('later') : undefined));
    await bus.publish(busEvent('order-1', 'order.failing'));
    await until(() => m.status().retried === 1, 'the nak');
    await bus.publish(busEvent('order-2', 'order.placed'));
    await until(() => m.status().handled === 1, 'the second message');
    expect(calls).toEqual([
      { attempt: 1, at: T0 },
      { attempt: 1, at: T0 },
    ]);
  });

  it('has its own timer follow the clock, not real time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const m = await join((_e, ctx) => (ctx.attempt < 2 ? nack.retry('not yet') : undefined));
    await bus.publish(busEvent('order-1', 'order.placed'));
    await until(() => m.status().retried === 1, 'the nak');
    expect(vi.getTimerCount()).toBe(1);

    // A minute of real time, no clock time: nothing is redelivered.
    vi.advanceTimersByTime(60_000);
    await settle();
    expect(calls).toHaveLength(1);

    // The clock moves; the bus's timer, on going off, sees it (no redeliverDue call).
    clock.advance(500);
    vi.advanceTimersByTime(500);
    await until(() => m.status().handled === 1, 'the redelivery');
    expect(calls[1]).toEqual({ attempt: 2, at: T0 + 500 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drops its timers when closed, and redelivers nothing after', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const m = await join(() => nack.retry('not yet'));
    await bus.publish(busEvent('order-1', 'order.placed'));
    await until(() => m.status().retried === 1, 'the nak');
    expect(vi.getTimerCount()).toBe(1);
    await bus.close();
    expect(vi.getTimerCount()).toBe(0);
    clock.advance(10_000);
    expect(bus.redeliverDue()).toBe(0);
    await settle();
    expect(calls).toHaveLength(1);
  });

  it("stamps a message parked after its last delivery with the clock's time", async () => {
    const parked = new MemoryParkedEventStore();
    const m = await bus.subscribe({
      group: 'clocked',
      backoff,
      maxDeliveries: 2,
      parked,
      handler: () => {
        throw new Error('boom');
      },
    });
    member = m;
    const event = busEvent('order-1', 'order.placed');
    await bus.publish(event);
    await until(() => m.status().retried === 1, 'the failed first delivery');
    clock.advance(500);
    expect(bus.redeliverDue()).toBe(1);
    await until(() => m.status().parked === 1, 'the parking');

    const [entry] = await m.listParked();
    expect(entry).toMatchObject({ eventId: event.id, attempts: 2, reason: 'failed' });
    expect(entry?.parkedAt.getTime()).toBe(T0 + 500);
    // The caller's store holds the same time.
    const [stored] = await parked.list('clocked');
    expect(stored?.parkedAt.getTime()).toBe(T0 + 500);

    // Parked again on a failed retry: the clock's time then.
    clock.advance(60_000);
    expect(await m.retryParked('all')).toEqual({ delivered: 0, parkedAgain: 1, missing: 0 });
    const [again] = await m.listParked();
    expect(again?.parkedAt.getTime()).toBe(T0 + 60_500);
  });

  it("stamps a message parked on request with the clock's time", async () => {
    clock.set(Date.parse('2030-07-04T12:00:00.000Z'));
    const m = await join(() => nack.park('not for us'));
    await bus.publish(busEvent('order-1', 'order.placed'));
    await until(() => m.status().parked === 1, 'the parking');
    const [entry] = await m.listParked();
    expect(entry?.reason).toBe('requested');
    expect(entry?.parkedAt.toISOString()).toBe('2030-07-04T12:00:00.000Z');
  });

  it("stamps a member's parked messages with its own clock when it names one", async () => {
    const own = new ManualClock(Date.parse('2040-01-01T00:00:00.000Z'));
    member = await bus.subscribe({
      group: 'own-clock',
      clock: own,
      parked: new MemoryParkedEventStore(),
      handler: () => nack.park('not for us'),
    });
    const m = member;
    await bus.publish(busEvent('order-1', 'order.placed'));
    await until(() => m.status().parked === 1, 'the parking');
    const [entry] = await m.listParked();
    expect(entry?.parkedAt.toISOString()).toBe('2040-01-01T00:00:00.000Z');
    await expect(
      bus.subscribe({ group: 'bad-clock', clock: {} as never, handler: () => undefined }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('keeps published ids for the duplicate window on the clock', async () => {
    const windowed = new InProcessBus({ prefix: 'windowed', clock, duplicateWindowMs: 1_000 });
    try {
      const event = busEvent('order-1', 'order.placed');
      expect((await windowed.publish(event)).duplicate).toBe(false);
      clock.advance(999);
      expect((await windowed.publish(event)).duplicate).toBe(true);
      clock.advance(1);
      expect((await windowed.publish(event)).duplicate).toBe(false);
      expect(windowed.size).toBe(2);
    } finally {
      await windowed.close();
    }
  });
});

describe('InProcessBus on the system clock (default)', () => {
  it("stamps parked messages with the wall clock's time", async () => {
    const bus = new InProcessBus({ prefix: 'wall' });
    const before = Date.now();
    const member = await bus.subscribe({ group: 'wall', handler: () => nack.park('no') });
    try {
      await bus.publish(busEvent('order-1', 'order.placed'));
      await eventually(() => member.status().parked === 1, 'the parking');
      const [entry] = await member.listParked();
      const at = entry?.parkedAt.getTime() ?? Number.NaN;
      expect(at).toBeGreaterThanOrEqual(before);
      expect(at).toBeLessThanOrEqual(Date.now());
    } finally {
      await member.stop();
      await bus.close();
    }
  });
});
