import { CausewayError, DuplicateEventIdError, InvalidArgumentError } from '../core/errors.js';
import type { CommandEnvelope, CommandReply } from '../domain/command-dispatcher.js';
import { CommandHandler, type CommandHandlerOptions } from '../domain/command-handler.js';
import type { Command } from '../domain/command.js';
import type { Decider, DomainEvent } from '../domain/decider.js';
import { InvalidCommandError, InvalidDecisionError } from '../domain/domain-errors.js';
import type { Snapshot, SnapshotStore } from '../domain/snapshot-store.js';
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
 * It takes no snapshot store: the remembered command ids are part of the state it folds. It
 * keeps the state it reached on the streams it commanded last in memory instead, so the next
 * command on such a stream reads only the events appended since (by anyone); a stream it has
 * not commanded lately, or one with a `maxAge`, is read whole.
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
  const handler = new CommandHandler({
    ...options,
    decider,
    snapshots: { store: new RecentStates(options.store), stateVersion: 'recent', policy: always },
  });
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

/** How many streams' states a handler keeps in memory (the least recently saved go first). */
const RECENT_STREAMS = 1024;

/** Saves the state after every command that appended events. */
const always = { shouldSnapshot: () => true };

/**
 * The folded states of the streams a handler commanded last, kept in memory as snapshots so
 * that a load folds only the events after them: without it, every command on a long-lived
 * stream (a product's stock) re-reads and re-folds its whole history. Like any snapshot, a
 * state holding a forgotten subject's personal data is not served again: the command handler
 * checks the subjects it records.
 */
class RecentStates implements SnapshotStore {
  private readonly states = new Map<string, Snapshot<IdempotentState<unknown>>>();

  constructor(private readonly store: EventStore) {}

  async load<T>(stream: string): Promise<Snapshot<T> | undefined> {
    const snapshot = this.states.get(stream);
    if (!snapshot) return undefined;
    // Events that age out must drop out of the fold too: such streams are read whole.
    const info = await this.store.streamInfo(stream);
    if (info.metadata.maxAge !== undefined) return undefined;
    // Folding adds to the set of handled command ids in place: each load gets its own. The
    // decider's state is shared, as deciders are pure.
    const state: IdempotentState<unknown> = {
      state: snapshot.state.state,
      handled: new Set(snapshot.state.handled),
    };
    return { ...snapshot, state: state as T };
  }

  save(stream: string, snapshot: Snapshot): Promise<void> {
    this.states.delete(stream);
    this.states.set(stream, snapshot as Snapshot<IdempotentState<unknown>>);
    if (this.states.size > RECENT_STREAMS) {
      const oldest = this.states.keys().next();
      if (oldest.done !== true) this.states.delete(oldest.value);
    }
    return Promise.resolve();
  }

  delete(stream: string): Promise<void> {
    this.states.delete(stream);
    return Promise.resolve();
  }

  deleteBySubject(subject: string): Promise<number> {
    let deleted = 0;
    for (const [stream, snapshot] of this.states) {
      if (snapshot.subjects === undefined || snapshot.subjects.includes(subject)) {
        this.states.delete(stream);
        deleted += 1;
      }
    }
    return Promise.resolve(deleted);
  }
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
