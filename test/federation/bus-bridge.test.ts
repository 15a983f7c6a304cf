import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  InProcessBus,
  SchemaRegistry,
  withSchemas,
  type RecordedEvent,
  busBridge,
  bridgeAppends,
  busToStoreHandler,
  type Translation,
  MemoryEventStore,
  memorySubscriptionStorage,
} from '@causewayjs/core';
import {
  appendShopEvents,
  expectedTarget,
  shopToSales,
  targetEvents,
  type Carried,
} from './bridge-fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup() {
  const store = new MemoryEventStore();
  const bus = new InProcessBus({ prefix: 'fed' });
  cleanups.push(() => store.close());
  cleanups.push(() => bus.close());
  return { store, storage: memorySubscriptionStorage(store), bus };
}

describe('busBridge: store → bus through a translation', () => {
  it('publishes the translated source once, in order, across a replay', async () => {
    const { store, storage, bus } = setup();
    const seen: RecordedEvent[] = [];
    const member = await bus.subscribe({ group: 'sales', handler: (e) => void seen.push(e) });
    cleanups.push(() => member.stop());
    await appendShopEvents(store, 200);
    const make = () =>
      busBridge({ name: 'shop-to-bus', storage, bus, translation: shopToSales, sourceId: 'shop' });
    const relay = make();
    await relay.start();
    await relay.waitForPosition(200, { timeoutMs: 10_000 });
    await relay.stop();
    const expected = await expectedTarget(store, 'shop', shopToSales);
    const carried = () => seen.map(({ id, stream, type, data }) => ({ id, stream, type, data }));
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(expected.length);
    expect(carried()).toEqual(expected);
    expect(seen[0]?.metadata).toMatchObject({
      context: 'sales',
      origin: { system: 'shop', position: 1 },
    });

    // After a crash before the checkpoint: republished, deduplicated by the bus.
    await storage.checkpoints.save('shop-to-bus', 50);
    const again = make();
    await again.start();
    await appendShopEvents(store, 50, 200);
    await again.waitForPosition(250, { timeoutMs: 10_000 });
    expect(again.status().duplicates).toBeGreaterThan(0);
    await again.stop();
    const all = await expectedTarget(store, 'shop', shopToSales);
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(all.length);
    expect(carried()).toEqual(all);
  });

  it('parks an event whose translation fails; retried once the translation is fixed', async () => {
    const { store, storage, bus } = setup();
    const seen: RecordedEvent[] = [];
    const member = await bus.subscribe({ group: 'g', handler: (e) => void seen.push(e) });
    cleanups.push(() => member.stop());
    let broken = true;
    const translation: Translation = (e) => {
      if (broken && (e.data as { n: number }).n === 2) throw new Error('cannot map n=2');
      return { ...e, type: 'mapped.event' };
    };
    for (let n = 1; n <= 3; n++) await store.append('s', [{ type: 'raw.event', data: { n } }]);
    const relay = busBridge({ name: 'b', storage, bus, translation });
    cleanups.push(() => relay.stop());
    await relay.start();
    await relay.waitForPosition(3, { timeoutMs: 10_000 });
    const parked = await relay.listParked();
    expect(parked.map((p) => [p.position, p.error.code])).toEqual([[2, 'TRANSLATION_FAILED']]);
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(2);
    broken = false;
    expect(await relay.retryParked('all')).toMatchObject({ published: 1, failed: 0 });
    await expect
      .poll(() => seen.map((e) => (e.data as { n: number }).n), { timeout: 10_000 })
      .toEqual([1, 3, 2]);
    expect(await relay.parkedCount()).toBe(0);
  });
});

describe('busToStoreHandler: bus → store', () => {
  it('appends what the bus delivers, translated, once even when delivered twice', async () => {
    const { store, storage, bus } = setup();
    const target = new MemoryEventStore();
    cleanups.push(() => target.close());
    const handler = busToStoreHandler({ target, sourceId: 'bus-in', translation: shopToSales });
    const ingest = await bus.subscribe({ group: 'ingest', handler });
    cleanups.push(() => ingest.stop());
    const seen: RecordedEvent[] = [];
    const recorder = await bus.subscribe({ group: 'recorder', handler: (e) => void seen.push(e) });
    cleanups.push(() => recorder.stop());
    await appendShopEvents(store, 100);
    const relay = busBridge({ name: 'raw', storage, bus, sourceId: 'shop' });
    cleanups.push(() => relay.stop());
    await relay.start();
    await relay.waitForPosition(100, { timeoutMs: 10_000 });
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(100);
    const expected: Carried[] = [];
    for (const e of seen)
      for (const r of await bridgeAppends(e, { sourceId: 'bus-in', translation: shopToSales }))
        for (const out of r.events)
          expected.push({ id: out.id as string, stream: r.stream, type: out.type, data: out.data });
    await expect.poll(() => targetEvents(target), { timeout: 10_000 }).toEqual(expected);
    // A redelivery (one the bus no longer deduplicates, say) appends nothing new.
    const context = { subject: 'x', group: 'ingest', attempt: 2, retryingParked: false };
    for (const e of seen.slice(0, 10))
      expect(
        await handler(e, { ...context, signal: new AbortController().signal }),
      ).toBeUndefined();
    expect(await targetEvents(target)).toEqual(expected);
  });

  it('parks what it cannot translate and what the target schemas refuse', async () => {
    const registry = await SchemaRegistry.open();
    await registry.register('sales.order-opened', z.object({ total: z.number() }));
    const target = new MemoryEventStore();
    cleanups.push(() => target.close());
    const handler = busToStoreHandler({
      target: withSchemas(target, { registry }),
      sourceId: 'bus-in',
      translation: (e) => {
        if (e.type === 'order.weird') throw new Error('no such thing in sales');
        return { type: 'sales.order-opened', data: e.data };
      },
    });
    const event = (type: string, data: unknown, position: number): RecordedEvent => ({
      id: `0190a0b0-0000-7000-8000-00000000000${position}`,
      type,
      stream: 'order-1',
      revision: position - 1,
      position,
      data,
      metadata: {},
      schemaVersion: 1,
      recordedAt: new Date(0),
    });
    const context = { subject: 'x', group: 'g', attempt: 1, retryingParked: false };
    const signal = new AbortController().signal;
    expect(
      await handler(event('order.placed', { total: 1 }, 1), { ...context, signal }),
    ).toBeUndefined();
    expect(await handler(event('order.weird', {}, 2), { ...context, signal })).toMatchObject({
      action: 'park',
      reason: expect.stringMatching(/^TRANSLATION_FAILED/) as unknown,
    });
    expect(
      await handler(event('order.placed', { total: 'x' }, 3), { ...context, signal }),
    ).toMatchObject({
      action: 'park',
      reason: expect.stringMatching(/target refused/) as unknown,
    });
    expect((await targetEvents(target)).map((e) => e.data)).toEqual([{ total: 1 }]);
  });
});
