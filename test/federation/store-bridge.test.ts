import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  openBackend,
  type Backend,
  StoreBridge,
  type Translation,
  SchemaRegistry,
  withSchemas,
  SubscriptionLeasedError,
  StoreUnavailableError,
} from '@causewayjs/core';
import { SqliteEventStore } from '@causewayjs/sqlite';
import { CausewayMetrics, RuntimeRegistry, subscriptionSource } from '@causewayjs/core/internals';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import { appendShopEvents, expectedTarget, shopToSales, targetEvents } from './bridge-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'causeway-bridge-'));
const open: Backend[] = [];
afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function backend(url: string, options = {}): Promise<Backend> {
  const b = await openBackend(url, options);
  open.push(b);
  return b;
}

/**
 * Bridges 300 events, then replays as after a crash between the target append and the
 * source checkpoint (checkpoint moved back), then bridges 100 more: the target holds the
 * translated source exactly, once.
 */
async function bridgeAndReplay(source: Backend, target: Backend): Promise<void> {
  await appendShopEvents(source.store, 300);
  const storage = await source.subscriptionStorage();
  const make = () =>
    new StoreBridge({
      name: 'shop-to-sales',
      source: storage,
      target: target.store,
      translation: shopToSales,
      batchSize: 50,
    });
  const bridge = make();
  await bridge.start();
  await bridge.waitForPosition(300, { timeoutMs: 20_000 });
  expect(await bridge.lag()).toBe(0);
  await bridge.stop();
  const expected = await expectedTarget(source.store, 'shop-to-sales', shopToSales);
  expect(expected.length).toBeGreaterThan(250);
  expect(await targetEvents(target.store)).toEqual(expected);

  // The crash window: the target has everything, the source checkpoint is behind.
  await storage.checkpoints.save('shop-to-sales', 120);
  const replay = make();
  await replay.start();
  await appendShopEvents(source.store, 100, 300);
  await replay.waitForPosition(400, { timeoutMs: 20_000 });
  expect(replay.status).toMatchObject({ translationFailures: 0, state: 'running' });
  expect(replay.status.written).toBeGreaterThan(0); // the replay did re-append
  await replay.stop();
  expect(await targetEvents(target.store)).toEqual(
    await expectedTarget(source.store, 'shop-to-sales', shopToSales),
  );
}

describe('StoreBridge', () => {
  it('memory → SQLite: the target holds the translated source once, across a replay', async () => {
    await bridgeAndReplay(await backend('memory:'), await backend(`sqlite:${join(dir, 'a.db')}`));
  });

  it('SQLite → PostgreSQL: the same, across adapters', async (ctx) => {
    if (!(await pgAvailable())) ctx.skip();
    const schema = randomSchemaName();
    try {
      await bridgeAndReplay(
        await backend(`sqlite:${join(dir, 'b.db')}`),
        await backend(pgUrl, { schema }),
      );
    } finally {
      for (const b of open.splice(0)) await b.close();
      await dropSchema(schema);
    }
  });

  it('parks failed translations and events the target schemas refuse; retried once fixed', async () => {
    const source = await backend('memory:');
    const target = await backend(`sqlite:${join(dir, 'c.db')}`);
    const registry = await SchemaRegistry.open();
    await registry.register(
      'sales.order-opened',
      z.object({ orderId: z.string(), total: z.number() }),
    );
    let broken = true;
    const translation: Translation = (e) => {
      const data = e.data as { total: unknown; orderId: string };
      if (data.orderId === 'bad' && broken) throw new Error('unknown order id');
      return { type: 'sales.order-opened', data: { orderId: data.orderId, total: data.total } };
    };
    await source.store.append('order-1', [
      { type: 'order.placed', data: { orderId: 'o1', total: 1 } },
      { type: 'order.placed', data: { orderId: 'bad', total: 2 } },
      { type: 'order.placed', data: { orderId: 'o3', total: 'three' } },
      { type: 'order.placed', data: { orderId: 'o4', total: 4 } },
    ]);
    const storage = await source.subscriptionStorage();
    const bridge = new StoreBridge({
      name: 'strict',
      source: storage,
      idleCheckIntervalMs: 20,
      target: withSchemas(target.store, { registry }),
      translation,
    });
    await bridge.start();
    await bridge.waitForPosition(4, { timeoutMs: 10_000 });
    const parked = await bridge.listParked();
    expect(parked.map((p) => [p.position, p.error.code])).toEqual([
      [2, 'TRANSLATION_FAILED'],
      [3, 'SCHEMA_VALIDATION_FAILED'],
    ]);
    expect(parked[0]?.error.message).toMatch(/unknown order id/);
    expect(bridge.status.translationFailures).toBe(1);
    expect((await targetEvents(target.store)).map((e) => e.data)).toEqual([
      { orderId: 'o1', total: 1 },
      { orderId: 'o4', total: 4 },
    ]);

    broken = false;
    // A retry asked for by another process (causeway parked retry, the admin UI).
    await storage.parked.requestRetry('strict', 'all');
    await expect.poll(() => bridge.parkedCount(), { timeout: 10_000 }).toBe(1);
    expect((await bridge.listParked())[0]).toMatchObject({ position: 3, retryRequested: false });
    expect(await bridge.skipParked([3])).toBe(1);
    expect((await targetEvents(target.store)).map((e) => e.data)).toEqual([
      { orderId: 'o1', total: 1 },
      { orderId: 'o4', total: 4 },
      { orderId: 'bad', total: 2 },
    ]);
    await bridge.stop();
  });

  it('parks a source event that cannot be decoded, with its code, and carries the rest', async () => {
    const file = join(dir, 'spoilt.db');
    const source = await backend(`sqlite:${file}`);
    const target = await backend('memory:');
    for (let n = 1; n <= 3; n++)
      await source.store.append(`order-${n}`, [
        { type: 'order.placed', data: { orderId: `o${n}`, total: n } },
      ]);
    // Spoilt behind the store's back: data that is no JSON.
    const raw = SqliteEventStore.open(file);
    raw.database.prepare("UPDATE causeway_events SET data = '{bad' WHERE position = 2").run();
    await raw.close();
    const bridge = new StoreBridge({
      name: 'spoilt',
      source: await source.subscriptionStorage(),
      idleCheckIntervalMs: 20,
      target: target.store,
      translation: (e) => ({ type: 'sales.order-opened', data: e.data }),
    });
    await bridge.start();
    await bridge.waitForPosition(3, { timeoutMs: 10_000 });
    expect((await bridge.listParked()).map((p) => [p.position, p.error.code])).toEqual([
      [2, 'EVENT_DECODE_FAILED'],
    ]);
    expect((await targetEvents(target.store)).map((e) => e.data)).toEqual([
      { orderId: 'o1', total: 1 },
      { orderId: 'o3', total: 3 },
    ]);
    expect(bridge.status.state).toBe('running');
    await bridge.stop();
  });

  it('is fenced by its lease in the source, and reports to the runtime registry', async () => {
    const source = await backend(`sqlite:${join(dir, 'd.db')}`);
    const target = await backend('memory:');
    const storage = await source.subscriptionStorage();
    await appendShopEvents(source.store, 20);
    const options = {
      name: 'fenced',
      source: storage,
      target: target.store,
      translation: shopToSales,
    };
    const first = new StoreBridge({ ...options, owner: 'one' });
    await first.start();
    const second = new StoreBridge({ ...options, owner: 'two' });
    await expect(second.start()).rejects.toBeInstanceOf(SubscriptionLeasedError);
    await first.waitForPosition(20, { timeoutMs: 10_000 });

    const registry = new RuntimeRegistry(() => source.store.headPosition());
    registry.add(subscriptionSource(first));
    await appendShopEvents(source.store, 10, 20);
    await first.waitForPosition(30, { timeoutMs: 10_000 });
    const snapshot = await registry.snapshot();
    expect(snapshot.components).toEqual([
      expect.objectContaining({
        name: 'fenced',
        state: 'running',
        position: 30,
        lag: 0,
        parked: 0,
      }),
    ]);
    // Or as a relay, with Prometheus figures under the bridge's name.
    const metrics = new CausewayMetrics({ processMetrics: false })
      .trackHead(() => source.store.headPosition())
      .trackRelay(first.relay);
    expect((await metrics.runtime.snapshot()).components).toEqual([
      expect.objectContaining({ kind: 'relay', name: 'fenced', state: 'running', lag: 0 }),
    ]);
    expect(await metrics.registry.metrics()).toMatch(/causeway_relay_state\{[^}]*fenced/);
    await first.stop();
    await appendShopEvents(source.store, 10, 30);
    expect(await first.lag()).toBe(10);
    expect((await registry.snapshot()).components[0]).toMatchObject({ state: 'stopped', lag: 10 });
  });

  it('two bridges, one each way, carry the events of each side over once and do not loop', async () => {
    const a = await backend('memory:');
    const b = await backend(`sqlite:${join(dir, 'e.db')}`);
    const ab = new StoreBridge({
      name: 'a-to-b',
      sourceId: 'A',
      targetId: 'B',
      source: await a.subscriptionStorage(),
      target: b.store,
    });
    const ba = new StoreBridge({
      name: 'b-to-a',
      sourceId: 'B',
      targetId: 'A',
      source: await b.subscriptionStorage(),
      target: a.store,
    });
    await ab.start();
    await ba.start();
    await appendShopEvents(a.store, 30);
    await appendShopEvents(b.store, 20, 100);
    // Both sides settle at 50 events, and stay there once both bridges have read them all.
    await expect.poll(() => a.store.headPosition(), { timeout: 10_000 }).toBe(50);
    await expect.poll(() => b.store.headPosition(), { timeout: 10_000 }).toBe(50);
    await ab.waitForPosition(50, { timeoutMs: 10_000 });
    await ba.waitForPosition(50, { timeoutMs: 10_000 });
    await ab.stop();
    await ba.stop();
    expect(await a.store.headPosition()).toBe(50);
    expect(await b.store.headPosition()).toBe(50);
    const data = async (x: Backend) =>
      (await targetEvents(x.store))
        .map((e) => (e.data as { seq: number }).seq)
        .sort((p, q) => p - q);
    expect(await data(a)).toEqual(await data(b));
    expect(ab.status).toMatchObject({ translated: 50, dropped: 20, written: 30 });
    expect(ba.status).toMatchObject({ translated: 50, dropped: 30, written: 20 });
  });

  it('waits out a failing target, in order, parking nothing', async () => {
    const source = await backend('memory:');
    const target = await backend('memory:');
    let failuresLeft = 3;
    const flaky = {
      appendMany: (requests: Parameters<typeof target.store.appendMany>[0]) => {
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          return Promise.reject(new StoreUnavailableError('target down'));
        }
        return target.store.appendMany(requests);
      },
    };
    await appendShopEvents(source.store, 40);
    const bridge = new StoreBridge({
      name: 'patient',
      source: await source.subscriptionStorage(),
      target: flaky,
      translation: shopToSales,
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
    });
    const states = new Set<string>();
    bridge.onStatus((s) => states.add(s.state));
    await bridge.start();
    await bridge.waitForPosition(40, { timeoutMs: 10_000 });
    await bridge.stop();
    expect(failuresLeft).toBe(0);
    expect(states).toContain('waiting-for-broker');
    expect(bridge.status).toMatchObject({ parked: 0, failures: 3 });
    expect(await targetEvents(target.store)).toEqual(
      await expectedTarget(source.store, 'patient', shopToSales),
    );
  });
});
