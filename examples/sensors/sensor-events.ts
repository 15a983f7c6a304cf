/**
 * The sensor platform's events and their schemas. Readings and maintenance notices come in
 * over MQTT (validated by the schema registry on ingest: a payload that does not fit is
 * parked); averages and alerts are what the stream-processing job derives from them.
 */
import { z } from 'zod';
import type { SchemaRegistry } from '@causewayjs/core';

/** The event types of the sensor platform. */
export const SensorEventTypes = {
  /** One measurement of a sensor (from MQTT). */
  reading: 'sensor.reading.recorded',
  /** A technician started maintenance on a sensor (from MQTT). */
  maintenance: 'sensor.maintenance.started',
  /** A sensor's average over one tumbling window. */
  average: 'sensor.average.computed',
  /** Alert: a sensor's readings spread too far within one sliding window. */
  anomaly: 'sensor.anomaly.detected',
  /** Alert: readings above the threshold, again and again, and nobody came to look. */
  overheat: 'sensor.overheat.alerted',
} as const;

/** The alert types (the events of the `alerts-<sensor>` streams). */
export const SENSOR_ALERT_TYPES: readonly string[] = [
  SensorEventTypes.anomaly,
  SensorEventTypes.overheat,
];

/** A reading as stored: the sensor (from the topic), its value, and when it was measured. */
export const sensorReadingSchema = z.strictObject({
  sensorId: z.string().min(1),
  value: z.number(),
  /** Device time of the measurement (ms since the epoch): the event time of the analytics. */
  ts: z.number().int(),
});
export type SensorReading = z.infer<typeof sensorReadingSchema>;

/** A maintenance notice as stored. */
export const sensorMaintenanceSchema = z.strictObject({
  sensorId: z.string().min(1),
  ts: z.number().int(),
  technician: z.string().optional(),
});
export type SensorMaintenance = z.infer<typeof sensorMaintenanceSchema>;

/** One tumbling-window average. */
export const sensorAverageSchema = z.strictObject({
  sensorId: z.string(),
  windowStart: z.number().int(),
  windowEnd: z.number().int(),
  average: z.number(),
  /** True when it corrects an earlier figure for the same window (a late reading). */
  update: z.boolean(),
});
export type SensorAverage = z.infer<typeof sensorAverageSchema>;

/** An anomaly: within one sliding window the readings spread more than allowed. */
export const sensorAnomalySchema = z.strictObject({
  sensorId: z.string(),
  windowStart: z.number().int(),
  windowEnd: z.number().int(),
  min: z.number(),
  max: z.number(),
  spread: z.number(),
});
export type SensorAnomaly = z.infer<typeof sensorAnomalySchema>;

/** An overheat alert: the readings above the threshold, and when the alert was established. */
export const sensorOverheatSchema = z.strictObject({
  sensorId: z.string(),
  threshold: z.number(),
  readings: z.array(z.strictObject({ value: z.number(), ts: z.number().int() })),
  /** Event time at which the absence of maintenance was established. */
  at: z.number().int(),
});
export type SensorOverheat = z.infer<typeof sensorOverheatSchema>;

/**
 * Registers the schemas of the five event types (idempotent: registering the same schema
 * again returns its version, so it runs on every start).
 */
export async function registerSensorSchemas(registry: SchemaRegistry): Promise<void> {
  await registry.register(SensorEventTypes.reading, sensorReadingSchema);
  await registry.register(SensorEventTypes.maintenance, sensorMaintenanceSchema);
  await registry.register(SensorEventTypes.average, sensorAverageSchema);
  await registry.register(SensorEventTypes.anomaly, sensorAnomalySchema);
  await registry.register(SensorEventTypes.overheat, sensorOverheatSchema);
}

/** The stream of a sensor's readings and maintenance notices. */
export const sensorStream = (sensorId: string): string => `sensor-${sensorId}`;
/** The stream of a sensor's averages. */
export const averagesStream = (sensorId: string): string => `sensor-averages-${sensorId}`;
/** The stream of a sensor's alerts (anomalies and overheats). */
export const alertsStream = (sensorId: string): string => `alerts-${sensorId}`;
