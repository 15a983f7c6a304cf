/**
 * Starts the smart-city sensor platform on a store and an MQTT broker:
 *
 * 1. **ingest**: `MqttIngest` maps `<prefix>/sensors/<id>/readings` and
 *    `<prefix>/sensors/<id>/maintenance` to the `sensor-<id>` streams, validating each payload
 *    against the registered schemas (what does not fit is parked);
 * 2. **analytics**: one stream-processing job (averages, anomalies, overheat pattern; see
 *    `sensor-analytics.ts`) appends averages and alerts, checkpointed in the store;
 * 3. **alerts out**: an outbox relay publishes every event of the `alerts-` streams through
 *    `MqttPublisher` to `<prefix>/alerts/<id>/<type>`;
 * 4. **server** (with `port`): the HTTP API and admin UI over the store;
 * 5. **simulation**: simulated sensors publishing to the broker (or a given script).
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  OutboxRelay,
  SchemaRegistry,
  schemaRegistryOf,
  type Clock,
  type Backend as StoreContext,
} from '@causewayjs/core';
import { MqttIngest, MqttPublisher } from '@causewayjs/mqtt';
import {
  CausewayMetrics,
  streamJobSource,
  createServer,
  parkedSubscription,
} from '@causewayjs/server';
import {
  startSensorAnalytics,
  type SensorAnalytics,
  type SensorAnalyticsOptions,
} from './sensor-analytics.js';
import { SensorEventTypes, registerSensorSchemas, sensorStream } from './sensor-events.js';
import { simulateSensors, type SensorMessage } from './sensor-simulator.js';
import { sensorAggregates } from './sensor-views.js';

/** Options of {@link startSensors}. */
export interface StartSensorsOptions {
  context: StoreContext;
  /** The MQTT broker (`mqtt://host:1883`). */
  mqttUrl: string;
  /** First topic level(s) of everything the platform sends and receives (default `causeway`). */
  topicPrefix?: string;
  /** Simulated sensors (default 5; 0: none, the platform only listens). */
  sensors?: number;
  /** Seed of the simulation (default 1). */
  seed?: number;
  /** Time between two readings of a simulated sensor (ms, default 1,000). */
  intervalMs?: number;
  /** Simulate for this long, then stop sending (ms; default: until stopped). */
  durationMs?: number;
  /**
   * Publish exactly these messages, in order and at once, instead of simulating (a scripted,
   * deterministic scenario: event time is the messages' `ts`).
   */
  script?: readonly SensorMessage[];
  /** Serve the HTTP API and admin UI on this port (0: any free port; omit: no server). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Clock of the analytics' idleness and of the simulation's event time (default: system). */
  clock?: Clock;
  /** The analytics' parameters (windows, thresholds). */
  analytics?: Omit<SensorAnalyticsOptions, 'store' | 'clock' | 'checkpoints'>;
  /** MQTT client id of the ingest's persistent session (default `causeway-sensors-<prefix>`). */
  clientId?: string;
  /** How long to wait for the broker at start before giving up (ms, default 10,000). */
  connectTimeoutMs?: number;
  /** How long the broker keeps the ingest's session while it is away (s, default 7 days). */
  sessionExpirySeconds?: number;
  logger?: Logger;
}

/** Counters of a running platform. */
export interface SensorStats {
  /** Messages the simulation sent. */
  sent: number;
  /** Messages stored as events, and parked. */
  ingested: number;
  parked: number;
  averages: number;
  anomalies: number;
  overheats: number;
  /** Alerts published to the broker. */
  published: number;
}

/** A running platform. */
export interface SensorsHandle {
  /** The admin UI's address, when a server runs. */
  readonly url: string | undefined;
  readonly parts: Record<string, 'running' | 'off'>;
  readonly ingest: MqttIngest;
  readonly analytics: SensorAnalytics;
  readonly relay: OutboxRelay;
  /** The simulation (or script), until it has sent everything; undefined without one. */
  readonly simulation: { done(): Promise<void> } | undefined;
  /** The topic prefix in use. */
  readonly topicPrefix: string;
  stats(): SensorStats;
  /**
   * Resolves once every message sent has been ingested or parked and the analytics and the
   * relay have caught up with the store's head (false on timeout).
   */
  settle(options?: { timeoutMs?: number }): Promise<boolean>;
  /** Stops everything started here, in reverse order. The store is left open. */
  stop(): Promise<void>;
}

/** The topic a message is sent to. */
export function sensorTopic(prefix: string, message: SensorMessage): string {
  return `${prefix}/sensors/${message.sensorId}/${message.kind === 'reading' ? 'readings' : 'maintenance'}`;
}

/** The payload a device sends (the sensor id is in the topic). */
export function sensorPayload(message: SensorMessage): string {
  return JSON.stringify(
    message.kind === 'reading'
      ? { value: message.value, ts: message.ts }
      : { ts: message.ts, technician: message.technician },
  );
}

/** Name of the ingest (its parked messages are listed under it). */
export const SENSORS_INGEST = 'sensors-ingest';
/** Name of the outbox relay that publishes the alerts. */
export const SENSORS_RELAY = 'sensors-alerts-out';

/**
 * Starts the sensor platform (see the module's description).
 *
 * @example
 * ```ts
 * const context = await openStoreContext('sqlite:./data/city.db');
 * const platform = await startSensors({ context, mqttUrl: 'mqtt://127.0.0.1:1883', port: 3000 });
 * // ...
 * await platform.stop();
 * ```
 */
export async function startSensors(options: StartSensorsOptions): Promise<SensorsHandle> {
  const { context, logger } = options;
  const prefix = options.topicPrefix ?? 'causeway';
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const stops: (() => Promise<void>)[] = [];
  const parts: Record<string, 'running' | 'off'> = {};
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((error: unknown) =>
        logger?.error({ err: error }, 'stopping a part of the sensor platform failed'),
      );
    stops.length = 0;
  };
  try {
    // The CLI's store validates appends against the registry in its database: register there.
    const registry =
      schemaRegistryOf(context.store) ??
      (await SchemaRegistry.open({ storage: await context.schemaStorage() }));
    await registerSensorSchemas(registry);
    const storage = await context.subscriptionStorage();

    const analytics = await startSensorAnalytics({
      ...options.analytics,
      store: context.store,
      checkpoints: await context.streamStateStore(),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    stops.push(() => analytics.stop());
    parts.analytics = 'running';

    const publisher = await MqttPublisher.connect({
      url: options.mqttUrl,
      routes: [{ streamPrefix: 'alerts-', topic: `${prefix}/alerts/{data.sensorId}/{type}` }],
      connectTimeoutMs,
    });
    stops.push(() => publisher.close());
    const relay = new OutboxRelay({
      name: SENSORS_RELAY,
      storage,
      bus: publisher,
      filter: { streamPrefix: 'alerts-' },
      maxInFlight: 16,
      ...(logger ? { logger } : {}),
    });
    await relay.start();
    stops.push(() => relay.stop());
    parts.alerts = 'running';

    // The sensor id comes from the topic; a payload that is not an object is left as it is,
    // and its schema check parks it.
    const withSensor = (json: unknown, sensor: string | undefined): unknown =>
      typeof json === 'object' && json !== null && !Array.isArray(json)
        ? { ...json, sensorId: sensor }
        : json;
    const ingest = new MqttIngest({
      name: SENSORS_INGEST,
      url: options.mqttUrl,
      connectTimeoutMs,
      clientId: options.clientId ?? `causeway-sensors-${prefix.replaceAll('/', '-')}`,
      storage,
      registry,
      routes: [
        {
          topic: `${prefix}/sensors/+sensor/readings`,
          stream: (match) => sensorStream(match.captures.sensor ?? ''),
          type: SensorEventTypes.reading,
          data: (json, match) => withSensor(json, match.captures.sensor),
        },
        {
          topic: `${prefix}/sensors/+sensor/maintenance`,
          stream: (match) => sensorStream(match.captures.sensor ?? ''),
          type: SensorEventTypes.maintenance,
          data: (json, match) => withSensor(json, match.captures.sensor),
        },
      ],
      ...(options.sessionExpirySeconds === undefined
        ? {}
        : { sessionExpirySeconds: options.sessionExpirySeconds }),
      ...(logger ? { logger } : {}),
    });
    await ingest.start();
    stops.push(() => ingest.stop());
    parts.ingest = 'running';

    let url: string | undefined;
    if (options.port !== undefined) {
      const metrics = new CausewayMetrics();
      metrics.trackRelay(relay);
      metrics.runtime.add(streamJobSource({ status: () => analytics.status() }));
      const server = await createServer({
        store: context.store,
        metrics,
        schemas: registry,
        aggregates: sensorAggregates,
        subscriptions: [
          parkedSubscription(SENSORS_INGEST, storage.parked),
          parkedSubscription(SENSORS_RELAY, storage.parked),
        ],
        ...(logger ? { logger } : {}),
      });
      try {
        const address = await server.listen({
          host: options.host ?? '127.0.0.1',
          port: options.port,
        });
        url = `${address.url}/`;
      } catch (error) {
        await server.close();
        throw error;
      }
      stops.push(() => server.close());
      parts.server = 'running';
    } else parts.server = 'off';

    let sent = 0;
    let simulation: { done(): Promise<void> } | undefined;
    const sensors = options.sensors ?? 5;
    if (options.script !== undefined || sensors > 0) {
      const device: MqttClient = await mqtt.connectAsync(options.mqttUrl, {
        protocolVersion: 5,
        reconnectPeriod: 1000,
        connectTimeout: connectTimeoutMs,
      });
      const abort = new AbortController();
      const send = async (message: SensorMessage) => {
        await device.publishAsync(sensorTopic(prefix, message), sensorPayload(message), {
          qos: 1,
        });
        sent += 1;
      };
      const run =
        options.script !== undefined
          ? sendScript(options.script, send)
          : simulate({ ...options, sensors, send, signal: abort.signal });
      const finished = run.catch((error: unknown) => {
        if (!abort.signal.aborted) logger?.error({ err: error }, 'the simulation failed');
      });
      simulation = { done: () => finished };
      stops.push(async () => {
        abort.abort();
        // Forced: a publish waiting for an absent broker must not hold the stop.
        await device.endAsync(true);
        await finished;
      });
      parts.simulation = 'running';
    } else parts.simulation = 'off';

    const stats = (): SensorStats => {
      const i = ingest.status();
      return {
        sent,
        ingested: i.ingested,
        parked: i.parked,
        averages: analytics.averages().length,
        anomalies: analytics.anomalies().length,
        overheats: analytics.overheats().length,
        published: publisher.status().published,
      };
    };
    return {
      url,
      parts,
      ingest,
      analytics,
      relay,
      simulation,
      topicPrefix: prefix,
      stats,
      settle: async ({ timeoutMs = 30_000 } = {}) => {
        const deadline = Date.now() + timeoutMs;
        await simulation?.done();
        // Delivery through the broker is only visible in the ingest's counters: look again
        // shortly until it has taken every message sent.
        while (stats().ingested + stats().parked < sent) {
          if (Date.now() >= deadline) return false;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const left = () => ({ timeoutMs: Math.max(1, deadline - Date.now()) });
        try {
          await analytics.waitForPosition(await context.store.headPosition(), left());
          await relay.waitForPosition(await context.store.headPosition(), left());
          return true;
        } catch {
          return false;
        }
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function sendScript(
  script: readonly SensorMessage[],
  send: (message: SensorMessage) => Promise<void>,
): Promise<void> {
  for (const message of script) await send(message);
}

/** Sends simulated readings in real time: each when the clock reaches its event time. */
async function simulate(options: {
  sensors: number;
  seed?: number;
  intervalMs?: number;
  durationMs?: number;
  clock?: Clock;
  send: (message: SensorMessage) => Promise<void>;
  signal: AbortSignal;
}): Promise<void> {
  const now = () => options.clock?.now() ?? Date.now();
  const intervalMs = options.intervalMs ?? 1000;
  const messages = simulateSensors({
    sensors: options.sensors,
    seed: options.seed ?? 1,
    start: now(),
    intervalMs,
    ...(options.durationMs === undefined
      ? {}
      : { ticks: Math.max(1, Math.floor(options.durationMs / intervalMs)) }),
  });
  for (const message of messages) {
    const wait = message.ts - now();
    if (wait > 0)
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          options.signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, wait);
        options.signal.addEventListener('abort', done);
      });
    if (options.signal.aborted) return;
    await options.send(message);
  }
}
