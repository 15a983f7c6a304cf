import type { Logger } from 'pino';
import type { Backend } from '@causewayjs/core';
import { startSensors } from './start-sensors.js';

/** Options the CLI passes to the sensor platform (see `start-sensors.ts`). */
export interface SensorsStartOptions {
  /** The backend the platform runs on, stacked as the CLI stacks it. */
  context: Backend;
  mqttUrl: string;
  topicPrefix?: string;
  sensors?: number;
  seed?: number;
  intervalMs?: number;
  durationMs?: number;
  port?: number;
  host?: string;
  sessionExpirySeconds?: number;
  logger?: Logger;
}

/** The counters the CLI prints. */
export interface SensorsStats {
  sent: number;
  ingested: number;
  parked: number;
  averages: number;
  anomalies: number;
  overheats: number;
  published: number;
}

/** What the CLI needs of a running sensor platform. */
export interface SensorsRuntime {
  readonly url: string | undefined;
  readonly topicPrefix: string;
  readonly simulation: { done(): Promise<void> } | undefined;
  stats(): SensorsStats;
  settle(options?: { timeoutMs?: number }): Promise<boolean>;
  stop(): Promise<void>;
}

/** What this package exports as `sensorsModule`: the platform as the CLI runs it. */
export interface SensorsModule {
  startSensors(options: SensorsStartOptions): Promise<SensorsRuntime>;
}

/** The sensor platform as the `causeway` CLI loads it (`causeway sensors`). */
export const sensorsModule: SensorsModule = {
  startSensors: (options) => startSensors(options),
};
