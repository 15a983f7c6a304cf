import type { SensorsModule } from '../../src/cli/sensors-module.js';
import { startSensors } from './start-sensors.js';

/** The sensor platform as the `causeway` CLI loads it (`causeway sensors`). */
export const sensorsModule: SensorsModule = {
  startSensors: (options) => startSensors(options),
};
