import { afterEach, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { MqttIngest, MqttPublisher } from '@causewayjs/mqtt';
import {
  OutboxRelay,
  collect,
  MemoryEventStore,
  memorySubscriptionStorage,
} from '@causewayjs/core';
import { connectDevice, randomMqttName } from '../support/mqtt.js';
import { PrivateMosquitto, privateMosquittoAvailable } from '../support/private-mosquitto.js';

const available = privateMosquittoAvailable();

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

describe.skipIf(!available)('MQTT ingest across a broker restart (a private Mosquitto)', () => {
  it.each(['SIGKILL', 'SIGTERM'] as const)(
    'the broker ended by %s and restarted mid-flow: every message stored, none twice',
    async (signal) => {
      const broker = await PrivateMosquitto.start();
      cleanups.push(() => broker.cleanup());
      const store = new MemoryEventStore();
      // From the 50th append on, an append commits and then waits for the gate: the ingest
      // holds a stored message whose PUBACK it has not sent when the broker goes away.
      let appends = 0;
      let openGate: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      const append = store.append.bind(store);
      store.append = async (...args: Parameters<MemoryEventStore['append']>) => {
        const result = await append(...args);
        appends += 1;
        if (appends >= 50) await gate;
        return result;
      };
      const ingest = new MqttIngest({
        url: broker.url,
        clientId: randomMqttName('ingest'),
        storage: memorySubscriptionStorage(store),
        routes: [
          { topic: 'plant/+device/telemetry', stream: 'device-{device}', type: 'telemetry' },
        ],
        clientOptions: { reconnectPeriod: 100 },
      });
      cleanups.push(() => ingest.stop());
      await ingest.start();
      // A device whose QoS 1 publishes not yet acknowledged are sent again after reconnecting.
      const device = await connectDevice(broker.url, randomMqttName('device'));
      cleanups.push(() => device.endAsync(true));
      device.on('error', () => undefined);

      const total = 600;
      const publish = (i: number) =>
        device.publishAsync(
          `plant/d${i % 4}/telemetry`,
          JSON.stringify({ seq: i, celsius: (i % 50) / 2 }),
          { qos: 1 },
        );
      const first = Array.from({ length: total / 2 }, (_, i) => publish(i));
      await Promise.all(first);
      // Mosquitto writes its persistence file once changes pass `autosave_interval` (1): one
      // more change (a retained message on a topic nobody subscribes to) gets the queued
      // messages above written out before the broker is killed. What a broker acknowledged
      // but never wrote is its own loss, not the ingest's.
      await device.publishAsync('plant/flush', 'x', { qos: 1, retain: true });
      // Mid-flow: the ingest has stored some of what the broker holds, not all.
      await expect.poll(() => appends, { timeout: 20_000 }).toBe(50);
      expect(ingest.status().ingested).toBe(49);
      await broker.kill(signal);
      openGate(); // its PUBACK goes nowhere: the broker must deliver it again
      // Published while the broker is down: mqtt.js holds them and sends them on reconnecting.
      const second = Array.from({ length: total / 2 }, (_, i) => publish(total / 2 + i));
      await broker.run();
      await Promise.all(second);

      await expect
        .poll(async () => (await collect(store.readAll())).length, { timeout: 30_000 })
        .toBe(total);
      const events = await collect(store.readAll());
      const seqs = events.map((e) => (e.data as { seq: number }).seq);
      expect(new Set(seqs).size).toBe(total); // 0 duplicated
      expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i)); // 0 lost
      expect(new Set(events.map((e) => e.id)).size).toBe(total);
      // Messages came again (at least the one in hand), and each was an idempotent append.
      expect(ingest.status()).toMatchObject({ state: 'running', parked: 0, error: undefined });
      expect(ingest.status().received).toBeGreaterThan(total);
    },
    60_000,
  );

  it('publishing through the relay while the broker is killed and restarted: every event arrives, the relay checkpoints the head', async () => {
    const broker = await PrivateMosquitto.start();
    cleanups.push(() => broker.cleanup());
    // A subscriber with a persistent session: what is published while it reconnects waits.
    const subscriber = mqtt.connect(broker.url, {
      clientId: randomMqttName('sub'),
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 600 },
      reconnectPeriod: 100,
    });
    cleanups.push(() => subscriber.endAsync(true));
    subscriber.on('error', () => undefined);
    const received: string[] = [];
    subscriber.on('message', (_topic, _payload, packet) => {
      const id = packet.properties?.userProperties?.['event-id'];
      if (typeof id === 'string') received.push(id);
    });
    await new Promise((resolve) => subscriber.once('connect', resolve));
    await subscriber.subscribeAsync('plant/#', { qos: 1 });

    const store = new MemoryEventStore();
    const publisher = await MqttPublisher.connect({
      url: broker.url,
      routes: [{ topic: 'plant/{stream}/setpoint' }],
      publishTimeoutMs: 1000,
      clientOptions: { reconnectPeriod: 100 },
    });
    cleanups.push(() => publisher.close());
    const relay = new OutboxRelay({
      storage: memorySubscriptionStorage(store),
      bus: publisher,
      maxInFlight: 16,
      batchSize: 50,
      retry: { baseDelayMs: 50, maxDelayMs: 300 },
    });
    cleanups.push(() => relay.stop());
    await relay.start();

    const total = 400;
    for (let i = 0; i < total / 2; i += 1)
      await store.append(`device-${i % 4}`, [{ type: 'setpoint.changed', data: { i } }]);
    await expect.poll(() => relay.status().position, { timeout: 20_000 }).toBeGreaterThan(20);
    await broker.kill('SIGKILL');
    for (let i = total / 2; i < total; i += 1)
      await store.append(`device-${i % 4}`, [{ type: 'setpoint.changed', data: { i } }]);
    await expect.poll(() => relay.status().state, { timeout: 10_000 }).toBe('waiting-for-broker');
    await broker.run();

    await relay.waitForPosition(total, { timeoutMs: 30_000 });
    const ids = (await collect(store.readAll())).map((e) => e.id);
    await expect
      .poll(() => ids.filter((id) => !received.includes(id)).length, { timeout: 20_000 })
      .toBe(0); // 0 lost
    expect(relay.status()).toMatchObject({ position: total, parked: 0 });
    expect(relay.status().failures).toBeGreaterThan(0);
  }, 60_000);
});
