import { CausewayError } from '@causewayjs/core';

/** Stable error codes of the MQTT adapter. */
export const MqttErrorCode = {
  MQTT_INVALID_TOPIC_PATTERN: 'MQTT_INVALID_TOPIC_PATTERN',
  MQTT_TOPIC_UNMAPPED: 'MQTT_TOPIC_UNMAPPED',
  MQTT_PAYLOAD_INVALID: 'MQTT_PAYLOAD_INVALID',
  MQTT_MAPPING_FAILED: 'MQTT_MAPPING_FAILED',
  MQTT_SUBSCRIBE_REFUSED: 'MQTT_SUBSCRIBE_REFUSED',
} as const;

/** One of the values of {@link MqttErrorCode}. */
export type MqttErrorCode = (typeof MqttErrorCode)[keyof typeof MqttErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '@causewayjs/core' {
  interface CausewayErrorCodes {
    mqtt: MqttErrorCode;
  }
}

/** A topic pattern of a route is not a valid MQTT topic filter with named wildcards. */
export class InvalidTopicPatternError extends CausewayError {
  constructor(
    readonly pattern: string,
    readonly reason: string,
  ) {
    super(
      MqttErrorCode.MQTT_INVALID_TOPIC_PATTERN,
      `Invalid MQTT topic pattern ${JSON.stringify(pattern)}: ${reason}`,
    );
  }
}

/** A message arrived on a topic that no ingest route maps to a stream: it was parked. */
export class TopicUnmappedError extends CausewayError {
  constructor(readonly topic: string) {
    super(MqttErrorCode.MQTT_TOPIC_UNMAPPED, `No route maps MQTT topic ${JSON.stringify(topic)}`);
  }
}

/** A message's payload could not be parsed (not JSON, say): it was parked. */
export class PayloadInvalidError extends CausewayError {
  constructor(
    readonly topic: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      MqttErrorCode.MQTT_PAYLOAD_INVALID,
      `The payload of a message on ${JSON.stringify(topic)} is invalid: ${reason}`,
      options,
    );
  }
}

/**
 * A route could not map what it was given: on ingest, a route's own function (data, stream,
 * type, metadata) threw on a message (it was parked); on publish, an event has no value for
 * a topic placeholder or the payload function threw (the relay parks it).
 */
export class MappingFailedError extends CausewayError {
  constructor(
    /** The message's topic (ingest) or the event's stream (publish). */
    readonly subject: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      MqttErrorCode.MQTT_MAPPING_FAILED,
      `Mapping failed for ${JSON.stringify(subject)}: ${reason}`,
      options,
    );
  }
}

/** The broker refused a subscription of the ingest (not authorised, say). */
export class SubscribeRefusedError extends CausewayError {
  constructor(
    readonly topic: string,
    readonly reasonCode: number,
  ) {
    super(
      MqttErrorCode.MQTT_SUBSCRIBE_REFUSED,
      `The broker refused the subscription to ${JSON.stringify(topic)} (reason code ${reasonCode})`,
    );
  }
}
