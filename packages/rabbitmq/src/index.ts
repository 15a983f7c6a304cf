/**
 * `@causewayjs/rabbitmq`: the message bus on RabbitMQ (AMQP 0-9-1, with `amqplib`) and commands
 * over RabbitMQ request/reply (direct reply-to).
 * @packageDocumentation
 * @module @causewayjs/rabbitmq
 */
export { DEFAULT_AMQP_URL, RabbitMqMessageBus } from './rabbitmq-message-bus.js';
export type { RabbitMqMessageBusOptions } from './rabbitmq-message-bus.js';
export { topicBindingKey } from './amqp-topic.js';
export {
  CommandResponderCode,
  DEFAULT_COMMAND_PREFIX,
  commandSubject,
  type CommandServeHandler,
} from '@causewayjs/core/internals';
export { RabbitMqCommandDispatcher, serveRabbitMqCommands } from './rabbitmq-commands.js';
export type {
  RabbitMqCommandDispatcherOptions,
  RabbitMqCommandResponder,
  RabbitMqCommandResponderOptions,
} from './rabbitmq-commands.js';
