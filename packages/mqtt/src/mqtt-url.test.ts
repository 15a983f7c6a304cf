import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@causewayjs/core';
import { MqttIngest } from './mqtt-ingest.js';
import { MqttPublisher } from './mqtt-publisher.js';
import { checkMqttUrl } from './mqtt-url.js';

describe('MQTT broker URLs', () => {
  it.each(['foo', '127.0.0.1:1883', 'http://127.0.0.1:1883', 'mqtt//host', ''])(
    'refuses %j with an InvalidArgumentError naming the url',
    (url) => {
      const error = (() => {
        try {
          checkMqttUrl(url);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toContain('url');
    },
  );

  it.each(['mqtt://127.0.0.1:1883', 'mqtts://broker.example:8883', 'ws://host/mqtt'])(
    'accepts %j',
    (url) => {
      expect(checkMqttUrl(url)).toBe(url);
    },
  );

  it('is checked by the publisher and the ingest before any connection', async () => {
    await expect(
      MqttPublisher.connect({ url: 'foo', routes: [{ topic: 't/{type}' }] }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(
      () =>
        // The URL is checked first, before the rest of the options.
        new MqttIngest({ url: '127.0.0.1:1883' } as never),
    ).toThrow(InvalidArgumentError);
  });
});
