/**
 * `causeway/nats`: the message bus on NATS JetStream and commands over NATS request/reply.
 */
export { NatsMessageBus } from './nats-message-bus.js';
export type { NatsMessageBusOptions } from './nats-message-bus.js';
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
