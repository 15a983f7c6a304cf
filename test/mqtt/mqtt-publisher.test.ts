import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttIngest, MqttPublisher } from '@causewayjs/mqtt';
import {
  OutboxRelay,
  InvalidArgumentError,
  collect,
  MemoryEventStore,
  memorySubscriptionStorage,
} from '@causewayjs/core';
import { connectDevice, mqttAvailable, mqttUrl, randomMqttName } from '../support/mqtt.js';

const available = await mqttAvailable();

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  userProperties: Record<string, unknown>;
}

/** A subscriber of `filter` that records what it receives. */
async function listen(filter: string): Promise<Received[]> {
  const client: MqttClient = await connectDevice();
  cleanups.push(() => client.endAsync(true));
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) =>
    received.push({
      topic,
      payload: payload.toString(),
      retain: packet.retain,
      userProperties: { ...packet.properties?.userProperties },
    }),
  );
  await client.subscribeAsync(filter, { qos: 1 });
  return received;
}

describe.skipIf(!available)('MqttPublisher with the outbox relay (shared Mosquitto)', () => {
  it('publishes events to topics made from the event, in position order, QoS 1, checkpointed', async () => {
    const prefix = randomMqttName('p');
    const store = new MemoryEventStore();
    const storage = memorySubscriptionStorage(store);
    const received = await listen(`${prefix}/#`);
    const publisher = await MqttPublisher.connect({
      url: mqttUrl,
      routes: [
        { types: ['device.setpoint.changed'], topic: `${prefix}/devices/{data.deviceId}/setpoint` },
        {
          streamPrefix: 'alarm-',
          topic: `${prefix}/alarms/{category}/{type}`,
          payload: 'envelope',
        },
      ],
    });
    cleanups.push(() => publisher.close());
    const relay = new OutboxRelay({ name: 'mqtt-out', storage, bus: publisher, maxInFlight: 16 });
    cleanups.push(() => relay.stop());
    await relay.start();

    for (let i = 0; i < 50; i += 1)
      await store.append(`device-${i % 3}`, [
        { type: 'device.setpoint.changed', data: { deviceId: `d/${i % 3}`, celsius: i } },
      ]);
    await store.append('alarm-1', [{ type: 'alarm.raised', data: { level: 'high' } }]);
    await store.append('other-1', [{ type: 'other.happened', data: {} }]);
    const head = await store.headPosition();
    await relay.waitForPosition(head, { timeoutMs: 15_000 });
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(51);

    // '/' in a value fills one level: 'd/1' becomes 'd_1'.
    expect(received[1]?.topic).toBe(`${prefix}/devices/d_1/setpoint`);
    expect(
      received.slice(0, 50).map((r) => (JSON.parse(r.payload) as { celsius: number }).celsius),
    ).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const stored = await collect(store.readAll());
    expect(received[0]?.userProperties).toEqual({
      'event-id': stored[0]?.id,
      'event-type': 'device.setpoint.changed',
      stream: 'device-0',
      position: '1',
    });
    const alarm = received[50];
    expect(alarm?.topic).toBe(`${prefix}/alarms/alarm/alarm.raised`);
    expect(JSON.parse(alarm?.payload ?? '{}')).toMatchObject({
      stream: 'alarm-1',
      data: { level: 'high' },
    });
    expect(publisher.status()).toEqual({ connected: true, published: 51, unrouted: 1 });
    expect(relay.status()).toMatchObject({ position: head, parked: 0 });
  });

  it('retain: a new subscriber gets the last state of each topic', async () => {
    const prefix = randomMqttName('p');
    const store = new MemoryEventStore();
    const publisher = await MqttPublisher.connect({
      url: mqttUrl,
      routes: [{ topic: `${prefix}/state/{stream}`, retain: true }],
    });
    cleanups.push(() => publisher.close());
    const relay = new OutboxRelay({ storage: memorySubscriptionStorage(store), bus: publisher });
    cleanups.push(() => relay.stop());
    await relay.start();
    for (let i = 1; i <= 5; i += 1)
      await store.append('lamp-1', [{ type: 'lamp.set', data: { level: i } }]);
    await store.append('lamp-2', [{ type: 'lamp.set', data: { level: 9 } }]);
    await relay.waitForPosition(await store.headPosition(), { timeoutMs: 15_000 });

    const late = await listen(`${prefix}/state/+`);
    await expect.poll(() => late.length, { timeout: 10_000 }).toBe(2);
    const byTopic = Object.fromEntries(
      late.map((r) => [r.topic, [r.retain, JSON.parse(r.payload)]]),
    );
    expect(byTopic).toEqual({
      [`${prefix}/state/lamp-1`]: [true, { level: 5 }],
      [`${prefix}/state/lamp-2`]: [true, { level: 9 }],
    });
    // Clear the retained messages this test left on the shared broker.
    const d = await connectDevice();
    await d.publishAsync(`${prefix}/state/lamp-1`, '', { retain: true, qos: 1 });
    await d.publishAsync(`${prefix}/state/lamp-2`, '', { retain: true, qos: 1 });
    await d.endAsync(true);
  });

  it('parks an event that can never be published (no value for a topic placeholder) and goes on', async () => {
    const prefix = randomMqttName('p');
    const store = new MemoryEventStore();
    const received = await listen(`${prefix}/#`);
    const publisher = await MqttPublisher.connect({
      url: mqttUrl,
      routes: [{ topic: `${prefix}/{data.room}/t` }],
    });
    cleanups.push(() => publisher.close());
    const relay = new OutboxRelay({ storage: memorySubscriptionStorage(store), bus: publisher });
    cleanups.push(() => relay.stop());
    await relay.start();
    await store.append('t-1', [{ type: 't.read', data: { room: 'hall', v: 1 } }]);
    await store.append('t-1', [{ type: 't.read', data: { v: 2 } }]);
    await store.append('t-1', [{ type: 't.read', data: { room: 'hall', v: 3 } }]);
    await relay.waitForPosition(3, { timeoutMs: 15_000 });
    await expect
      .poll(() => received.map((r) => r.payload), { timeout: 10_000 })
      .toEqual(['{"room":"hall","v":1}', '{"room":"hall","v":3}']);
    const parked = await relay.listParked();
    expect(parked.map((p) => [p.position, p.error.code])).toEqual([[2, 'MQTT_MAPPING_FAILED']]);
  });

  it('closes the loop: events published with their event-id are ingested back as the same events', async () => {
    const prefix = randomMqttName('p');
    const source = new MemoryEventStore();
    const sink = new MemoryEventStore();
    const ingest = new MqttIngest({
      url: mqttUrl,
      clientId: randomMqttName('ingest'),
      storage: memorySubscriptionStorage(sink),
      routes: [{ topic: `${prefix}/+s`, stream: 'copy-{s}', type: 'copied' }],
    });
    cleanups.push(() => ingest.stop());
    await ingest.start();
    const publisher = await MqttPublisher.connect({
      url: mqttUrl,
      routes: [{ topic: `${prefix}/{stream}` }],
    });
    cleanups.push(() => publisher.close());
    const relay = new OutboxRelay({ storage: memorySubscriptionStorage(source), bus: publisher });
    cleanups.push(() => relay.stop());
    await relay.start();
    await source.append('a', [
      { type: 'x', data: { n: 1 } },
      { type: 'x', data: { n: 1 } },
    ]);
    await expect.poll(() => ingest.status().ingested, { timeout: 10_000 }).toBe(2);
    const ids = (await collect(source.readAll())).map((e) => e.id);
    expect((await collect(sink.readStream('copy-a'))).map((e) => e.id)).toEqual(ids);
  });

  it('refuses malformed routes with a typed error', async () => {
    for (const routes of [
      [{ topic: 'a/+/b' }],
      [{ topic: 'a/{nope}' }],
      [{ topic: 'a', qos: 2 }],
      [],
    ]) {
      await expect(
        MqttPublisher.connect({ url: mqttUrl, routes: routes as never }),
        JSON.stringify(routes),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
    }
  });
});
