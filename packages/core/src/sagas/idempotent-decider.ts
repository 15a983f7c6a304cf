import type { Command } from '../domain/command.js';
import { initialStateOf, type Decider, type DomainEvent } from '../domain/decider.js';
import { deterministicId } from './deterministic-id.js';

/** The state of an {@link idempotentDecider}: the inner state and the commands already applied. */
export interface IdempotentState<S> {
  state: S;
  /**
   * Ids of the commands whose events are in the stream (their events' `causationId`). A set
   * changed in place: a fresh one is made for every load, and only the handler holds it.
   */
  handled: Set<string>;
}

/**
 * Wraps a decider so that a command applied once is a no-op when it comes again (a re-sent
 * command after a crash, a redelivery over the bus): its id is found among the `causationId`s
 * of the stream's events, and nothing more is decided. Its events get ids derived from the
 * command id (`deterministicId(commandId, index)`), so two concurrent deliveries of one
 * command append at most once (the loser's retry then finds the command handled).
 *
 * A command whose decision produced no events, or was rejected, leaves no trace: repeated, it
 * is decided again.
 *
 * @example
 * ```ts
 * const handler = new CommandHandler({ store, decider: idempotentDecider(inventoryDecider) });
 * ```
 */
export function idempotentDecider<C extends Command, E extends DomainEvent, S>(
  decider: Decider<C, E, S>,
): Decider<C, E, IdempotentState<S>> {
  return {
    initialState: () => ({ state: initialStateOf(decider), handled: new Set<string>() }),
    async decide(command, wrapped) {
      if (command.id !== undefined && wrapped.handled.has(command.id)) return [];
      const events = await decider.decide(command, wrapped.state);
      if (command.id === undefined) return events;
      const commandId = command.id;
      return events.map((event, i) => ({
        ...event,
        id: event.id ?? deterministicId('command', commandId, String(i)),
      }));
    },
    evolve(wrapped, event) {
      const causationId = (event as { metadata?: { causationId?: unknown } }).metadata?.causationId;
      if (typeof causationId === 'string') wrapped.handled.add(causationId);
      return { state: decider.evolve(wrapped.state, event), handled: wrapped.handled };
    },
  };
}
