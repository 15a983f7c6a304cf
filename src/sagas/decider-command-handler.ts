import { CausewayError, DuplicateEventIdError, InvalidArgumentError } from '../core/errors.js';
import type { CommandEnvelope, CommandReply } from '../domain/command-dispatcher.js';
import { CommandHandler, type CommandHandlerOptions } from '../domain/command-handler.js';
import type { Command } from '../domain/command.js';
import type { Decider, DomainEvent } from '../domain/decider.js';
import { InvalidCommandError, InvalidDecisionError } from '../domain/domain-errors.js';
import type { EventStore } from '../store/event-store.js';
import { idempotentDecider, type IdempotentState } from './idempotent-decider.js';
import type { CommandEnvelopeHandler } from './in-process-command-dispatcher.js';

/** Options of {@link deciderCommandHandler}. */
export interface DeciderCommandHandlerOptions<
  C extends Command,
  E extends DomainEvent,
  S,
> extends Omit<CommandHandlerOptions<C, E, S>, 'decider' | 'store' | 'snapshots'> {
  store: EventStore;
  decider: Decider<C, E, S>;
  /** The stream a command goes to, e.g. `(c) => \`order-${c.data.orderId}\``. */
  stream: (command: CommandEnvelope) => string;
}

/** Marks an error thrown by `decide`: the command is refused, retrying will not help. */
class Refused extends Error {
  constructor(readonly error: unknown) {
    super('the decider refused the command');
  }
}

/**
 * A command handler for a dispatcher, built on the domain's `CommandHandler` and made
 * idempotent by command id ({@link idempotentDecider}): the same command dispatched twice is
 * applied once, and the second time answered `accepted` without new events.
 *
 * Replies: `accepted` with the stream and its revision; `rejected` when `decide` throws (code:
 * the error's `code`, or its name) or the command is malformed. Other failures (store down,
 * concurrent writes outlasting the retries) reject the returned promise, so the dispatcher
 * tries again later with the same id.
 *
 * It takes no snapshot store: the remembered command ids are part of the state it folds, so
 * every load reads the whole stream (keep such streams short-lived, one per order, or per
 * product).
 *
 * @example
 * ```ts
 * dispatcher.register('payment.authorise', deciderCommandHandler({
 *   store, decider: paymentDecider, stream: (c) => `payment-${(c.data as { orderId: string }).orderId}`,
 * }));
 * ```
 */
export function deciderCommandHandler<C extends Command, E extends DomainEvent, S>(
  options: DeciderCommandHandlerOptions<C, E, S>,
): CommandEnvelopeHandler {
  if (typeof options.stream !== 'function')
    throw new InvalidArgumentError('stream', 'must be a function (command) => stream name');
  const inner = idempotentDecider(options.decider);
  const decider: Decider<C, E, IdempotentState<S>> = {
    initialState: inner.initialState,
    evolve: (state, event) => inner.evolve(state, event),
    async decide(command, state) {
      try {
        return await inner.decide(command, state);
      } catch (error) {
        throw new Refused(error);
      }
    },
  };
  const handler = new CommandHandler({ ...options, decider });
  return async (envelope) => {
    let stream: string;
    try {
      stream = options.stream(envelope);
    } catch (error) {
      return rejection(error);
    }
    const command = {
      id: envelope.id,
      type: envelope.type,
      data: envelope.data,
      metadata: envelope.metadata,
    } as C;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await handler.handle(stream, command);
        return { status: 'accepted', stream, revision: result.revision ?? undefined };
      } catch (error) {
        if (error instanceof Refused) return rejection(error.error);
        if (error instanceof InvalidCommandError || error instanceof InvalidDecisionError)
          return rejection(error);
        // A concurrent delivery of the same command appended its events (same derived ids)
        // first: handled again, the command is found applied and answered as such.
        if (error instanceof DuplicateEventIdError && attempt < 3) continue;
        throw error;
      }
    }
  };
}

function rejection(error: unknown): CommandReply {
  if (error instanceof CausewayError)
    return { status: 'rejected', code: error.code, message: error.message };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      status: 'rejected',
      code:
        typeof code === 'string'
          ? code
          : error.name === 'Error'
            ? error.constructor.name
            : error.name,
      message: error.message,
    };
  }
  return { status: 'rejected', code: 'REJECTED', message: String(error) };
}
