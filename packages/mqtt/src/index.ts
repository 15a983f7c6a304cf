/**
 * `@causewayjs/mqtt`: device messages from an MQTT broker into event streams (ingest), and
 * store events out to MQTT topics (a publish target of the outbox relay).
 * @packageDocumentation
 * @module @causewayjs/mqtt
 */
export { MqttIngest, MQTT_PARKED_EVENT_TYPE, mqttParkedMessageSchema } from './mqtt-ingest.js';
export type {
  MqttIngestOptions,
  MqttIngestRoute,
  MqttIngestState,
  MqttIngestStatus,
  MqttParkedMessage,
  MqttParkedRetryResult,
} from './mqtt-ingest.js';
export { MqttPublisher } from './mqtt-publisher.js';
export type {
  MqttPublishRoute,
  MqttPublisherOptions,
  MqttPublisherStatus,
} from './mqtt-publisher.js';
export { messageEventId } from './mqtt-message.js';
export type { MessageIdentity, MqttMessage } from './mqtt-message.js';
export { TopicPattern } from './mqtt-topic-pattern.js';
export type { TopicMatch } from './mqtt-topic-pattern.js';
export {
  InvalidTopicPatternError,
  MappingFailedError,
  MqttErrorCode,
  PayloadInvalidError,
  SubscribeRefusedError,
  TopicUnmappedError,
} from './mqtt-errors.js';
