import { afterEach, describe, expect, it } from 'vitest';
import { NatsMessageBus } from '@causewayjs/nats';
import {
  busBridge,
  busToStoreHandler,
  MemoryEventStore,
  memorySubscriptionStorage,
} from '@causewayjs/core';
import { connectNats, deleteNatsStream, natsAvailable, randomNatsName } from '../support/nats.js';
import { appendShopEvents, expectedTarget, shopToSales, targetEvents } from './bridge-fixtures.js';

const available = await natsAvailable();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!available)('bridges over NATS JetStream', () => {
  it('store → NATS (translated) → store: the far store holds the translated source once, across a replay', async () => {
    const nc = await connectNats();
    const stream = randomNatsName('FED');
    cleanups.push(() => nc.close());
    cleanups.push(() => deleteNatsStream(nc, stream));
    const bus = await NatsMessageBus.open({ connection: nc, stream, prefix: stream.toLowerCase() });
    cleanups.push(() => bus.close());
    const source = new MemoryEventStore();
    const target = new MemoryEventStore();
    cleanups.push(() => source.close());
    cleanups.push(() => target.close());
    const storage = memorySubscriptionStorage(source);

    const ingest = await bus.subscribe({
      group: 'sales-ingest',
      handler: busToStoreHandler({ target, sourceId: 'nats' }),
    });
    cleanups.push(() => ingest.stop());
    await appendShopEvents(source, 100);
    const make = () =>
      busBridge({ name: 'to-nats', storage, bus, translation: shopToSales, sourceId: 'shop' });
    const relay = make();
    await relay.start();
    await relay.waitForPosition(100, { timeoutMs: 20_000 });
    await relay.stop();
    const expected = (await expectedTarget(source, 'shop', shopToSales)).map(
      ({ stream: s, type, data }) => ({ stream: s, type, data }),
    );
    const carried = async () =>
      (await targetEvents(target)).map(({ stream: s, type, data }) => ({ stream: s, type, data }));
    await expect.poll(carried, { timeout: 20_000 }).toEqual(expected);

    // A replay from a moved-back checkpoint: NATS drops the republished ids.
    await storage.checkpoints.save('to-nats', 30);
    const again = make();
    await again.start();
    await again.waitForPosition(100, { timeoutMs: 20_000 });
    expect(again.status().duplicates).toBeGreaterThan(0);
    await again.stop();
    await appendShopEvents(source, 10, 100);
    const last = make();
    await last.start();
    await last.waitForPosition(110, { timeoutMs: 20_000 });
    await last.stop();
    const all = (await expectedTarget(source, 'shop', shopToSales)).map(
      ({ stream: s, type, data }) => ({ stream: s, type, data }),
    );
    await expect.poll(carried, { timeout: 20_000 }).toEqual(all);
  });
});
