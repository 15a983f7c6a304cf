import { describe } from 'vitest';
import { RabbitMqMessageBus } from '@causewayjs/rabbitmq';
import { describeMessageBusConformance } from '@causewayjs/testing';
import {
  amqpUrl,
  deleteRabbitTopology,
  rabbitMqAvailable,
  randomRabbitName,
} from '../support/rabbitmq.js';

const available = await rabbitMqAvailable();
/** A limit of the harness's own: the broker's default (128 MiB) is too big to build in a test. */
const maxPayloadBytes = 256 * 1024;

const harness = (queueType: 'quorum' | 'classic') => async () => {
  const prefix = randomRabbitName('bus');
  // One message at a time so members of a group visibly share the work.
  const bus = await RabbitMqMessageBus.connect(amqpUrl, {
    prefix,
    queueType,
    prefetch: 1,
    maxMessageBytes: maxPayloadBytes,
    logMaxAge: '1h',
  });
  return {
    bus,
    maxPayloadBytes,
    cleanup: () => deleteRabbitTopology(bus.topology()),
  };
};

describe.skipIf(!available)('rabbitmq', () => {
  describeMessageBusConformance('rabbitmq', harness('quorum'));
  describeMessageBusConformance('rabbitmq (classic queues)', harness('classic'));
});
