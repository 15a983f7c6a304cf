import {
  ClosedConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import {
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

export {
  CommandResponderCode,
  DEFAULT_COMMAND_PREFIX,
  commandSubject,
  type CommandServeHandler,
} from '@causewayjs/core/internals';

/** Options of {@link NatsCommandDispatcher}. */
export interface NatsCommandDispatcherOptions {
  /** The caller owns and closes the connection. */
  connection: NatsConnection;
  /** Subject prefix (default `causeway.commands`); the responders must use the same. */
  prefix?: string;
  /** How long to wait for a reply, in ms (default 5,000). */
  timeoutMs?: number;
}

/**
 * Sends commands to handlers in other processes over NATS request/reply (the
 * `CommandDispatcher` port): the command goes to `<prefix>.<type>`, one responder of the
 * queue group handles it and replies with a `CommandReply`.
 *
 * @example
 * ```ts
 * const dispatcher = new NatsCommandDispatcher({ connection: nc, timeoutMs: 2000 });
 * const reply = await dispatcher.dispatch({ id: newId(), type: 'stock.reserve', data, metadata: {} });
 * ```
 */
export class NatsCommandDispatcher extends BrokerCommandDispatcher {
  private readonly nc: NatsConnection;

  constructor(options: NatsCommandDispatcherOptions) {
    super(options);
    this.nc = options.connection;
  }

  /** Publishes the command and waits for its reply. */
  protected async send({ id, type, subject, envelope }: CommandRequest): Promise<CommandReply> {
    const payload = encodeJson(envelope);
    let reply: Msg;
    try {
      reply = await this.nc.request(subject, payload, { timeout: this.timeoutMs });
    } catch (error) {
      if (
        error instanceof NoRespondersError ||
        (error instanceof RequestError && error.isNoResponders())
      )
        throw new NoCommandResponderError(type, subject);
      if (
        error instanceof TimeoutError ||
        (error instanceof RequestError && error.cause instanceof TimeoutError)
      )
        throw new CommandTimeoutError(id, type, this.timeoutMs);
      if (error instanceof ClosedConnectionError || this.nc.isClosed()) throw new BusClosedError();
      throw new BusUnavailableError(
        `Command ${type} (${id}) could not be sent: ${error instanceof Error ? error.message : String(error)}`,
        error,
      );
    }
    return parseCommandReply(id, reply.string());
  }
}

export interface NatsCommandResponderOptions {
  /** The caller owns and closes the connection. */
  connection: NatsConnection;
  handle: CommandServeHandler;
  /** Subject prefix (default `causeway.commands`), the dispatchers' own. */
  prefix?: string;
  /** Only these command types (default: every type under the prefix). */
  types?: readonly string[];
  /** Queue group: each command goes to one responder of the group (default `causeway-commands`). */
  queue?: string;
  logger?: SubscriptionLogger;
}

/** A running command responder (see {@link serveNatsCommands}). */
export interface NatsCommandResponder {
  /** Commands answered so far. */
  readonly answered: number;
  /** Stops taking commands, finishes those in hand (their replies are sent) and resolves; stopping again does nothing. */
  stop(): Promise<void>;
}

/**
 * Serves command handlers to other processes over NATS: subscribes `<prefix>.<type>` in a
 * queue group (so several responders share the load, one handles each command) and replies
 * with the handler's `CommandReply`. A thrown Causeway error becomes a rejection with its
 * code; any other throw a `COMMAND_FAILED` rejection. Handlers should apply a command id
 * once (the dispatcher's caller may resend after a timeout).
 *
 * @example
 * ```ts
 * const responder = serveNatsCommands({ connection: nc, handle: (c) => handlers.handle(c) });
 * // ...
 * await responder.stop();
 * ```
 */
export function serveNatsCommands(options: NatsCommandResponderOptions): NatsCommandResponder {
  const { queue, subjects } = commandResponderSettings(options, '>');
  const nc = options.connection;
  const answerer = commandAnswerer({ handle: options.handle, logger: options.logger });
  const subscriptions: Subscription[] = subjects.map((subject) =>
    nc.subscribe(subject, {
      queue,
      callback: (error, msg) => {
        if (error) {
          options.logger?.error({ err: error, subject }, 'command subscription failed');
          return;
        }
        answerer.take({
          text: msg.string(),
          destination: msg.subject,
          context: { subject: msg.subject },
          respond: (text) => {
            if (msg.reply) msg.respond(text);
          },
        });
      },
    }),
  );
  let stopped = false;
  return {
    get answered() {
      return answerer.answered;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!nc.isClosed()) await Promise.all(subscriptions.map((s) => s.drain()));
      await answerer.settled();
    },
  };
}
