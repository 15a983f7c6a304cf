import { describe, expect, it } from 'vitest';
import { InvalidTopicPatternError } from './mqtt-errors.js';
import { messageEventId, type MqttMessage } from './mqtt-message.js';
import { fillTemplate, TopicPattern } from './mqtt-topic-pattern.js';

describe('TopicPattern', () => {
  it('subscribes the plain filter and captures named wildcards', () => {
    const p = new TopicPattern('devices/+device/telemetry/#rest');
    expect(p.filter).toBe('devices/+/telemetry/#');
    expect(p.names).toEqual(['device', 'rest']);
    expect(p.match('devices/d-7/telemetry/a/b')).toEqual({
      topic: 'devices/d-7/telemetry/a/b',
      captures: { device: 'd-7', rest: 'a/b' },
      wildcards: ['d-7', 'a/b'],
    });
    // '#' matches its parent level too, as in MQTT.
    expect(p.match('devices/d-7/telemetry')?.captures).toEqual({ device: 'd-7', rest: '' });
  });

  it('matches as MQTT does: one level per +, literals exactly, $ topics not by wildcards', () => {
    const p = new TopicPattern('a/+/c');
    expect(p.match('a/b/c')).toBeDefined();
    expect(p.match('a//c')?.wildcards).toEqual(['']);
    expect(p.match('a/b/c/d')).toBeUndefined();
    expect(p.match('a/b')).toBeUndefined();
    expect(p.match('x/b/c')).toBeUndefined();
    expect(new TopicPattern('+/x').match('$SYS/x')).toBeUndefined();
    expect(new TopicPattern('#').match('$SYS/x')).toBeUndefined();
    expect(new TopicPattern('$SYS/+').match('$SYS/x')).toBeDefined();
  });

  it('refuses malformed patterns with a typed error', () => {
    for (const bad of ['', 'a/#/b', 'a/b+/c', 'a/+1x', 'a/+d/+d', 'a/x#']) {
      expect(() => new TopicPattern(bad), bad).toThrow(InvalidTopicPatternError);
    }
  });

  it('fills templates and names a missing value', () => {
    expect(fillTemplate('device-{d}', (n) => (n === 'd' ? '7' : undefined))).toBe('device-7');
    expect(() => fillTemplate('device-{x}', () => undefined)).toThrow(/\{x\}/);
  });
});

describe('messageEventId', () => {
  const message = (over: Partial<MqttMessage> = {}): MqttMessage => ({
    topic: 't/1',
    payload: Buffer.from('{"v":1}'),
    qos: 1,
    retain: false,
    userProperties: {},
    ...over,
  });
  const identity = { idProperty: 'event-id' };

  it('is the same for the same message, and differs by topic and payload', () => {
    const id = messageEventId(message(), identity);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(messageEventId(message(), identity)).toBe(id);
    expect(messageEventId(message({ topic: 't/2' }), identity)).not.toBe(id);
    expect(messageEventId(message({ payload: Buffer.from('{"v":2}') }), identity)).not.toBe(id);
    // How it was delivered does not count.
    expect(messageEventId(message({ retain: true, qos: 0 }), identity)).toBe(id);
  });

  it('prefers the id property (a UUID as is), then the key, then correlation data', () => {
    const uuid = '0190f3c2-6b5e-7c3a-9d1e-2f4a5b6c7d8e';
    expect(messageEventId(message({ userProperties: { 'event-id': uuid } }), identity)).toBe(uuid);
    const byProperty = messageEventId(
      message({ userProperties: { 'event-id': 'seq-9' } }),
      identity,
    );
    expect(byProperty).not.toBe(messageEventId(message(), identity));
    expect(
      messageEventId(
        message({ userProperties: { 'event-id': 'seq-9' }, payload: Buffer.from('x') }),
        identity,
      ),
    ).toBe(byProperty);
    const keyed = { ...identity, messageKey: () => 'k1' };
    expect(messageEventId(message({ payload: Buffer.from('other') }), keyed)).toBe(
      messageEventId(message(), keyed),
    );
    const correlated = message({ correlationData: Buffer.from('c1') });
    expect(messageEventId({ ...correlated, payload: Buffer.from('y') }, identity)).toBe(
      messageEventId(correlated, identity),
    );
  });
});
