import {
  ClosedConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { SpanKind } from '@opentelemetry/api';
import { InvalidArgumentError } from '../../core/errors.js';
import { encodeJson } from '../../core/json-codec.js';
import type {
  CommandDispatcher,
  CommandEnvelope,
  CommandReply,
} from '../../domain/command-dispatcher.js';
import { withSpan } from '../../observability/tracing.js';
import type { SubscriptionLogger } from '../../subscriptions/subscription-options.js';
import {
  BusClosedError,
  BusUnavailableError,
  CommandTimeoutError,
  NoCommandResponderError,
} from '../../bus/bus-errors.js';
import { assertSubjectPrefix } from '../../bus/subject.js';
import {
  DEFAULT_COMMAND_PREFIX,
  answerCommand,
  commandSubject,
  parseCommandReply,
  type CommandServeHandler,
} from '../../bus/command-wire.js';

export {
  CommandResponderCode,
  DEFAULT_COMMAND_PREFIX,
  commandSubject,
  type CommandServeHandler,
} from '../../bus/command-wire.js';

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
export class NatsCommandDispatcher implements CommandDispatcher {
  private readonly nc: NatsConnection;
  private readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(options: NatsCommandDispatcherOptions) {
    if (typeof options !== 'object' || options === null || !options.connection)
      throw new InvalidArgumentError('options', 'must be { connection, prefix?, timeoutMs? }');
    this.nc = options.connection;
    this.prefix = options.prefix ?? DEFAULT_COMMAND_PREFIX;
    assertSubjectPrefix(this.prefix);
    this.timeoutMs = options.timeoutMs ?? 5000;
    if (!Number.isSafeInteger(this.timeoutMs) || this.timeoutMs < 1)
      throw new InvalidArgumentError('timeoutMs', 'must be an integer >= 1');
  }

  /**
   * Sends the command and resolves with the handler's reply.
   *
   * @throws {InvalidArgumentError} for a malformed envelope (nothing is sent).
   * @throws {NoCommandResponderError} when no responder serves the type.
   * @throws {CommandTimeoutError} when no reply came in time (resend with the same id).
   * @throws {BusClosedError} / {@link BusUnavailableError} when the connection is closed / failing.
   */
  dispatch(command: CommandEnvelope): Promise<CommandReply> {
    if (typeof command !== 'object' || command === null)
      return Promise.reject(new InvalidArgumentError('command', 'must be a command envelope'));
    const { id, type } = command as Partial<CommandEnvelope>;
    if (typeof id !== 'string' || id.length === 0)
      return Promise.reject(new InvalidArgumentError('command.id', 'must be a non-empty string'));
    if (typeof type !== 'string' || type.length === 0)
      return Promise.reject(new InvalidArgumentError('command.type', 'must be a non-empty string'));
    const subject = commandSubject(this.prefix, type);
    const metadata = (command.metadata ?? {}) as Record<string, unknown>;
    return withSpan(
      'causeway.bus.command',
      {
        kind: SpanKind.CLIENT,
        traceparent: typeof metadata.traceparent === 'string' ? metadata.traceparent : undefined,
        attributes: { 'messaging.destination.name': subject, 'causeway.command.id': id },
      },
      async () => {
        const payload = encodeJson({ id, type, data: command.data, metadata });
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
          if (error instanceof ClosedConnectionError || this.nc.isClosed())
            throw new BusClosedError();
          throw new BusUnavailableError(
            `Command ${type} (${id}) could not be sent: ${error instanceof Error ? error.message : String(error)}`,
            error,
          );
        }
        return parseCommandReply(id, reply.string());
      },
    );
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
  /** Stops taking commands, finishes those in hand (their replies are sent) and resolves. */
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
  if (typeof options !== 'object' || options === null || !options.connection)
    throw new InvalidArgumentError('options', 'must be { connection, handle, ... }');
  if (typeof options.handle !== 'function')
    throw new InvalidArgumentError('handle', 'must be a function (command) => reply');
  const prefix = options.prefix ?? DEFAULT_COMMAND_PREFIX;
  assertSubjectPrefix(prefix);
  const queue = options.queue ?? 'causeway-commands';
  if (!/^[A-Za-z0-9_-]+$/.test(queue))
    throw new InvalidArgumentError('queue', 'must be ASCII letters, digits, "_" or "-"');
  const subjects =
    options.types === undefined
      ? [`${prefix}.>`]
      : options.types.map((t) => {
          if (typeof t !== 'string' || t.length === 0)
            throw new InvalidArgumentError('types', 'must be non-empty strings');
          return commandSubject(prefix, t);
        });
  const nc = options.connection;
  const inFlight = new Set<Promise<void>>();
  let answered = 0;
  const answer = async (msg: Msg): Promise<void> => {
    const reply = await answerCommand({
      text: msg.string(),
      destination: msg.subject,
      handle: options.handle,
    });
    if (msg.reply) msg.respond(JSON.stringify(reply));
    answered += 1;
  };
  const subscriptions: Subscription[] = subjects.map((subject) =>
    nc.subscribe(subject, {
      queue,
      callback: (error, msg) => {
        if (error) {
          options.logger?.error({ err: error, subject }, 'command subscription failed');
          return;
        }
        const p = answer(msg).catch((e: unknown) =>
          options.logger?.error({ err: e, subject: msg.subject }, 'could not answer a command'),
        );
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      },
    }),
  );
  return {
    get answered() {
      return answered;
    },
    async stop() {
      if (!nc.isClosed()) await Promise.all(subscriptions.map((s) => s.drain()));
      await Promise.all([...inFlight]);
    },
  };
}
