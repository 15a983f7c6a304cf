import type { Logger } from 'pino';
import type { StoreContext } from './store-context.js';
import { CliUsageError } from './cli-errors.js';

/** Options the CLI passes to the sensor platform (see `examples/sensors/start-sensors.ts`). */
export interface SensorsStartOptions {
  context: StoreContext;
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

/** What `examples/sensors/sensors-module.ts` exports as `sensorsModule`. */
export interface SensorsModule {
  startSensors(options: SensorsStartOptions): Promise<SensorsRuntime>;
}

/**
 * Loads the sensor-platform example. Like the shop, it ships as TypeScript next to the
 * sources (`examples/sensors`), so the CLI finds it when run from a source checkout with tsx.
 *
 * @throws {CliUsageError} when the example is not there.
 */
export async function loadSensorsModule(): Promise<SensorsModule> {
  const here = import.meta.url;
  const ext = here.endsWith('.ts') ? 'ts' : 'js';
  const url = new URL(`../../examples/sensors/sensors-module.${ext}`, here);
  try {
    const module = (await import(url.href)) as { sensorsModule: SensorsModule };
    return module.sensorsModule;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND')
      throw new CliUsageError(
        'the sensors example ships as TypeScript with the sources: run it from a checkout (npx tsx src/cli/main.ts sensors)',
      );
    throw error;
  }
}
