/**
 * The sensor platform: devices over MQTT into validated streams, windows and alerts, as the
 * `causeway sensors` command runs it.
 * @packageDocumentation
 */
export { sensorsModule } from './sensors-module.js';
export type {
  SensorsModule,
  SensorsRuntime,
  SensorsStartOptions,
  SensorsStats,
} from './sensors-module.js';
export { startSensors } from './start-sensors.js';
