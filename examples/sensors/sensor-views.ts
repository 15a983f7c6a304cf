/**
 * Folds for the admin UI's time travel (`#/time-travel/sensor-s1?revision=N`): what the
 * platform knew of a sensor, or of its alerts, after any revision of its stream. The server
 * picks a fold by the stream's category (the name before the first `-`), so `sensor` serves
 * both `sensor-<id>` (readings, maintenance) and `sensor-averages-<id>`.
 */
import type { RecordedEvent } from '@causewayjs/core';
import type { AggregateFold } from '@causewayjs/server';
import {
  SensorEventTypes,
  type SensorAverage,
  type SensorMaintenance,
  type SensorReading,
} from './sensor-events.js';

/** A sensor as of some revision of its stream. */
export interface SensorView {
  readings: number;
  last: { value: number; ts: number } | null;
  min: number | null;
  max: number | null;
  lastMaintenance: number | null;
  averages: number;
  lastAverage: { windowStart: number; average: number } | null;
}

/** A sensor's alerts as of some revision of its `alerts-` stream. */
export interface AlertsView {
  anomalies: number;
  overheats: number;
  last: { type: string; at: number } | null;
}

const initialSensor: SensorView = {
  readings: 0,
  last: null,
  min: null,
  max: null,
  lastMaintenance: null,
  averages: 0,
  lastAverage: null,
};

function evolveSensor(state: SensorView, event: RecordedEvent): SensorView {
  switch (event.type) {
    case SensorEventTypes.reading: {
      const r = event.data as SensorReading;
      return {
        ...state,
        readings: state.readings + 1,
        last: { value: r.value, ts: r.ts },
        min: state.min === null ? r.value : Math.min(state.min, r.value),
        max: state.max === null ? r.value : Math.max(state.max, r.value),
      };
    }
    case SensorEventTypes.maintenance:
      return { ...state, lastMaintenance: (event.data as SensorMaintenance).ts };
    case SensorEventTypes.average: {
      const a = event.data as SensorAverage;
      return {
        ...state,
        averages: state.averages + 1,
        lastAverage: { windowStart: a.windowStart, average: a.average },
      };
    }
    default:
      return state;
  }
}

function evolveAlerts(state: AlertsView, event: RecordedEvent): AlertsView {
  if (event.type === SensorEventTypes.anomaly)
    return {
      ...state,
      anomalies: state.anomalies + 1,
      last: { type: event.type, at: (event.data as { windowEnd: number }).windowEnd },
    };
  if (event.type === SensorEventTypes.overheat)
    return {
      ...state,
      overheats: state.overheats + 1,
      last: { type: event.type, at: (event.data as { at: number }).at },
    };
  return state;
}

/** The folds the platform's server registers for time travel, by stream category. */
export const sensorAggregates: Readonly<Record<string, AggregateFold>> = {
  sensor: { initialState: initialSensor, evolve: evolveSensor },
  alerts: {
    initialState: { anomalies: 0, overheats: 0, last: null } satisfies AlertsView,
    evolve: evolveAlerts,
  },
};
