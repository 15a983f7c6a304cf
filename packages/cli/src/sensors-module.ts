import type { SensorsModule } from '@causewayjs/example-sensors';
import { CliUsageError } from './cli-errors.js';

export type {
  SensorsModule,
  SensorsRuntime,
  SensorsStartOptions,
  SensorsStats,
} from '@causewayjs/example-sensors';

/**
 * Loads the sensor-platform example (`@causewayjs/example-sensors`, a dependency of the CLI)
 * on first use, so commands that do not run it start without it (or MQTT).
 *
 * @throws {CliUsageError} when the package is not installed.
 */
export async function loadSensorsModule(): Promise<SensorsModule> {
  try {
    return (await import('@causewayjs/example-sensors')).sensorsModule;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND')
      throw new CliUsageError(
        'the sensors example is not installed: npm install @causewayjs/example-sensors',
      );
    throw error;
  }
}
