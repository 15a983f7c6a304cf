import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, ConsumeMessage, Message } from 'amqplib';
import {
  InvalidArgumentError,
  encodeJson,
  type CommandReply,
  type SubscriptionLogger,
  BusClosedError,
  BusUnavailableError,
  CommandTimeoutError,
  NoCommandResponderError,
} from '@causewayjs/core';
import {
  parseCommandReply,
  type CommandServeHandler,
  BrokerCommandDispatcher,
  commandAnswerer,
  type CommandRequest,
  commandResponderSettings,
} from '@causewayjs/core/internals';
import { message } from './amqp-link.js';

/** RabbitMQ's pseudo-queue for direct reply-to: replies come straight to the caller's channel. */
const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

/** Options of {@link RabbitMqCommandDispatcher}. */
export interface RabbitMqCommandDispatcherOptions {
  /** An `amqplib` connection; the caller owns and closes it. */
  connection: ChannelModel;
  /**
   * Routing-key prefix (default `causeway.commands`), also the name of the topic exchange
   * commands are published to; the responders must use the same.
   */
  prefix?: string;
  /** How long to wait for a reply, in ms (default 5,000); also the request's expiration. */
  timeoutMs?: number;
}

interface Pending {
  resolve: (reply: CommandReply) => void;
  reject: (error: Error) => void;
  id: string;
  type: string;
  subject: string;
  timer: NodeJS.Timeout;
}

/**
 * Sends commands to handlers in other processes over RabbitMQ request/reply (the
 * `CommandDispatcher` port), with direct reply-to (`amq.rabbitmq.reply-to`): the command is
 * published, `mandatory`, to the topic exchange `<prefix>` with routing key
 * `<prefix>.<type tokens>`; one responder of the queue handles it and replies to the caller's
 * channel. A command no queue is bound for comes back (`basic.return`):
 * `NoCommandResponderError`. The request expires after `timeoutMs`, so a responder that
 * comes late does not handle a command its caller gave up on.
 *
 * @example
 * ```ts
 * const connection = await amqplib.connect(url);
 * const dispatcher = new RabbitMqCommandDispatcher({ connection, timeoutMs: 2000 });
 * const reply = await dispatcher.dispatch({ id: newId(), type: 'stock.reserve', data, metadata: {} });
 * ```
 */
export class RabbitMqCommandDispatcher extends BrokerCommandDispatcher {
  private readonly connection: ChannelModel;
  private channel: Promise<Channel> | undefined;
  private readonly pending = new Map<string, Pending>();

  constructor(options: RabbitMqCommandDispatcherOptions) {
    super(options);
    this.connection = options.connection;
  }

  /** Publishes the command and waits for its reply. */
  protected async send({ id, type, subject, envelope }: CommandRequest): Promise<CommandReply> {
    const channel = await this.open();
    const payload = Buffer.from(encodeJson(envelope));
    const correlationId = randomUUID();
    return new Promise<CommandReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new CommandTimeoutError(id, type, this.timeoutMs));
      }, this.timeoutMs);
      this.pending.set(correlationId, { resolve, reject, id, type, subject, timer });
      try {
        channel.publish(this.prefix, subject, payload, {
          mandatory: true,
          replyTo: DIRECT_REPLY_TO,
          correlationId,
          messageId: id,
          contentType: 'application/json',
          expiration: String(this.timeoutMs),
        });
      } catch (error) {
        this.settle(correlationId, closedOrUnavailable(error, `Command ${type} (${id})`));
      }
    });
  }

  /** Closes the dispatcher's channel (not the connection); waiting dispatches fail. */
  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    await channel?.then((c) => c.close()).catch(() => undefined);
  }

  private open(): Promise<Channel> {
    this.channel ??= (async () => {
      let channel: Channel;
      try {
        channel = await this.connection.createChannel();
      } catch (error) {
        this.channel = undefined;
        throw closedOrUnavailable(error, 'The command dispatcher');
      }
      channel.on('error', () => undefined);
      channel.on('return', (returned: Message) => {
        const pending = this.pending.get(String(returned.properties.correlationId));
        if (pending)
          this.settle(
            String(returned.properties.correlationId),
            new NoCommandResponderError(pending.type, pending.subject),
          );
      });
      channel.on('close', () => {
        if (this.channel !== undefined) this.channel = undefined;
        for (const key of [...this.pending.keys()])
          this.settle(key, new BusUnavailableError('The command channel closed before the reply'));
      });
      try {
        await channel.assertExchange(this.prefix, 'topic', { durable: true });
        await channel.consume(DIRECT_REPLY_TO, (msg) => this.onReply(msg), { noAck: true });
      } catch (error) {
        this.channel = undefined;
        await channel.close().catch(() => undefined);
        throw closedOrUnavailable(error, 'The command dispatcher');
      }
      return channel;
    })();
    return this.channel;
  }

  private onReply(msg: ConsumeMessage | null): void {
    if (!msg) return;
    const key = String(msg.properties.correlationId);
    const pending = this.pending.get(key);
    if (!pending) return; // a late reply to a command that timed out
    this.pending.delete(key);
    clearTimeout(pending.timer);
    try {
      pending.resolve(parseCommandReply(pending.id, msg.content.toString()));
    } catch (error) {
      pending.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private settle(key: string, error: Error): void {
    const pending = this.pending.get(key);
    if (!pending) return;
    this.pending.delete(key);
    clearTimeout(pending.timer);
    pending.reject(error);
  }
}

/** Options of {@link serveRabbitMqCommands}. */
export interface RabbitMqCommandResponderOptions {
  /** An `amqplib` connection; the caller owns and closes it. */
  connection: ChannelModel;
  handle: CommandServeHandler;
  /** Routing-key prefix and exchange name (default `causeway.commands`), the dispatchers' own. */
  prefix?: string;
  /** Only these command types (default: every type under the prefix). */
  types?: readonly string[];
  /**
   * The responders' shared queue, `<prefix>.<queue>`: each command goes to one responder of
   * it (default `causeway-commands`). It is deleted when its last responder stops.
   */
  queue?: string;
  /** Commands handled at once by this responder (default 16). */
  prefetch?: number;
  logger?: SubscriptionLogger;
}

/** A running command responder (see {@link serveRabbitMqCommands}). */
export interface RabbitMqCommandResponder {
  /** Commands answered so far. */
  readonly answered: number;
  /** Stops taking commands, finishes those in hand (their replies are sent) and resolves. */
  stop(): Promise<void>;
}

/**
 * Serves command handlers to other processes over RabbitMQ: consumes the shared queue
 * `<prefix>.<queue>` (auto-deleted with its last consumer, so a type nobody serves is
 * returned to its caller) bound to the command exchange for `types`, and replies to each
 * command's `reply-to` with the handler's `CommandReply`, then acknowledges it. A thrown
 * Causeway error becomes a rejection with its code; any other throw a `COMMAND_FAILED`
 * rejection. Handlers should apply a command id once (the caller may resend after a timeout).
 * Options are checked at once (a bad one throws); the returned promise resolves once
 * commands are consumed.
 *
 * @example
 * ```ts
 * const responder = await serveRabbitMqCommands({ connection, handle: (c) => handlers.handle(c) });
 * // ...
 * await responder.stop();
 * ```
 */
export function serveRabbitMqCommands(
  options: RabbitMqCommandResponderOptions,
): Promise<RabbitMqCommandResponder> {
  const { prefix, queue, subjects } = commandResponderSettings(options, '#');
  const prefetch = options.prefetch ?? 16;
  if (!Number.isSafeInteger(prefetch) || prefetch < 1)
    throw new InvalidArgumentError('prefetch', 'must be an integer >= 1');
  return startResponder({ ...options, prefix, queue: `${prefix}.${queue}`, prefetch, subjects });
}

async function startResponder(
  o: RabbitMqCommandResponderOptions & {
    prefix: string;
    queue: string;
    prefetch: number;
    subjects: string[];
  },
): Promise<RabbitMqCommandResponder> {
  let channel: Channel;
  try {
    channel = await o.connection.createChannel();
  } catch (error) {
    throw closedOrUnavailable(error, 'The command responder');
  }
  channel.on('error', (error: Error) =>
    o.logger?.error({ err: error, queue: o.queue }, 'command responder channel error'),
  );
  const answerer = commandAnswerer({ handle: o.handle, logger: o.logger });
  let consumerTag: string;
  try {
    await channel.prefetch(o.prefetch);
    await channel.assertExchange(o.prefix, 'topic', { durable: true });
    await channel.assertQueue(o.queue, { durable: false, autoDelete: true });
    for (const key of o.subjects) await channel.bindQueue(o.queue, o.prefix, key);
    const reply = await channel.consume(o.queue, (msg) => {
      if (!msg) return;
      answerer.take({
        text: msg.content.toString(),
        destination: msg.fields.routingKey,
        context: { routingKey: msg.fields.routingKey },
        respond: (text) => {
          const replyTo = msg.properties.replyTo as unknown;
          if (typeof replyTo === 'string' && replyTo.length > 0)
            channel.sendToQueue(replyTo, Buffer.from(text), {
              correlationId: msg.properties.correlationId as unknown as string,
              contentType: 'application/json',
            });
          channel.ack(msg);
        },
      });
    });
    consumerTag = reply.consumerTag;
  } catch (error) {
    await channel.close().catch(() => undefined);
    throw closedOrUnavailable(error, 'The command responder');
  }
  let stopped = false;
  return {
    get answered() {
      return answerer.answered;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await channel.cancel(consumerTag).catch(() => undefined);
      await answerer.settled();
      await channel.close().catch(() => undefined);
    },
  };
}

/** A closed connection is `BusClosedError`; anything else `BusUnavailableError`. */
function closedOrUnavailable(error: unknown, what: string): Error {
  if (/closed/i.test(message(error))) return new BusClosedError();
  return new BusUnavailableError(`${what} could not reach RabbitMQ: ${message(error)}`, error);
}
