import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { openStoreContext, type StoreContext } from '@causewayjs/cli';
import { ManualClock, collect, schemaRegistryOf } from '@causewayjs/core';
import { SensorEventTypes } from '../../examples/sensors/sensor-events.js';
import { simulateSensors, type SensorMessage } from '../../examples/sensors/sensor-simulator.js';
import {
  sensorPayload,
  sensorTopic,
  startSensors,
  type SensorsHandle,
} from '../../examples/sensors/start-sensors.js';
import { connectDevice, mqttAvailable, mqttUrl, randomMqttName } from '../support/mqtt.js';
import { cli, jsonLines } from '../cli/cli-harness.js';
import { ExitCode } from '@causewayjs/cli/internals';

const available = await mqttAvailable();

const T0 = Date.parse('2026-01-01T00:00:00Z');
const s = (seconds: number) => T0 + seconds * 1000;

const reading = (sensorId: string, at: number, value: number): SensorMessage => ({
  kind: 'reading',
  sensorId,
  value,
  ts: s(at),
});

/**
 * Three sensors, in event-time order. The analytics run with their defaults: averages over
 * tumbling 10 s windows; an anomaly when the readings of a sliding window (20 s, every 10 s)
 * spread more than 15; an overheat when 3 readings above 80 come within 60 s of the first
 * and no maintenance notice follows them within those 60 s.
 */
const SCRIPT: SensorMessage[] = [
  reading('s1', 0, 20),
  reading('s2', 0, 70),
  reading('s3', 0, 82),
  reading('s1', 5, 22),
  reading('s1', 10, 21),
  reading('s2', 10, 85),
  reading('s3', 10, 84),
  reading('s1', 15, 45), // s1's spike
  reading('s2', 20, 88),
  reading('s3', 20, 86),
  reading('s1', 25, 23),
  { kind: 'maintenance', sensorId: 's3', ts: s(25), technician: 'ana' },
  reading('s2', 30, 90),
  reading('s3', 100, 81),
  reading('s3', 140, 83),
  reading('s3', 170, 85),
];

/**
 * Averages by hand, per sensor and tumbling window [start, start + 10 s):
 * - s1: [0,10) (20+22)/2 = 21; [10,20) (21+45)/2 = 33; [20,30) 23.
 * - s2: [0,10) 70; [10,20) 85; [20,30) 88; [30,40) 90.
 * - s3: [0,10) 82; [10,20) 84; [20,30) 86; [100,110) 81; [140,150) 83; [170,180) 85.
 */
const EXPECTED_AVERAGES: [string, number, number][] = [
  ['s1', 0, 21],
  ['s1', 10, 33],
  ['s1', 20, 23],
  ['s2', 0, 70],
  ['s2', 10, 85],
  ['s2', 20, 88],
  ['s2', 30, 90],
  ['s3', 0, 82],
  ['s3', 10, 84],
  ['s3', 20, 86],
  ['s3', 100, 81],
  ['s3', 140, 83],
  ['s3', 170, 85],
];

/**
 * Anomalies by hand. A reading at t is in the sliding windows starting at floor(t/10)*10 and
 * 10 s before (20 s long). s1: [-10,10) {20,22} spread 2; [0,20) {20,22,21,45} spread 25 > 15:
 * anomaly; [10,30) {21,45,23} spread 24: anomaly; [20,40) {23}. s2: [0,20) {70,85} spread
 * exactly 15, not more: none; later windows spread 3 and 2. s3: spreads of 2 at most.
 */
const EXPECTED_ANOMALIES = [
  { sensorId: 's1', windowStart: s(0), windowEnd: s(20), min: 20, max: 45, spread: 25 },
  { sensorId: 's1', windowStart: s(10), windowEnd: s(30), min: 21, max: 45, spread: 24 },
];

/**
 * Overheats by hand (readings above 80). s1: none above 80. s2: 85@10, 88@20, 90@30, all
 * within 60 s of the first, no maintenance notice: alert, established when event time
 * reaches 10 + 60 = 70 s. s3: 82@0, 84@10, 86@20, but maintenance at 25 (before 60): none;
 * then 81@100, 83@140, 85@170: the third is 70 s after the first, and from 140 only two: none.
 */
const EXPECTED_OVERHEATS = [
  {
    sensorId: 's2',
    threshold: 80,
    readings: [
      { value: 85, ts: s(10) },
      { value: 88, ts: s(20) },
      { value: 90, ts: s(30) },
    ],
    at: s(70),
  },
];

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

describe('sensor simulation', () => {
  it('is deterministic for a seed, in event-time order, with spikes, overheats and maintenance', () => {
    const run = (seed: number) => [
      ...simulateSensors({
        sensors: 3,
        seed,
        start: T0,
        intervalMs: 1000,
        ticks: 400,
        overheatRate: 0.02,
        spikeRate: 0.02,
      }),
    ];
    const a = run(42);
    expect(run(42)).toEqual(a);
    expect(run(43)).not.toEqual(a);
    expect(a.filter((m) => m.kind === 'reading')).toHaveLength(3 * 400);
    const times = a.map((m) => m.ts);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    const values = a.flatMap((m) => (m.kind === 'reading' ? [m.value] : []));
    expect(values.some((v) => v > 80)).toBe(true);
    expect(a.some((m) => m.kind === 'maintenance')).toBe(true);
  });
});

describe('causeway sensors: arguments', () => {
  it('refuses a broker address that is not an MQTT URL with a usage error', async () => {
    for (const url of ['foo', 'http://127.0.0.1:1883', 'mqtt://']) {
      // (`--duration`: were the URL taken, the run would still end.)
      const run = await cli([
        'sensors',
        '--store',
        'memory:',
        '--mqtt',
        url,
        '--no-serve',
        '--duration',
        '1',
        '--session-expiry',
        '1',
      ]);
      expect(run.code).toBe(ExitCode.USAGE);
      expect(run.stderr).toContain('CLI_USAGE');
      expect(run.stderr).toContain('mqtt://127.0.0.1:1883');
    }
  });
});

describe.skipIf(!available)('sensor platform over MQTT (shared Mosquitto)', () => {
  let context: StoreContext;

  async function listen(filter: string) {
    const client: MqttClient = await connectDevice();
    cleanups.push(() => client.endAsync(true));
    const received: { topic: string; data: unknown }[] = [];
    client.on('message', (topic, payload) =>
      received.push({ topic, data: JSON.parse(payload.toString()) as unknown }),
    );
    await client.subscribeAsync(filter, { qos: 1 });
    return received;
  }

  it('ingests the readings, computes averages, anomalies and overheats, and publishes the alerts back', async () => {
    const prefix = randomMqttName('sensors');
    context = await openStoreContext('memory:');
    cleanups.push(() => context.close());
    const alertsOut = await listen(`${prefix}/alerts/#`);
    const clock = new ManualClock(T0);
    const platform: SensorsHandle = await startSensors({
      context,
      mqttUrl,
      topicPrefix: prefix,
      script: SCRIPT,
      clock,
      sessionExpirySeconds: 60,
      port: 0,
    });
    cleanups.push(() => platform.stop());

    // A reading that breaks its schema (the value is not a number) is parked, not stored.
    const device = await connectDevice();
    cleanups.push(() => device.endAsync(true));
    await device.publishAsync(
      `${prefix}/sensors/s1/readings`,
      JSON.stringify({ value: 'hot', ts: s(12) }),
      { qos: 1 },
    );
    // So is a bare number: the sensor id is only added to an object.
    await device.publishAsync(`${prefix}/sensors/s2/readings`, '21.5', { qos: 1 });
    await expect.poll(() => platform.ingest.status().parked, { timeout: 10_000 }).toBe(2);
    const parked = await platform.ingest.parkedMessages();
    expect(parked.map((p) => [p.topic.slice(prefix.length), p.error.code])).toEqual([
      ['/sensors/s1/readings', 'SCHEMA_VALIDATION_FAILED'],
      ['/sensors/s2/readings', 'SCHEMA_VALIDATION_FAILED'],
    ]);

    await expect
      .poll(() => platform.ingest.status().ingested, { timeout: 10_000 })
      .toBe(SCRIPT.length);
    expect(await platform.settle({ timeoutMs: 20_000 })).toBe(true);
    expect(platform.stats()).toMatchObject({ sent: SCRIPT.length, ingested: SCRIPT.length });
    // Event time stands at the last reading (170 s): the platform goes quiet, and after the
    // idle timeout event time follows the clock, closing every window and pending match.
    clock.advance(10 * 60_000);
    await platform.analytics.tick();
    await platform.settle({ timeoutMs: 20_000 });

    const { analytics } = platform;
    expect(
      analytics
        .averages()
        .map((a) => [a.sensorId, (a.windowStart - T0) / 1000, a.average] as const)
        .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1])),
    ).toEqual(EXPECTED_AVERAGES);
    expect(
      analytics.averages().every((a) => !a.update && a.windowEnd - a.windowStart === 10_000),
    ).toBe(true);
    expect(analytics.anomalies()).toEqual(EXPECTED_ANOMALIES);
    expect(analytics.overheats()).toEqual(EXPECTED_OVERHEATS);

    // The alerts are events of the alerts- streams...
    const alertsOf = async (sensor: string) =>
      (await collect(context.store.readStream(`alerts-${sensor}`))).map((e) => [e.type, e.data]);
    expect(await alertsOf('s1')).toEqual(
      EXPECTED_ANOMALIES.map((a) => [SensorEventTypes.anomaly, a]),
    );
    expect(await alertsOf('s2')).toEqual([[SensorEventTypes.overheat, EXPECTED_OVERHEATS[0]]]);
    expect((await context.store.streamInfo('alerts-s3')).exists).toBe(false);
    const s1Averages = await collect(context.store.readStream('sensor-averages-s1'));
    expect(s1Averages.map((e) => (e.data as { average: number }).average)).toEqual([21, 33, 23]);

    // ...published back over MQTT.
    await expect.poll(() => alertsOut.length, { timeout: 10_000 }).toBe(3);
    expect(
      alertsOut
        .map((m) => [m.topic.slice(prefix.length), m.data])
        .sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1)),
    ).toEqual(
      [
        [`/alerts/s1/${SensorEventTypes.anomaly}`, EXPECTED_ANOMALIES[0]],
        [`/alerts/s1/${SensorEventTypes.anomaly}`, EXPECTED_ANOMALIES[1]],
        [`/alerts/s2/${SensorEventTypes.overheat}`, EXPECTED_OVERHEATS[0]],
      ].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1)),
    );

    // The admin UI's API lists the alert streams, and time travel folds a sensor's stream.
    const api = async (path: string) => {
      const response = await fetch(new URL(path, platform.url));
      expect(response.status).toBe(200);
      return (await response.json()) as Record<string, unknown>;
    };
    const page = await fetch(new URL('/', platform.url));
    expect(page.headers.get('content-type')).toContain('text/html');
    const listed = (await api('streams?prefix=alerts-')) as { streams: { stream: string }[] };
    expect(listed.streams.map((x) => x.stream)).toEqual(['alerts-s1', 'alerts-s2']);
    expect((await api('streams/sensor-s2/state')).state).toEqual({
      readings: 4,
      last: { value: 90, ts: s(30) },
      min: 70,
      max: 90,
      lastMaintenance: null,
      averages: 0,
      lastAverage: null,
    });
    expect((await api('streams/alerts-s1/state?revision=0')).state).toEqual({
      anomalies: 1,
      overheats: 0,
      last: { type: SensorEventTypes.anomaly, at: s(20) },
    });

    // The readings and alerts have their schemas in the registry.
    const registry = schemaRegistryOf(context.store);
    expect(registry?.types()).toEqual(expect.arrayContaining(Object.values(SensorEventTypes)));
    expect(analytics.status()).toMatchObject({ state: 'running', late: 0 });
  });

  it('restarted midway, resumes from its checkpoint and the broker session: every alert once', async () => {
    const prefix = randomMqttName('sensors');
    context = await openStoreContext('memory:');
    cleanups.push(() => context.close());
    const alertsOut = await listen(`${prefix}/alerts/#`);
    const clock = new ManualClock(T0);
    const start = (script: SensorMessage[]) =>
      startSensors({
        context,
        mqttUrl,
        topicPrefix: prefix,
        script,
        clock,
        sessionExpirySeconds: 60,
      });

    // The first ten messages, up to s3's third high reading: s3's overheat waits for its
    // minute to pass when the platform stops.
    const first = await start(SCRIPT.slice(0, 10));
    await expect.poll(() => first.ingest.status().ingested, { timeout: 10_000 }).toBe(10);
    expect(await first.settle({ timeoutMs: 20_000 })).toBe(true);
    await first.stop();

    // While it is down, the devices go on: the broker keeps their messages for its session.
    const device = await connectDevice();
    cleanups.push(() => device.endAsync(true));
    for (const message of SCRIPT.slice(10))
      await device.publishAsync(sensorTopic(prefix, message), sensorPayload(message), { qos: 1 });

    const second = await start([]);
    cleanups.push(() => second.stop());
    await expect
      .poll(() => second.ingest.status().ingested, { timeout: 10_000 })
      .toBe(SCRIPT.length - 10);
    expect(await second.settle({ timeoutMs: 20_000 })).toBe(true);
    clock.advance(10 * 60_000);
    await second.analytics.tick();
    expect(await second.settle({ timeoutMs: 20_000 })).toBe(true);

    // The same results as one uninterrupted run, each stored once: the maintenance notice
    // that came after the restart still cancelled s3's overheat.
    const dataOf = async (stream: string) =>
      (await collect(context.store.readStream(stream))).map((e) => e.data);
    expect(await dataOf('alerts-s1')).toEqual(EXPECTED_ANOMALIES);
    expect(await dataOf('alerts-s2')).toEqual(EXPECTED_OVERHEATS);
    expect((await context.store.streamInfo('alerts-s3')).exists).toBe(false);
    const averages = (
      await Promise.all(['s1', 's2', 's3'].map((id) => dataOf(`sensor-averages-${id}`)))
    )
      .flat()
      .map((a) => {
        const { sensorId, windowStart, average } = a as {
          sensorId: string;
          windowStart: number;
          average: number;
        };
        return [sensorId, (windowStart - T0) / 1000, average];
      });
    expect(averages).toEqual(EXPECTED_AVERAGES);
    // Published at least once; three distinct alerts.
    await expect
      .poll(() => new Set(alertsOut.map((m) => JSON.stringify(m.data))).size, { timeout: 10_000 })
      .toBe(3);
  });

  it('runs from the CLI: `causeway sensors --duration` simulates, catches up and exits 0', async () => {
    const prefix = randomMqttName('sensors');
    const run = await cli([
      'sensors',
      '--store',
      'memory:',
      '--mqtt',
      mqttUrl,
      '--topic-prefix',
      prefix,
      '--sensors',
      '3',
      '--interval',
      '0.1',
      '--duration',
      '1',
      '--seed',
      '7',
      '--no-serve',
      '--session-expiry',
      '60',
      '--status-every',
      '0',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = jsonLines(run.stdout) as {
      event: string;
      sent?: number;
      ingested?: number;
      parked?: number;
    }[];
    expect(lines[0]).toMatchObject({ event: 'started', topicPrefix: prefix, url: null });
    const last = lines.at(-1);
    // Ten ticks of three sensors, and as many maintenance notices as the seed gives.
    expect(last?.event).toBe('status');
    expect(last?.sent).toBeGreaterThanOrEqual(30);
    expect(last).toMatchObject({ ingested: last?.sent, parked: 0 });
  });
});
