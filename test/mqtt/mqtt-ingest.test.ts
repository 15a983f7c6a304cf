import type { MqttClient } from 'mqtt';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  MQTT_PARKED_EVENT_TYPE,
  InvalidTopicPatternError,
  MqttIngest,
  mqttParkedMessageSchema,
  type MqttIngestOptions,
} from '@causewayjs/mqtt';
import { SqliteEventStore, sqliteSubscriptionStorage } from '@causewayjs/sqlite';
import {
  type RecordedEvent,
  BusUnavailableError,
  InvalidArgumentError,
  StoreClosedError,
  StoreUnavailableError,
  SchemaRegistry,
  withSchemas,
  collect,
  MemoryEventStore,
  memorySubscriptionStorage,
} from '@causewayjs/core';
import { freePort } from '../nats/own-nats-server.js';
import { connectDevice, mqttAvailable, mqttUrl, randomMqttName } from '../support/mqtt.js';

const available = await mqttAvailable();

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function device(): Promise<MqttClient> {
  const client = await connectDevice();
  cleanups.push(() => client.endAsync(true));
  return client;
}

async function startIngest(
  options: Omit<MqttIngestOptions, 'url' | 'clientId'> & { clientId?: string },
): Promise<MqttIngest> {
  const ingest = new MqttIngest({ url: mqttUrl, clientId: randomMqttName('ingest'), ...options });
  cleanups.push(() => ingest.stop());
  await ingest.start();
  return ingest;
}

async function temperatureRegistry(): Promise<SchemaRegistry> {
  const registry = await SchemaRegistry.open();
  await registry.register(
    'device.telemetry.recorded',
    z.object({ seq: z.number().int(), celsius: z.number() }),
  );
  return registry;
}

const events = (store: MemoryEventStore, prefix: string): Promise<RecordedEvent[]> =>
  collect(store.readAll({ filter: { streamPrefix: prefix } }));

describe.skipIf(!available)('MqttIngest (shared Mosquitto)', () => {
  let prefix: string;

  it('maps topics with captured segments to streams and types, and acknowledges once stored', async () => {
    prefix = randomMqttName('t');
    const store = new MemoryEventStore();
    const storage = memorySubscriptionStorage(store);
    const ingest = await startIngest({
      storage,
      routes: [
        {
          topic: `${prefix}/devices/+device/telemetry`,
          stream: 'device-{device}',
          type: 'device.telemetry.recorded',
        },
        {
          topic: `${prefix}/devices/+device/events/+kind`,
          stream: 'device-{device}',
          type: (match) => `device.${match.captures.kind ?? ''}`,
          data: (json, match) => ({ ...(json as object), device: match.captures.device }),
          metadata: () => ({ actor: 'gateway-1' }),
        },
      ],
    });
    const d = await device();
    await d.publishAsync(`${prefix}/devices/d7/telemetry`, '{"seq":1,"celsius":20.5}', { qos: 1 });
    await d.publishAsync(`${prefix}/devices/d7/events/rebooted`, '{"reason":"watchdog"}', {
      qos: 1,
    });
    await d.publishAsync(`${prefix}/devices/d9/telemetry`, '{"seq":1,"celsius":19}', { qos: 1 });
    await expect.poll(() => ingest.status().ingested, { timeout: 10_000 }).toBe(3);

    const d7 = await collect(store.readStream('device-d7'));
    expect(d7.map((e) => [e.type, e.data])).toEqual([
      ['device.telemetry.recorded', { seq: 1, celsius: 20.5 }],
      ['device.rebooted', { reason: 'watchdog', device: 'd7' }],
    ]);
    expect(d7[1]?.metadata).toMatchObject({
      actor: 'gateway-1',
      mqttTopic: `${prefix}/devices/d7/events/rebooted`,
    });
    expect((await collect(store.readStream('device-d9'))).length).toBe(1);
    expect(ingest.status()).toMatchObject({ state: 'running', received: 3, parked: 0 });
  });

  it('stores a message delivered twice once (same bytes, or the same event-id property)', async () => {
    prefix = randomMqttName('t');
    const store = new MemoryEventStore();
    const ingest = await startIngest({
      storage: memorySubscriptionStorage(store),
      routes: [{ topic: `${prefix}/+d/state`, stream: 'dev-{d}', type: 'dev.state.reported' }],
    });
    const d = await device();
    const topic = `${prefix}/a/state`;
    await d.publishAsync(topic, '{"on":true,"at":1}', { qos: 1 });
    await d.publishAsync(topic, '{"on":true,"at":1}', { qos: 1 });
    const withId = { qos: 1 as const, properties: { userProperties: { 'event-id': 'reading-2' } } };
    await d.publishAsync(topic, '{"on":false,"at":2}', withId);
    await d.publishAsync(topic, '{"on":false,"at":2,"resent":true}', withId);
    await expect.poll(() => ingest.status().received, { timeout: 10_000 }).toBe(4);
    const stored = await collect(store.readStream('dev-a'));
    expect(stored.map((e) => e.data)).toEqual([
      { on: true, at: 1 },
      { on: false, at: 2 },
    ]);
    expect(ingest.status()).toMatchObject({ ingested: 4, parked: 0 });
  });

  it('parks bad JSON, schema violations and unmapped topics, keeps the message, and retries or skips them', async () => {
    prefix = randomMqttName('t');
    const registry = await temperatureRegistry();
    const store = new MemoryEventStore();
    // The store validates: the ingest finds its registry.
    const storage = {
      ...memorySubscriptionStorage(store),
      store: withSchemas(store, { registry }),
    };
    const name = randomMqttName('ing');
    const ingest = await startIngest({
      name,
      storage,
      subscribe: [`${prefix}/#`],
      routes: [
        { topic: `${prefix}/+d/telemetry`, stream: 'dev-{d}', type: 'device.telemetry.recorded' },
      ],
    });
    const d = await device();
    await d.publishAsync(`${prefix}/a/telemetry`, '{"seq":1,', { qos: 1 });
    await d.publishAsync(`${prefix}/a/telemetry`, '{"seq":2,"celsius":"hot"}', { qos: 1 });
    await d.publishAsync(`${prefix}/a/status`, '{"up":true}', { qos: 1 });
    await d.publishAsync(`${prefix}/a/telemetry`, '{"seq":3,"celsius":21}', { qos: 1 });
    await expect.poll(() => ingest.status().received, { timeout: 10_000 }).toBe(4);

    expect(ingest.status()).toMatchObject({ ingested: 1, parked: 3, state: 'running' });
    expect((await collect(store.readStream('dev-a'))).map((e) => e.data)).toEqual([
      { seq: 3, celsius: 21 },
    ]);
    const parked = await ingest.parkedMessages();
    expect(parked.map((p) => [p.topic, p.error.code])).toEqual([
      [`${prefix}/a/telemetry`, 'MQTT_PAYLOAD_INVALID'],
      [`${prefix}/a/telemetry`, 'SCHEMA_VALIDATION_FAILED'],
      [`${prefix}/a/status`, 'MQTT_TOPIC_UNMAPPED'],
    ]);
    expect(Buffer.from(parked[0]?.payload ?? '', 'base64').toString()).toBe('{"seq":1,');
    const parkStream = await collect(store.readStream(ingest.parkStream));
    expect(parkStream.map((e) => e.type)).toEqual(Array(3).fill(MQTT_PARKED_EVENT_TYPE));
    expect(await storage.parked.count(name)).toBe(3);

    // A route for the status topic, under the same name: its message can now be ingested.
    await ingest.stop();
    const fixed = new MqttIngest({
      url: mqttUrl,
      clientId: randomMqttName('ingest'),
      name,
      storage,
      routes: [
        { topic: `${prefix}/+d/telemetry`, stream: 'dev-{d}', type: 'device.telemetry.recorded' },
        { topic: `${prefix}/+d/status`, stream: 'dev-{d}', type: 'device.status.reported' },
      ],
    });
    expect(await fixed.retryParked('all')).toEqual({ ingested: 1, failed: 2, missing: 0 });
    expect((await collect(store.readStream('dev-a'))).map((e) => e.type)).toEqual([
      'device.telemetry.recorded',
      'device.status.reported',
    ]);
    const left = await fixed.listParked();
    expect(left.map((p) => p.attempts)).toEqual([2, 2]);
    expect(await fixed.skipParked('all')).toBe(2);
    expect(await fixed.parkedCount()).toBe(0);
  });

  it('on a strict schema store, parking needs the parked-message schema; without it the ingest stops rather than acknowledge', async () => {
    prefix = randomMqttName('t');
    const registry = await temperatureRegistry();
    const store = new MemoryEventStore();
    const storage = {
      ...memorySubscriptionStorage(store),
      store: withSchemas(store, { registry, strict: true }),
    };
    const routes = [
      { topic: `${prefix}/+d/telemetry`, stream: 'dev-{d}', type: 'device.telemetry.recorded' },
    ];
    const clientId = randomMqttName('ingest');
    const refused = await startIngest({ storage, clientId, routes });
    const d = await device();
    await d.publishAsync(`${prefix}/a/telemetry`, 'not json', { qos: 1 });
    await expect.poll(() => refused.status().state, { timeout: 10_000 }).toBe('stopped');
    expect((refused.status().error as { code?: string } | undefined)?.code).toBe(
      'UNREGISTERED_EVENT_TYPE',
    );
    expect(await refused.parkedCount()).toBe(0);

    await registry.register(MQTT_PARKED_EVENT_TYPE, mqttParkedMessageSchema);
    // The same session: the unacknowledged message comes again, and is parked now.
    const ingest = await startIngest({ storage, clientId, routes });
    await expect.poll(() => ingest.parkedCount(), { timeout: 10_000 }).toBe(1);
    expect((await ingest.parkedMessages())[0]?.error.code).toBe('MQTT_PAYLOAD_INVALID');
  });

  it('retries at start the parked messages marked for retry elsewhere (the CLI)', async () => {
    prefix = randomMqttName('t');
    const store = new MemoryEventStore();
    const storage = memorySubscriptionStorage(store);
    const name = randomMqttName('ing');
    const telemetry = {
      topic: `${prefix}/+d/telemetry`,
      stream: 'dev-{d}',
      type: 'device.telemetry.recorded',
    };
    const first = await startIngest({
      name,
      storage,
      subscribe: [`${prefix}/#`],
      routes: [telemetry],
    });
    const d = await device();
    await d.publishAsync(`${prefix}/a/status`, '{"up":true}', { qos: 1 });
    await d.publishAsync(`${prefix}/b/status`, '{"up":false}', { qos: 1 });
    await expect.poll(() => first.parkedCount(), { timeout: 10_000 }).toBe(2);
    await first.stop();
    const [a] = await storage.parked.list(name);
    expect(await storage.parked.requestRetry(name, [a?.position ?? 0])).toBe(1);

    const second = await startIngest({
      name,
      storage,
      routes: [
        telemetry,
        { topic: `${prefix}/+d/status`, stream: 'dev-{d}', type: 'device.status' },
      ],
    });
    expect((await collect(store.readStream('dev-a'))).map((e) => e.data)).toEqual([{ up: true }]);
    expect(await second.parkedCount()).toBe(1);
    expect((await second.parkedMessages())[0]?.topic).toBe(`${prefix}/b/status`);
  });

  it('a flood of 500 malformed messages among 500 good ones: every good one stored once, every bad one parked, ingestion goes on', async () => {
    prefix = randomMqttName('t');
    const registry = await temperatureRegistry();
    const store = new MemoryEventStore();
    const storage = memorySubscriptionStorage(store);
    const ingest = await startIngest({
      storage,
      registry,
      subscribe: [`${prefix}/#`],
      routes: [
        { topic: `${prefix}/+d/telemetry`, stream: 'dev-{d}', type: 'device.telemetry.recorded' },
      ],
    });
    const d = await device();
    const good = 500;
    const publishes: Promise<unknown>[] = [];
    for (let i = 0; i < good; i += 1) {
      const dev = `d${i % 10}`;
      publishes.push(
        d.publishAsync(`${prefix}/${dev}/telemetry`, JSON.stringify({ seq: i, celsius: i / 10 }), {
          qos: 1,
        }),
      );
      const bad =
        i % 3 === 0
          ? [`${prefix}/${dev}/telemetry`, `{"seq":${i},`] // not JSON
          : i % 3 === 1
            ? [`${prefix}/${dev}/telemetry`, JSON.stringify({ seq: i, celsius: 'warm' })] // schema
            : [`${prefix}/${dev}/unknown`, JSON.stringify({ seq: i })]; // unmapped
      publishes.push(d.publishAsync(bad[0] as string, bad[1] as string, { qos: 1 }));
    }
    await Promise.all(publishes);
    await expect.poll(() => ingest.status().received, { timeout: 60_000 }).toBe(2 * good);

    const stored = await events(store, 'dev-');
    expect(stored.length).toBe(good);
    expect(new Set(stored.map((e) => (e.data as { seq: number }).seq)).size).toBe(good);
    // Each device's events are in the order they were published.
    for (let dev = 0; dev < 10; dev += 1) {
      const seqs = stored
        .filter((e) => e.stream === `dev-d${dev}`)
        .map((e) => (e.data as { seq: number }).seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    expect(await ingest.parkedCount()).toBe(good);
    const codes = new Map<string, number>();
    for (let after = 0; ;) {
      const page = await ingest.listParked({ after, limit: 200 });
      for (const p of page) codes.set(p.error.code ?? '', (codes.get(p.error.code ?? '') ?? 0) + 1);
      if (page.length < 200) break;
      after = page[page.length - 1]?.position ?? 0;
    }
    expect(Object.fromEntries(codes)).toEqual({
      MQTT_PAYLOAD_INVALID: 167,
      SCHEMA_VALIDATION_FAILED: 167,
      MQTT_TOPIC_UNMAPPED: 166,
    });
    // Still ingesting.
    await d.publishAsync(`${prefix}/d0/telemetry`, '{"seq":1000,"celsius":1}', { qos: 1 });
    await expect.poll(() => ingest.status().ingested, { timeout: 10_000 }).toBe(good + 1);
    expect(ingest.status()).toMatchObject({ state: 'running', error: undefined });
  }, 90_000);

  it('on SQLite: events and parked messages (park stream and parked list in one transaction)', async () => {
    prefix = randomMqttName('t');
    const dir = mkdtempSync(join(tmpdir(), 'causeway-mqtt-'));
    const store = SqliteEventStore.open(join(dir, 'events.db'));
    cleanups.push(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const ingest = await startIngest({
      storage: await sqliteSubscriptionStorage(store),
      registry: await temperatureRegistry(),
      routes: [
        { topic: `${prefix}/+d/telemetry`, stream: 'dev-{d}', type: 'device.telemetry.recorded' },
      ],
    });
    const d = await device();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 100; i += 1) {
      sends.push(d.publishAsync(`${prefix}/a/telemetry`, `{"seq":${i},"celsius":1}`, { qos: 1 }));
      sends.push(d.publishAsync(`${prefix}/a/telemetry`, `{"seq":${i},"celsius":[]}`, { qos: 1 }));
    }
    await Promise.all(sends);
    await expect.poll(() => ingest.status().received, { timeout: 20_000 }).toBe(200);
    expect((await collect(store.readStream('dev-a'))).length).toBe(100);
    const parkStream = await collect(store.readStream(ingest.parkStream));
    const listed = [];
    for (let after = 0; ;) {
      const page = await ingest.listParked({ after, limit: 500 });
      listed.push(...page);
      if (page.length < 500) break;
      after = page[page.length - 1]?.position ?? 0;
    }
    expect(listed.map((p) => [p.position, p.eventId])).toEqual(
      parkStream.map((e) => [e.position, e.id]),
    );
    expect(listed.length).toBe(100);
  });

  it('a crash between the commit and the PUBACK: the broker delivers the message again, and it is stored once', async () => {
    prefix = randomMqttName('t');
    const store = new MemoryEventStore();
    const storage = memorySubscriptionStorage(store);
    const clientId = randomMqttName('ingest');
    const routes = [{ topic: `${prefix}/+d/t`, stream: 'dev-{d}', type: 'dev.t' }];
    // The 3rd append commits, then the process "dies": the store closes under the ingest.
    let appends = 0;
    const append = store.append.bind(store);
    store.append = async (...args: Parameters<MemoryEventStore['append']>) => {
      const result = await append(...args);
      appends += 1;
      if (appends === 3) throw new StoreClosedError();
      return result;
    };
    const first = await startIngest({ storage, clientId, routes });
    const d = await device();
    for (let i = 0; i < 10; i += 1) await d.publishAsync(`${prefix}/a/t`, `{"i":${i}}`, { qos: 1 });
    await expect.poll(() => first.status().state, { timeout: 10_000 }).toBe('stopped');
    expect(first.status().error).toBeInstanceOf(StoreClosedError);
    expect(first.status().ingested).toBe(2);
    expect((await collect(store.readStream('dev-a'))).length).toBe(3);

    // The same session again: the unacknowledged 3rd message comes first, then the rest.
    const second = await startIngest({ storage, clientId, routes });
    await expect.poll(() => second.status().ingested, { timeout: 10_000 }).toBe(8);
    const stored = await collect(store.readStream('dev-a'));
    expect(stored.map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('keeps a message unacknowledged while the store is unavailable, and stores it once it is back', async () => {
    prefix = randomMqttName('t');
    const store = new MemoryEventStore();
    const storage = memorySubscriptionStorage(store);
    let failing = 3;
    const append = store.append.bind(store);
    store.append = async (...args: Parameters<MemoryEventStore['append']>) => {
      if (failing > 0) {
        failing -= 1;
        throw new StoreUnavailableError('the database is away');
      }
      return append(...args);
    };
    const ingest = await startIngest({
      storage,
      retry: { baseDelayMs: 10, maxDelayMs: 20 },
      routes: [{ topic: `${prefix}/+d/t`, stream: 'dev-{d}', type: 'dev.t' }],
    });
    const d = await device();
    await d.publishAsync(`${prefix}/a/t`, '{"v":1}', { qos: 1 });
    await expect.poll(() => ingest.status().ingested, { timeout: 10_000 }).toBe(1);
    expect(ingest.status()).toMatchObject({ failures: 3, parked: 0, state: 'running' });
    expect((await collect(store.readStream('dev-a'))).length).toBe(1);
  });
});

describe('MqttIngest options', () => {
  const storage = memorySubscriptionStorage(new MemoryEventStore());
  const base = { url: 'mqtt://127.0.0.1:1', clientId: 'c', storage };

  it('refuses malformed routes with typed errors', () => {
    expect(
      () => new MqttIngest({ ...base, routes: [{ topic: 'a/+d', stream: 's-{x}', type: 't' }] }),
    ).toThrow(InvalidArgumentError);
    expect(
      () => new MqttIngest({ ...base, routes: [{ topic: 'a/#/b', stream: 's', type: 't' }] }),
    ).toThrow(InvalidTopicPatternError);
    expect(() => new MqttIngest({ ...base, routes: [] })).toThrow(InvalidArgumentError);
    expect(
      () =>
        new MqttIngest({ ...base, clientId: '', routes: [{ topic: 'a', stream: 's', type: 't' }] }),
    ).toThrow(InvalidArgumentError);
  });

  it('start() fails with BusUnavailableError when no broker answers', async () => {
    const port = await freePort();
    const ingest = new MqttIngest({
      ...base,
      url: `mqtt://127.0.0.1:${port}`,
      connectTimeoutMs: 500,
      routes: [{ topic: 'a/+d', stream: 's-{d}', type: 't' }],
    });
    await expect(ingest.start()).rejects.toBeInstanceOf(BusUnavailableError);
    expect(ingest.status().state).toBe('stopped');
  });
});
