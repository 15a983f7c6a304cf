/**
 * `causeway/rabbitmq`: the message bus on RabbitMQ (AMQP 0-9-1, with `amqplib`).
 */
export { DEFAULT_AMQP_URL, RabbitMqMessageBus } from './rabbitmq-message-bus.js';
export type { RabbitMqMessageBusOptions } from './rabbitmq-message-bus.js';
export { topicBindingKey } from './amqp-topic.js';
