import { InvalidArgumentError } from '@causewayjs/core';

/** The URL schemes the MQTT client connects with. */
const MQTT_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:']);

/**
 * Checks a broker URL before the MQTT client sees it, so a malformed one is an
 * {@link InvalidArgumentError} naming `url` rather than the client's own error.
 *
 * @throws {InvalidArgumentError} when `url` is not an absolute URL with an MQTT scheme.
 */
export function checkMqttUrl(url: unknown): string {
  if (typeof url !== 'string' || url.length === 0)
    throw new InvalidArgumentError('url', 'must be a broker URL');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(
      'url',
      `must be an absolute broker URL such as mqtt://host:1883`,
    );
  }
  if (!MQTT_PROTOCOLS.has(parsed.protocol))
    throw new InvalidArgumentError(
      'url',
      `must use one of ${[...MQTT_PROTOCOLS].join(', ')}, not ${parsed.protocol}`,
    );
  return url;
}
