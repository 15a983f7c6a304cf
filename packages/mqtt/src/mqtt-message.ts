import { createHash } from 'node:crypto';
import type { IPublishPacket } from 'mqtt';
import { isUuid, deterministicId } from '@causewayjs/core';

/** One MQTT message as the ingest sees it. */
export interface MqttMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  /** True when the broker sent it as the topic's retained message. */
  retain: boolean;
  /** MQTT v5 user properties (a name sent twice gives an array). */
  userProperties: Record<string, string | string[]>;
  /** MQTT v5 correlation data, when the publisher set it. */
  correlationData?: Buffer;
  /** MQTT v5 content type, when the publisher set it. */
  contentType?: string;
}

/** Turns a received PUBLISH packet into an {@link MqttMessage}. */
export function messageOf(packet: IPublishPacket): MqttMessage {
  const payload = Buffer.isBuffer(packet.payload)
    ? packet.payload
    : Buffer.from(packet.payload as string | Uint8Array);
  const properties = packet.properties;
  return {
    topic: packet.topic,
    payload,
    qos: packet.qos,
    retain: packet.retain,
    userProperties: { ...properties?.userProperties },
    ...(properties?.correlationData ? { correlationData: properties.correlationData } : {}),
    ...(properties?.contentType ? { contentType: properties.contentType } : {}),
  };
}

/** How {@link messageEventId} identifies a message. */
export interface MessageIdentity {
  /** The MQTT v5 user property that carries a message id, if the publisher sets one. */
  idProperty: string;
  /** An application key of a message (a device sequence number, say), when it has one. */
  messageKey?: ((message: MqttMessage) => string | undefined) | undefined;
}

/**
 * The event id of a message: the same message, delivered again, always gets the same id, so
 * its append is an idempotent retry and never a second event. In order of preference:
 * 1. the `idProperty` user property: used as is when it is a UUID, else a UUID derived from
 *    the topic and it;
 * 2. `messageKey(message)`, derived with the topic;
 * 3. the MQTT v5 correlation data, derived with the topic;
 * 4. the payload: a UUID derived from the topic and the SHA-256 of the payload.
 *
 * The MQTT packet identifier is never used: it is a 16-bit slot the client and broker
 * recycle, so two different messages can carry the same one.
 */
export function messageEventId(message: MqttMessage, identity: MessageIdentity): string {
  const property = message.userProperties[identity.idProperty];
  const given = Array.isArray(property) ? property[0] : property;
  if (typeof given === 'string' && given.length > 0)
    return isUuid(given)
      ? given.toLowerCase()
      : deterministicId('mqtt', message.topic, 'id', given);
  const key = identity.messageKey?.(message);
  if (typeof key === 'string' && key.length > 0)
    return deterministicId('mqtt', message.topic, 'key', key);
  if (message.correlationData)
    return deterministicId(
      'mqtt',
      message.topic,
      'correlation',
      message.correlationData.toString('hex'),
    );
  const digest = createHash('sha256').update(message.payload).digest('hex');
  return deterministicId('mqtt', message.topic, 'payload', digest);
}
