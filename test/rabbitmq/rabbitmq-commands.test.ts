import { connect, type ChannelModel } from 'amqplib';
import { describe } from 'vitest';
import { RabbitMqCommandDispatcher, serveRabbitMqCommands } from '@causewayjs/rabbitmq';
import { describeCommandsConformance, type CommandsHarness } from '@causewayjs/testing';
import { amqpUrl, rabbitMqAvailable, randomRabbitName } from '../support/rabbitmq.js';

const available = await rabbitMqAvailable();

/** Commands over RabbitMQ request/reply (direct reply-to), on two connections. */
async function openHarness(): Promise<CommandsHarness> {
  const prefix = `cmd.${randomRabbitName()}`;
  const client: ChannelModel = await connect(amqpUrl);
  const server: ChannelModel = await connect(amqpUrl);
  const dispatchers: RabbitMqCommandDispatcher[] = [];
  return {
    dispatcher(options = {}) {
      const d = new RabbitMqCommandDispatcher({ connection: client, prefix, ...options });
      dispatchers.push(d);
      return d;
    },
    serve(handle, options = {}) {
      return serveRabbitMqCommands({
        connection: server,
        prefix,
        handle,
        ...(options.types === undefined ? {} : { types: options.types }),
        // One command at a time, so responders of the queue visibly share the work.
        ...(options.apart ? { prefetch: 1 } : {}),
      });
    },
    async requestRaw(token, text) {
      const channel = await client.createChannel();
      let resolveReply: (text: string) => void = () => undefined;
      const reply = new Promise<string>((resolve) => (resolveReply = resolve));
      // Direct reply-to: consume the pseudo-queue before publishing on the same channel.
      await channel.consume(
        'amq.rabbitmq.reply-to',
        (m) => m && resolveReply(m.content.toString()),
        { noAck: true },
      );
      await channel.checkExchange(prefix);
      channel.publish(prefix, `${prefix}.${token}`, Buffer.from(text), {
        replyTo: 'amq.rabbitmq.reply-to',
        correlationId: 'k',
      });
      const answer = await reply;
      await channel.close();
      return answer;
    },
    async answerRaw(type, text) {
      const channel = await server.createChannel();
      const queue = `${prefix}.raw`;
      await channel.assertExchange(prefix, 'topic', { durable: true });
      await channel.assertQueue(queue, { autoDelete: true });
      await channel.bindQueue(queue, prefix, `${prefix}.${type}`);
      await channel.consume(queue, (m) => {
        if (!m) return;
        channel.sendToQueue(String(m.properties.replyTo), Buffer.from(text), {
          correlationId: String(m.properties.correlationId),
        });
        channel.ack(m);
      });
      return () => channel.close();
    },
    async closedDispatcher() {
      const closing = await connect(amqpUrl);
      await closing.close();
      return new RabbitMqCommandDispatcher({ connection: closing, prefix });
    },
    async cleanup() {
      for (const d of dispatchers.splice(0)) await d.close();
      const channel = await client.createChannel();
      await channel.deleteExchange(prefix).catch(() => undefined);
      await client.close();
      await server.close();
    },
  };
}

describe.skipIf(!available)('commands over RabbitMQ request/reply (direct reply-to)', () => {
  describeCommandsConformance('rabbitmq', openHarness);
});
