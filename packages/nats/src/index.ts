/**
 * `@causewayjs/nats`: the message bus on NATS JetStream and commands over NATS request/reply.
 * @packageDocumentation
 * @module @causewayjs/nats
 */
export { NatsMessageBus } from './nats-message-bus.js';
export type { NatsMessageBusOptions } from './nats-message-bus.js';
export {
  NATS_CLOUDEVENT_SOURCE,
  decodeNatsMessage,
  encodeNatsMessage,
} from './nats-cloud-events.js';
export type { NatsWireFormat, NatsWireMessage } from './nats-cloud-events.js';
export {
  CommandResponderCode,
  DEFAULT_COMMAND_PREFIX,
  NatsCommandDispatcher,
  commandSubject,
  serveNatsCommands,
} from './nats-commands.js';
export type {
  CommandServeHandler,
  NatsCommandDispatcherOptions,
  NatsCommandResponder,
  NatsCommandResponderOptions,
} from './nats-commands.js';
