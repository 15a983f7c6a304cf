import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';

/** The broker MQTT tests use: `CAUSEWAY_MQTT_URL`, or the local Mosquitto. */
export const mqttUrl = process.env.CAUSEWAY_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

let probe: Promise<boolean> | undefined;

/**
 * Whether the test broker accepts a connection, probed once per test file. When it does not:
 * under `CI=true` this throws (a CI run must not pass by skipping); elsewhere it prints one
 * line naming the URL and returns false, and the caller skips its tests.
 */
export function mqttAvailable(): Promise<boolean> {
  probe ??= (async () => {
    let reason: string | undefined;
    try {
      const client = await mqtt.connectAsync(mqttUrl, {
        connectTimeout: 3000,
        reconnectPeriod: 0,
        protocolVersion: 5,
      });
      await client.endAsync(true);
    } catch (error) {
      reason = error instanceof Error ? error.message || error.constructor.name : String(error);
    }
    if (reason === undefined) return true;
    const message = `the MQTT broker at ${mqttUrl} is unreachable (${reason}); set CAUSEWAY_MQTT_URL`;
    if (process.env.CI === 'true') throw new Error(message);
    console.warn(`SKIPPING MQTT tests: ${message}`);
    return false;
  })();
  return probe;
}

/** A topic prefix and client-id base no other test uses. */
export function randomMqttName(base = 'test'): string {
  return `${base}${randomBytes(5).toString('hex')}`;
}

/** A device-like client of the test broker (or of `url`), MQTT v5. */
export function connectDevice(url = mqttUrl, clientId?: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    protocolVersion: 5,
    reconnectPeriod: 200,
    connectTimeout: 3000,
    ...(clientId === undefined ? {} : { clientId }),
  });
}
