import { SpanKind } from '@opentelemetry/api';
import { InvalidArgumentError } from '../core/errors.js';
import type {
  CommandDispatcher,
  CommandEnvelope,
  CommandReply,
} from '../domain/command-dispatcher.js';
import { withSpan } from '../observability/tracing.js';
import type { SubscriptionLogger } from '../subscriptions/subscription-options.js';
import {
  DEFAULT_COMMAND_PREFIX,
  answerCommand,
  commandSubject,
  type CommandServeHandler,
} from './command-wire.js';
import { assertSubjectPrefix } from './subject.js';

/** What a broker's dispatcher is handed to send one checked command. */
export interface CommandRequest {
  id: string;
  type: string;
  /** `<prefix>.<type tokens>`. */
  subject: string;
  /** The envelope to encode and send. */
  envelope: CommandEnvelope;
}

/**
 * The part of a broker's `CommandDispatcher` that is the same on every broker: it checks the
 * options (`{ connection, prefix?, timeoutMs? }`, defaults `causeway.commands` and 5,000 ms)
 * and each envelope, and sends inside a `causeway.bus.command` client span whose parent is
 * the command's `traceparent`; a subclass only sends ({@link BrokerCommandDispatcher.send}).
 */
export abstract class BrokerCommandDispatcher implements CommandDispatcher {
  /** The subject prefix commands are sent under. */
  protected readonly prefix: string;
  /** How long to wait for a reply, in ms. */
  protected readonly timeoutMs: number;

  /**
   * @throws {InvalidArgumentError} for options that are not an object with a connection, a
   * malformed prefix or a timeout that is not an integer >= 1.
   */
  constructor(options: unknown) {
    if (
      typeof options !== 'object' ||
      options === null ||
      !(options as { connection?: unknown }).connection
    )
      throw new InvalidArgumentError('options', 'must be { connection, prefix?, timeoutMs? }');
    const o = options as { prefix?: string; timeoutMs?: number };
    this.prefix = o.prefix ?? DEFAULT_COMMAND_PREFIX;
    assertSubjectPrefix(this.prefix);
    this.timeoutMs = o.timeoutMs ?? 5000;
    if (!Number.isSafeInteger(this.timeoutMs) || this.timeoutMs < 1)
      throw new InvalidArgumentError('timeoutMs', 'must be an integer >= 1');
  }

  /**
   * Sends the command and resolves with the handler's reply.
   *
   * @throws {InvalidArgumentError} for a malformed envelope (nothing is sent).
   * @throws {NoCommandResponderError} when no responder serves the type.
   * @throws {CommandTimeoutError} when no reply came in time (resend with the same id).
   * @throws {BusClosedError} / {@link @causewayjs/core!BusUnavailableError} when the connection is closed / failing.
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
      () => this.send({ id, type, subject, envelope: { id, type, data: command.data, metadata } }),
    );
  }

  /** Sends one checked command over the broker and resolves with its reply. */
  protected abstract send(request: CommandRequest): Promise<CommandReply>;
}

/** A command responder's checked settings, whatever the broker. */
export interface CommandResponderSettings {
  prefix: string;
  /** The queue (group) name as given, checked. */
  queue: string;
  /** The subjects (routing keys) to take commands from. */
  subjects: string[];
}

/**
 * Checks a command responder's options (`{ connection, handle, prefix?, types?, queue? }`)
 * and works out the subjects it serves: one per type in `types`, or every type under the
 * prefix, `<prefix>.<wildcard>`, with the broker's multi-token wildcard.
 *
 * @throws {InvalidArgumentError} for a missing connection or handler, a malformed prefix,
 * queue name or type.
 */
export function commandResponderSettings(
  options: unknown,
  wildcard: string,
): CommandResponderSettings {
  if (
    typeof options !== 'object' ||
    options === null ||
    !(options as { connection?: unknown }).connection
  )
    throw new InvalidArgumentError('options', 'must be { connection, handle, ... }');
  const o = options as {
    handle?: unknown;
    prefix?: string;
    types?: readonly string[];
    queue?: string;
  };
  if (typeof o.handle !== 'function')
    throw new InvalidArgumentError('handle', 'must be a function (command) => reply');
  const prefix = o.prefix ?? DEFAULT_COMMAND_PREFIX;
  assertSubjectPrefix(prefix);
  const queue = o.queue ?? 'causeway-commands';
  if (typeof queue !== 'string' || !/^[A-Za-z0-9_-]+$/.test(queue))
    throw new InvalidArgumentError('queue', 'must be ASCII letters, digits, "_" or "-"');
  const subjects =
    o.types === undefined
      ? [`${prefix}.${wildcard}`]
      : o.types.map((t) => {
          if (typeof t !== 'string' || t.length === 0)
            throw new InvalidArgumentError('types', 'must be non-empty strings');
          return commandSubject(prefix, t);
        });
  return { prefix, queue, subjects };
}

/** Answers the commands a responder takes, in the background, and counts them. */
export interface CommandAnswerer {
  /** Commands answered so far. */
  readonly answered: number;
  /**
   * Answers one request (see `answerCommand`) and hands the reply, as JSON text, to `respond`
   * (which sends it and acknowledges the request); a failure is logged with `context`.
   */
  take(p: {
    text: string;
    destination: string;
    respond: (reply: string) => void;
    context: Record<string, unknown>;
  }): void;
  /** Resolves once every answer in hand has been sent. */
  settled(): Promise<void>;
}

/** Creates the part of a command responder that is the same on every broker. */
export function commandAnswerer(p: {
  handle: CommandServeHandler;
  logger?: SubscriptionLogger | undefined;
}): CommandAnswerer {
  const inFlight = new Set<Promise<void>>();
  let answered = 0;
  return {
    get answered() {
      return answered;
    },
    take({ text, destination, respond, context }) {
      const answer = answerCommand({ text, destination, handle: p.handle }).then((reply) => {
        respond(JSON.stringify(reply));
        answered += 1;
      });
      const done = answer.catch((e: unknown) =>
        p.logger?.error({ err: e, ...context }, 'could not answer a command'),
      );
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
    },
    async settled() {
      await Promise.all([...inFlight]);
    },
  };
}
