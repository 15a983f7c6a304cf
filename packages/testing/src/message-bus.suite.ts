import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type RecordedEvent,
  InvalidArgumentError,
  BusClosedError,
  BusErrorCode,
  InvalidSubjectPatternError,
  MessageTooLargeError,
  type BusSubscribeOptions,
  type BusSubscription,
  type MessageBus,
  MemoryParkedEventStore,
  nack,
} from '@causewayjs/core';

/** How the message bus suite reaches one adapter; `open` is called once per test. */
export interface MessageBusHarness {
  /** A fresh bus with its own log and prefix. */
  bus: MessageBus;
  /** The largest message the bus accepts, in bytes. */
  maxPayloadBytes: number;
  /** Releases everything (the bus is closed by the suite first). */
  cleanup(): Promise<void>;
}

let nextPosition = 1;

/** A stored-looking event; positions rise across the suite. */
export function busEvent(
  stream: string,
  type: string,
  data: unknown = {},
  metadata: RecordedEvent['metadata'] = {},
): RecordedEvent {
  return {
    id: crypto.randomUUID(),
    type,
    stream,
    revision: 0,
    position: nextPosition++,
    data,
    metadata,
    schemaVersion: 1,
    recordedAt: new Date('2026-01-02T03:04:05.678Z'),
  };
}

/** Resolves once `check` holds, polling; fails after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const fast = { baseDelayMs: 5, maxDelayMs: 20 };

/**
 * The message bus contract every adapter keeps: subjects, delivery, deduplication, patterns,
 * filters and transforms, redelivery with backoff, parking, consumer groups, bad input.
 */
export function describeMessageBusConformance(
  name: string,
  open: () => Promise<MessageBusHarness>,
): void {
  describe(`message bus conformance: ${name}`, () => {
    let h: MessageBusHarness;
    let bus: MessageBus;
    const members: BusSubscription[] = [];

    beforeEach(async () => {
      h = await open();
      bus = h.bus;
    });
    afterEach(async () => {
      for (const m of members.splice(0)) await m.stop();
      await bus.close();
      await h.cleanup();
    });

    const join = async (options: BusSubscribeOptions) => {
      const member = await bus.subscribe({ backoff: fast, ...options });
      members.push(member);
      return member;
    };

    /** Subscribes a group that records what it receives. */
    const recorder = async (options: Partial<BusSubscribeOptions> & { group: string }) => {
      const seen: RecordedEvent[] = [];
      const member = await join({ handler: (e) => void seen.push(e), ...options });
      return { seen, member };
    };

    it('publishes on <prefix>.<category>.<type> and delivers the envelope intact', async () => {
      const event = busEvent(
        'order-42',
        'order.placed',
        { total: 12.5, lines: [{ sku: 'a', qty: 2 }] },
        { correlationId: 'c-1', actor: 'alice', custom: { deep: true } },
      );
      const receipt = await bus.publish(event);
      expect(receipt).toMatchObject({
        subject: `${bus.prefix}.order.order.placed`,
        duplicate: false,
      });
      expect(receipt.sequence).toBeGreaterThanOrEqual(1);
      const { seen } = await recorder({ group: 'intact' });
      await eventually(() => seen.length === 1, 'the event');
      expect(seen[0]).toEqual(event);
      expect(seen[0]?.recordedAt).toBeInstanceOf(Date);
    });

    it('sanitises characters NATS forbids in subject tokens', async () => {
      const receipt = await bus.publish(busEvent('caf é*>-1', 'odd type.with>wild*cards'));
      expect(receipt.subject).toBe(`${bus.prefix}.caf____.odd_type.with_wild_cards`);
    });

    it('deduplicates a republished event id: acknowledged as duplicate, delivered once', async () => {
      const event = busEvent('order-1', 'order.placed');
      const first = await bus.publish(event);
      const again = await bus.publish(event);
      expect(again).toEqual({ ...first, duplicate: true });
      const sentinel = busEvent('order-1', 'order.shipped');
      await bus.publish(sentinel);
      const { seen } = await recorder({ group: 'dedupe' });
      await eventually(() => seen.some((e) => e.id === sentinel.id), 'the sentinel');
      expect(seen.map((e) => e.id)).toEqual([event.id, sentinel.id]);
    });

    it('delivers in publish order to a single member', async () => {
      const events = Array.from({ length: 30 }, (_, i) => busEvent(`order-${i}`, 'order.placed'));
      for (const e of events) await bus.publish(e);
      const { seen } = await recorder({ group: 'ordered' });
      await eventually(() => seen.length === 30, '30 events');
      expect(seen.map((e) => e.id)).toEqual(events.map((e) => e.id));
    });

    it('routes by subject patterns: * is one token, > the rest', async () => {
      const placed = busEvent('order-1', 'order.placed');
      const paid = busEvent('payment-1', 'payment.authorised');
      const shipped = busEvent('shipment-1', 'order.shipped');
      const stock = busEvent('stock-9', 'reserved');
      for (const e of [placed, paid, shipped, stock]) await bus.publish(e);
      const sentinel = busEvent('order-2', 'order.cancelled');
      await bus.publish(sentinel);
      const orders = await recorder({ group: 'orders', subjects: ['order.>'] });
      const anyShipped = await recorder({ group: 'shipped', subjects: ['*.order.shipped'] });
      const oneToken = await recorder({ group: 'one', subjects: ['*.reserved'] });
      const several = await recorder({
        group: 'several',
        subjects: ['payment.>', 'stock.*', 'order.order.cancelled'],
      });
      await eventually(() => orders.seen.length === 2, 'orders');
      await eventually(() => anyShipped.seen.length === 1, 'shipped');
      await eventually(() => oneToken.seen.length === 1, 'stock');
      await eventually(() => several.seen.length === 3, 'several');
      expect(orders.seen.map((e) => e.id)).toEqual([placed.id, sentinel.id]);
      expect(anyShipped.seen.map((e) => e.id)).toEqual([shipped.id]);
      expect(oneToken.seen.map((e) => e.id)).toEqual([stock.id]);
      expect(several.seen.map((e) => e.id).sort()).toEqual([paid.id, stock.id, sentinel.id].sort());
    });

    it('applies content filters and transformation steps before the handler', async () => {
      const big = busEvent('order-1', 'order.placed', { total: 500 }, { tenant: 't1' });
      const small = busEvent('order-2', 'order.placed', { total: 5 }, { tenant: 't1' });
      const otherTenant = busEvent('order-3', 'order.placed', { total: 900 }, { tenant: 't2' });
      for (const e of [big, small, otherTenant]) await bus.publish(e);
      const last = busEvent('order-4', 'order.placed', { total: 1000 }, { tenant: 't1' });
      await bus.publish(last);
      const { seen, member } = await recorder({
        group: 'big-orders',
        filter: [
          (e) => (e.data as { total: number }).total >= 100,
          (e) => e.metadata.tenant === 't1',
        ],
        transform: [
          (e) => ({ ...e, metadata: { ...e.metadata, enriched: 'yes' } }),
          (e) =>
            Promise.resolve({
              ...e,
              data: { ...(e.data as object), vat: (e.data as { total: number }).total * 0.2 },
            }),
        ],
      });
      await eventually(() => seen.length === 2, 'two matching events');
      await eventually(() => member.status().skipped === 2, 'two skipped');
      expect(seen.map((e) => e.id)).toEqual([big.id, last.id]);
      expect(seen[0]?.metadata.enriched).toBe('yes');
      expect(seen[0]?.data).toEqual({ total: 500, vat: 100 });
    });

    it('redelivers a failed message with its attempt count until it succeeds', async () => {
      const event = busEvent('order-1', 'order.placed');
      await bus.publish(event);
      const attempts: number[] = [];
      const member = await join({
        group: 'flaky',
        maxDeliveries: 5,
        handler: (_e, ctx) => {
          attempts.push(ctx.attempt);
          if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} fails`);
        },
      });
      await eventually(() => member.status().handled === 1, 'success');
      expect(attempts).toEqual([1, 2, 3]);
      expect(member.status()).toMatchObject({ handled: 1, retried: 2, parked: 0 });
      expect(await member.parkedCount()).toBe(0);
    });

    it('treats nack.retry as a failed delivery', async () => {
      await bus.publish(busEvent('order-1', 'order.placed'));
      const attempts: number[] = [];
      const member = await join({
        group: 'nack-retry',
        handler: (_e, ctx) => {
          attempts.push(ctx.attempt);
          return ctx.attempt === 1 ? nack.retry('not yet') : undefined;
        },
      });
      await eventually(() => member.status().handled === 1, 'success');
      expect(attempts).toEqual([1, 2]);
    });

    it('parks after maxDeliveries, keeps going, and can retry or skip what it parked', async () => {
      const parked = new MemoryParkedEventStore();
      const poison = busEvent('order-1', 'order.placed', { poison: true });
      const fine = busEvent('order-2', 'order.placed', { poison: false });
      await bus.publish(poison);
      await bus.publish(fine);
      let healed = false;
      const handled: string[] = [];
      const member = await join({
        group: 'parking',
        maxDeliveries: 3,
        parked,
        handler: (e) => {
          if ((e.data as { poison: boolean }).poison && !healed) {
            const error = new Error('cannot handle poison') as Error & { code: string };
            error.code = 'POISON';
            throw error;
          }
          handled.push(e.id);
        },
      });
      await eventually(() => member.status().parked === 1, 'the poison message parked');
      await eventually(() => handled.includes(fine.id), 'the next message handled');
      const list = await member.listParked();
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({
        subscription: 'parking',
        eventId: poison.id,
        position: poison.position,
        stream: 'order-1',
        type: 'order.placed',
        reason: 'failed',
        attempts: 3,
        error: { name: 'Error', message: 'cannot handle poison', code: 'POISON' },
      });
      // Still failing: parked again, not lost.
      expect(await member.retryParked('all')).toEqual({ delivered: 0, parkedAgain: 1, missing: 0 });
      expect(await member.parkedCount()).toBe(1);
      healed = true;
      expect(await member.retryParked([poison.position])).toEqual({
        delivered: 1,
        parkedAgain: 0,
        missing: 0,
      });
      expect(handled).toContain(poison.id);
      expect(await member.parkedCount()).toBe(0);
      // The broker does not deliver a parked message again.
      const sentinel = busEvent('order-3', 'order.placed', { poison: false });
      await bus.publish(sentinel);
      await eventually(() => handled.includes(sentinel.id), 'the sentinel');
      expect(handled.filter((id) => id === poison.id)).toHaveLength(1);
    });

    it('parks at once on nack.park, and skipParked forgets it', async () => {
      const event = busEvent('order-1', 'order.placed');
      await bus.publish(event);
      const member = await join({
        group: 'park-now',
        handler: () => nack.park('bad order'),
      });
      await eventually(() => member.status().parked === 1, 'parked');
      const [entry] = await member.listParked();
      expect(entry).toMatchObject({ eventId: event.id, reason: 'requested', attempts: 1 });
      expect(entry?.error.message).toBe('bad order');
      expect(await member.skipParked('all')).toBe(1);
      expect(await member.parkedCount()).toBe(0);
    });

    it('acknowledges nack.skip without handling it again', async () => {
      const skipped = busEvent('order-1', 'order.placed');
      const next = busEvent('order-2', 'order.placed');
      await bus.publish(skipped);
      await bus.publish(next);
      const calls: string[] = [];
      const member = await join({
        group: 'skipper',
        handler: (e) => {
          calls.push(e.id);
          return e.id === skipped.id ? nack.skip('not mine') : undefined;
        },
      });
      await eventually(() => member.status().handled === 1, 'the next one');
      expect(calls).toEqual([skipped.id, next.id]);
      expect(member.status().skipped).toBe(1);
    });

    it('shares a group between members: each message to exactly one member', async () => {
      const total = 40;
      const byMember: string[][] = [[], []];
      let release: () => void = () => undefined;
      const bothBusy = new Promise<void>((resolve) => (release = resolve));
      const handlerFor = (i: 0 | 1) => async (e: RecordedEvent) => {
        byMember[i]?.push(e.id);
        // Hold the first message of each member until the other has one too: proves both work.
        if ((byMember[0]?.length ?? 0) > 0 && (byMember[1]?.length ?? 0) > 0) release();
        else await bothBusy;
      };
      await join({ group: 'workers', handler: handlerFor(0) });
      await join({ group: 'workers', handler: handlerFor(1) });
      const events = Array.from({ length: total }, (_, i) => busEvent(`job-${i}`, 'job.queued'));
      for (const e of events) await bus.publish(e);
      await eventually(
        () => (byMember[0]?.length ?? 0) + (byMember[1]?.length ?? 0) === total,
        'every job',
      );
      const all = [...(byMember[0] ?? []), ...(byMember[1] ?? [])];
      expect(new Set(all).size).toBe(total);
      expect(byMember[0]?.length).toBeGreaterThan(0);
      expect(byMember[1]?.length).toBeGreaterThan(0);
    });

    it('fans out: every group receives every message', async () => {
      const a = await recorder({ group: 'fan-a' });
      const b = await recorder({ group: 'fan-b' });
      const events = [busEvent('x-1', 'x.done'), busEvent('x-2', 'x.done')];
      for (const e of events) await bus.publish(e);
      await eventually(() => a.seen.length === 2 && b.seen.length === 2, 'both groups');
    });

    it('keeps a group durable: a new member resumes after what was acknowledged', async () => {
      const first = await recorder({ group: 'durable' });
      const early = [busEvent('d-1', 'd.one'), busEvent('d-2', 'd.two')];
      for (const e of early) await bus.publish(e);
      await eventually(() => first.seen.length === 2, 'the first two');
      await first.member.stop();
      expect(first.member.status().running).toBe(false);
      const late = busEvent('d-3', 'd.three');
      await bus.publish(late);
      const second = await recorder({ group: 'durable' });
      await eventually(() => second.seen.length === 1, 'the third');
      expect(second.seen[0]?.id).toBe(late.id);
      expect(first.seen).toHaveLength(2);
    });

    it("starts a new group at the next message with from: 'new'", async () => {
      await bus.publish(busEvent('n-1', 'n.old'));
      const fresh = await recorder({ group: 'newcomer', from: 'new' });
      const next = busEvent('n-2', 'n.new');
      await bus.publish(next);
      await eventually(() => fresh.seen.length === 1, 'the new message');
      expect(fresh.seen[0]?.id).toBe(next.id);
    });

    it('refuses a message too big for the broker with a typed error, and delivers nothing', async () => {
      const { seen } = await recorder({ group: 'big' });
      const huge = busEvent('blob-1', 'blob.stored', { text: 'x'.repeat(h.maxPayloadBytes) });
      const error = await bus.publish(huge).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MessageTooLargeError);
      expect((error as MessageTooLargeError).code).toBe(BusErrorCode.MESSAGE_TOO_LARGE);
      expect((error as MessageTooLargeError).limit).toBe(h.maxPayloadBytes);
      const after = busEvent('blob-2', 'blob.stored', { text: 'small' });
      await bus.publish(after);
      await eventually(() => seen.length === 1, 'the small one');
      expect(seen[0]?.id).toBe(after.id);
    });

    it('rejects bad subscribe options with typed errors', async () => {
      const handler = () => undefined;
      for (const subjects of [['order..placed'], ['order.>.x'], ['ord*'], [''], ['a b']]) {
        await expect(bus.subscribe({ group: 'g', subjects, handler })).rejects.toBeInstanceOf(
          InvalidSubjectPatternError,
        );
      }
      await expect(bus.subscribe({ group: '', handler })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      await expect(
        bus.subscribe({ group: 'g', handler: 'nope' as unknown as () => void }),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(bus.subscribe({ group: 'g', maxDeliveries: 0, handler })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    });

    it('refuses to publish after close', async () => {
      await bus.close();
      await expect(bus.publish(busEvent('c-1', 'c.closed'))).rejects.toBeInstanceOf(BusClosedError);
    });
  });
}
