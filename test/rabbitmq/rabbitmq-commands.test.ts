import { connect, type ChannelModel } from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CommandResponderCode,
  RabbitMqCommandDispatcher,
  serveRabbitMqCommands,
  type RabbitMqCommandResponder,
} from '../../src/adapters/rabbitmq/index.js';
import {
  BusClosedError,
  CommandTimeoutError,
  InvalidCommandReplyError,
  NoCommandResponderError,
} from '../../src/bus/index.js';
import { InvalidArgumentError, WrongExpectedRevisionError } from '../../src/core/errors.js';
import type { CommandEnvelope } from '../../src/domain/command-dispatcher.js';
import { amqpUrl, rabbitMqAvailable, randomRabbitName } from '../support/rabbitmq.js';

const available = await rabbitMqAvailable();

const command = (type: string, data: unknown = {}): CommandEnvelope => ({
  id: crypto.randomUUID(),
  type,
  data,
  metadata: { correlationId: 'c-1' },
});

describe.skipIf(!available)('commands over RabbitMQ request/reply (direct reply-to)', () => {
  let prefix: string;
  let client: ChannelModel;
  let server: ChannelModel;
  const responders: RabbitMqCommandResponder[] = [];
  const dispatchers: RabbitMqCommandDispatcher[] = [];

  beforeEach(async () => {
    prefix = `cmd.${randomRabbitName()}`;
    client = await connect(amqpUrl);
    server = await connect(amqpUrl);
  });
  afterEach(async () => {
    for (const r of responders.splice(0)) await r.stop();
    for (const d of dispatchers.splice(0)) await d.close();
    const channel = await client.createChannel();
    await channel.deleteExchange(prefix).catch(() => undefined);
    await client.close();
    await server.close();
  });

  const serve = async (
    handle: Parameters<typeof serveRabbitMqCommands>[0]['handle'],
    extra = {},
  ) => {
    const r = await serveRabbitMqCommands({ connection: server, prefix, handle, ...extra });
    responders.push(r);
    return r;
  };
  const dispatcher = (extra = {}) => {
    const d = new RabbitMqCommandDispatcher({ connection: client, prefix, ...extra });
    dispatchers.push(d);
    return d;
  };

  it('delivers the envelope to the handler on the other connection and returns its reply', async () => {
    const received: CommandEnvelope[] = [];
    const responder = await serve((c) => {
      received.push(c);
      return {
        status: 'accepted',
        stream: `stock-${String((c.data as { sku: string }).sku)}`,
        revision: 3,
      };
    });
    const sent = command('stock.reserve', { sku: 'a1', qty: 2 });
    expect(await dispatcher().dispatch(sent)).toEqual({
      status: 'accepted',
      stream: 'stock-a1',
      revision: 3,
    });
    expect(received).toEqual([sent]);
    expect(responder.answered).toBe(1);
  });

  it('turns a thrown Causeway error into a rejection with its code, other throws into COMMAND_FAILED', async () => {
    await serve((c) => {
      if (c.type === 'order.place') throw new WrongExpectedRevisionError('order-1', 2, 3);
      throw new Error('database on fire');
    });
    const d = dispatcher();
    expect(await d.dispatch(command('order.place'))).toMatchObject({
      status: 'rejected',
      code: 'WRONG_EXPECTED_REVISION',
    });
    expect(await d.dispatch(command('order.cancel'))).toEqual({
      status: 'rejected',
      code: CommandResponderCode.COMMAND_FAILED,
      message: 'database on fire',
    });
  });

  it('fails with NoCommandResponderError when nobody serves the type, or after the responders stopped', async () => {
    const responder = await serve(() => ({ status: 'accepted' }), { types: ['stock.reserve'] });
    const d = dispatcher();
    const error = await d.dispatch(command('payment.authorise')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoCommandResponderError);
    expect(error).toMatchObject({ code: 'NO_COMMAND_RESPONDER', commandType: 'payment.authorise' });
    expect(await d.dispatch(command('stock.reserve'))).toEqual({ status: 'accepted' });
    await responder.stop();
    await expect(d.dispatch(command('stock.reserve'))).rejects.toBeInstanceOf(
      NoCommandResponderError,
    );
  });

  it('fails with CommandTimeoutError when the handler does not answer in time', async () => {
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    await serve(async () => {
      await slow;
      return { status: 'accepted' };
    });
    const sent = command('payment.authorise');
    const error = await dispatcher({ timeoutMs: 100 })
      .dispatch(sent)
      .catch((e: unknown) => e);
    release();
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect(error).toMatchObject({ code: 'COMMAND_TIMEOUT', commandId: sent.id, timeoutMs: 100 });
  });

  it('shares commands between responders of the queue: each answered once', async () => {
    const byResponder = [0, 0];
    let release: () => void = () => undefined;
    const both = new Promise<void>((resolve) => (release = resolve));
    const handler = (i: 0 | 1) => async () => {
      byResponder[i] = (byResponder[i] ?? 0) + 1;
      if ((byResponder[0] ?? 0) > 0 && (byResponder[1] ?? 0) > 0) release();
      else await both;
      return { status: 'accepted' as const };
    };
    await serve(handler(0), { prefetch: 1 });
    await serve(handler(1), { prefetch: 1 });
    const d = dispatcher();
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => d.dispatch(command('job.run'))),
    );
    expect(replies.every((r) => r.status === 'accepted')).toBe(true);
    expect((byResponder[0] ?? 0) + (byResponder[1] ?? 0)).toBe(20);
    expect(byResponder[0]).toBeGreaterThan(0);
    expect(byResponder[1]).toBeGreaterThan(0);
  });

  it('answers a request that is not an envelope with INVALID_COMMAND', async () => {
    await serve(() => ({ status: 'accepted' }));
    const channel = await client.createChannel();
    let resolveReply: (text: string) => void = () => undefined;
    const reply = new Promise<string>((resolve) => (resolveReply = resolve));
    // Direct reply-to: consume the pseudo-queue before publishing on the same channel.
    await channel.consume('amq.rabbitmq.reply-to', (m) => m && resolveReply(m.content.toString()), {
      noAck: true,
    });
    await channel.checkExchange(prefix);
    channel.publish(prefix, `${prefix}.x`, Buffer.from('garbage'), {
      replyTo: 'amq.rabbitmq.reply-to',
      correlationId: 'k',
    });
    expect(JSON.parse(await reply)).toMatchObject({
      status: 'rejected',
      code: CommandResponderCode.INVALID_COMMAND,
    });
    await channel.close();
  });

  it('refuses a reply that is not a CommandReply', async () => {
    const channel = await server.createChannel();
    const queue = `${prefix}.bad`;
    await channel.assertExchange(prefix, 'topic', { durable: true });
    await channel.assertQueue(queue, { autoDelete: true });
    await channel.bindQueue(queue, prefix, `${prefix}.bad.reply`);
    await channel.consume(queue, (m) => {
      if (!m) return;
      channel.sendToQueue(
        String(m.properties.replyTo),
        Buffer.from(JSON.stringify({ status: 'maybe' })),
        { correlationId: String(m.properties.correlationId) },
      );
      channel.ack(m);
    });
    await expect(dispatcher().dispatch(command('bad.reply'))).rejects.toBeInstanceOf(
      InvalidCommandReplyError,
    );
    await channel.close();
  });

  it('rejects bad input with typed errors, and a closed connection with BusClosedError', async () => {
    const d = dispatcher();
    await expect(d.dispatch({ ...command('x'), id: '' })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(d.dispatch({ ...command('x'), type: '' })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(() => new RabbitMqCommandDispatcher({ connection: client, timeoutMs: 0 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => serveRabbitMqCommands({ connection: server, handle: 'x' as never })).toThrow(
      InvalidArgumentError,
    );
    const closing = await connect(amqpUrl);
    await closing.close();
    const closed = new RabbitMqCommandDispatcher({ connection: closing, prefix });
    await expect(closed.dispatch(command('x'))).rejects.toBeInstanceOf(BusClosedError);
  });
});
