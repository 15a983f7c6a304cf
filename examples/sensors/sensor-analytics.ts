/**
 * The sensor platform's stream processing, one job over the store's log on event time (the
 * devices' `ts`):
 *
 * - **averages**: per sensor, the average of each tumbling window (default 10 s), appended
 *   to `sensor-averages-<sensor>`;
 * - **anomalies**: per sensor, in each sliding window (default 20 s, sliding every 10 s),
 *   readings that spread more than `maxSpread` (max − min) raise an alert;
 * - **overheats** (a pattern, CEP): `count` readings above `threshold` within `withinMs`
 *   (default three above 80 within a minute), **not followed** by a maintenance notice of that
 *   sensor before the minute is over, raise an alert.
 *
 * Alerts are appended to `alerts-<sensor>`; with `checkpoints`, in the same transaction as the
 * job's checkpoint (exactly once, and the job resumes where it was after a restart).
 */
import {
  Pattern,
  StreamJob,
  average,
  seconds,
  sliding,
  storeSink,
  storeSource,
  tumbling,
  type AggregateFunction,
  type Clock,
  type EventStore,
  type PatternMatch,
  type RecordedEvent,
  type StreamJobStatus,
  type StreamStateStore,
  type WindowResult,
} from '@causewayjs/core';
import {
  SensorEventTypes,
  alertsStream,
  averagesStream,
  type SensorAnomaly,
  type SensorAverage,
  type SensorOverheat,
  type SensorReading,
} from './sensor-events.js';

/** Options of {@link startSensorAnalytics}. */
export interface SensorAnalyticsOptions {
  store: EventStore;
  /** The job's name (its checkpoint key; default `sensor-analytics`). */
  name?: string;
  /** Drives idleness: a quiet platform still closes its windows. Default: the system clock. */
  clock?: Clock;
  /** Checkpoint storage: exactly-once alerts, and resuming after a restart. */
  checkpoints?: StreamStateStore;
  /** Tumbling window of the averages (ms, default 10 s). */
  averageWindowMs?: number;
  /** Sliding window of the anomaly rule (ms, default 20 s)... */
  anomalyWindowMs?: number;
  /** ...sliding by this much (ms, default 10 s). */
  anomalySlideMs?: number;
  /** A window whose readings spread more than this (max − min) is an anomaly (default 15). */
  maxSpread?: number;
  /** A reading above this is high (default 80). */
  threshold?: number;
  /** High readings that make an overheat (default 3)... */
  count?: number;
  /** ...within this long of the first, with no maintenance notice in it (ms, default 60 s). */
  withinMs?: number;
  /** Out-of-orderness allowed to readings (ms, default 1,000). */
  outOfOrdernessMs?: number;
  /** Idle time after which event time follows the clock (ms, default 2,000). */
  idleTimeoutMs?: number;
  /** How often to check idleness (ms, default 1,000; 0: only on `tick()`). */
  idleCheckIntervalMs?: number;
}

/** The running job and what it produced so far (committed results, oldest first). */
export interface SensorAnalytics {
  status(): StreamJobStatus;
  averages(): SensorAverage[];
  anomalies(): SensorAnomaly[];
  overheats(): SensorOverheat[];
  /** Checks idleness now (the job also does so every `idleCheckIntervalMs`). */
  tick(): Promise<void>;
  /** Resolves once the job has committed the store position `position`. */
  waitForPosition(position: number, options?: { timeoutMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

type Input = SensorReading & { maintenance: boolean };

/** Min and max of a window's readings. */
const range: AggregateFunction<
  SensorReading,
  { min: number; max: number } | null,
  { min: number; max: number } | null
> = {
  create: () => null,
  add: (acc, r) =>
    acc === null
      ? { min: r.value, max: r.value }
      : { min: Math.min(acc.min, r.value), max: Math.max(acc.max, r.value) },
  result: (acc) => acc,
};

/**
 * Starts the sensor analytics over `store` (its live log).
 *
 * @example
 * ```ts
 * const analytics = await startSensorAnalytics({ store, threshold: 75 });
 * // ... analytics.overheats()
 * await analytics.stop();
 * ```
 */
export async function startSensorAnalytics(
  options: SensorAnalyticsOptions,
): Promise<SensorAnalytics> {
  const { store } = options;
  const threshold = options.threshold ?? 80;
  const maxSpread = options.maxSpread ?? 15;
  const job = new StreamJob<RecordedEvent>({
    name: options.name ?? 'sensor-analytics',
    source: storeSource(store, {
      filter: { types: [SensorEventTypes.reading, SensorEventTypes.maintenance] },
    }),
    timestamp: 'data.ts',
    watermark: {
      outOfOrdernessMs: options.outOfOrdernessMs ?? 1000,
      idleTimeoutMs: options.idleTimeoutMs ?? 2000,
    },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.checkpoints ? { checkpoints: options.checkpoints } : {}),
    ...(options.idleCheckIntervalMs === undefined
      ? {}
      : { idleCheckIntervalMs: options.idleCheckIntervalMs }),
  });

  const input = job.input.map((e): Input => ({
    ...(e.data as SensorReading),
    value: (e.data as { value?: number }).value ?? Number.NaN,
    maintenance: e.type === SensorEventTypes.maintenance,
  }));
  const readings = input
    .filter((r) => !r.maintenance)
    .map((r): SensorReading => ({ sensorId: r.sensorId, value: r.value, ts: r.ts }));

  // Averages per sensor and tumbling window.
  const averages: SensorAverage[] = [];
  const averaged = readings
    .keyBy((r) => r.sensorId)
    .window(tumbling({ size: options.averageWindowMs ?? seconds(10) }))
    .aggregate(average((r: SensorReading) => r.value))
    .map((r: WindowResult<string, number>): SensorAverage => ({
      sensorId: r.key,
      windowStart: r.window.start,
      windowEnd: r.window.end,
      average: r.value,
      update: r.update,
    }));
  averaged.to({ committed: (items) => averages.push(...items) });
  averaged.to(
    storeSink({
      store,
      stream: (a) => averagesStream(a.sensorId),
      event: (a) => ({ type: SensorEventTypes.average, data: a }),
    }),
  );

  // Anomalies: readings spread too far within a sliding window.
  const anomalies: SensorAnomaly[] = [];
  const anomalous = readings
    .keyBy((r) => r.sensorId)
    .window(
      sliding({
        size: options.anomalyWindowMs ?? seconds(20),
        slide: options.anomalySlideMs ?? seconds(10),
      }),
    )
    .aggregate(range)
    .flatMap((r): SensorAnomaly[] =>
      r.value !== null && r.value.max - r.value.min > maxSpread
        ? [
            {
              sensorId: r.key,
              windowStart: r.window.start,
              windowEnd: r.window.end,
              min: r.value.min,
              max: r.value.max,
              spread: r.value.max - r.value.min,
            },
          ]
        : [],
    );
  anomalous.to({ committed: (items) => anomalies.push(...items) });
  anomalous.to(
    storeSink({
      store,
      stream: (a) => alertsStream(a.sensorId),
      event: (a) => ({ type: SensorEventTypes.anomaly, data: a }),
    }),
  );

  // Overheats: high readings, again and again, not followed by maintenance.
  const overheats: SensorOverheat[] = [];
  const overheat = Pattern.begin<Input>('high', { skip: 'skip-past-last-event' })
    .where((r) => !r.maintenance && r.value > threshold)
    .times(options.count ?? 3)
    .notFollowedBy('maintenance')
    .where((r) => r.maintenance)
    .within(options.withinMs ?? seconds(60));
  const overheated = input
    .keyBy((r) => r.sensorId)
    .pattern(overheat, { name: 'overheat' })
    .map((m: PatternMatch<Input, string>): SensorOverheat => ({
      sensorId: m.key,
      threshold,
      readings: (m.events.high ?? []).map((r) => ({ value: r.value, ts: r.ts })),
      at: m.end,
    }));
  overheated.to({ committed: (items) => overheats.push(...items) });
  overheated.to(
    storeSink({
      store,
      stream: (a) => alertsStream(a.sensorId),
      event: (a) => ({ type: SensorEventTypes.overheat, data: a }),
    }),
  );

  await job.start();
  return {
    status: () => job.status(),
    averages: () => averages.slice(),
    anomalies: () => anomalies.slice(),
    overheats: () => overheats.slice(),
    tick: () => job.tick(),
    waitForPosition: (position, opts) => job.waitForPosition(position, opts),
    stop: () => job.stop(),
  };
}
