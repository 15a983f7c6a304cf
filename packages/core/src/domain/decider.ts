import type { EventMetadata } from '../core/envelope.js';
import type { Command } from './command.js';

/**
 * An event as a decider produces it: a discriminated union member `{ type, data }`. The
 * command handler adds the id, metadata and place in the log when it appends it.
 *
 * @example
 * ```ts
 * type OrderEvent =
 *   | DomainEvent<'order.placed', { customerId: string }>
 *   | DomainEvent<'order.paid', { amount: number }>;
 * ```
 */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  /** A UUID for the event; generated when omitted. */
  id?: string;
  /** Extra metadata for this event; merged over the metadata the command carries. */
  metadata?: EventMetadata;
  /** The schema version of `data`; the store's default applies when omitted. */
  schemaVersion?: number;
}

/**
 * The whole behaviour of an aggregate as three pure parts: which events a command produces
 * given the current state (`decide`), how an event changes the state (`evolve`), and the
 * state before any event (`initialState`).
 *
 * `decide` rejects a command by throwing (a domain error); the command handler hands that
 * error back unchanged and appends nothing. `evolve` must not throw for an event that
 * `decide` could have produced: the events are facts.
 *
 * `evolve` receives the events as read back from the store (a {@link RecordedEvent}, which
 * has `type` and `data` like `Event` plus the envelope), or as `decide` returned them when
 * folding new events; it should depend on `type` and `data` only.
 *
 * @typeParam C the commands, a union of `{ type, data }` shapes
 * @typeParam E the events, a union of `{ type, data }` shapes
 * @typeParam S the state
 * @example
 * ```ts
 * const counter: Decider<IncrementCommand, IncrementedEvent, number> = {
 *   initialState: 0,
 *   decide: (command, count) => [{ type: 'counter.incremented', data: { by: command.data.by } }],
 *   evolve: (count, event) => count + event.data.by,
 * };
 * ```
 */
export interface Decider<C extends Command, E extends DomainEvent, S> {
  /** The events `command` produces in `state`; throws to reject the command. */
  decide(command: C, state: S): readonly E[] | Promise<readonly E[]>;
  /** The state after `event`. Pure: returns a new state rather than changing `state`. */
  evolve(state: S, event: E): S;
  /**
   * The state of a stream with no events. A function is called each time a fresh state is
   * needed (use it when the state is a mutable object, or itself a function).
   */
  initialState: S | (() => S);
}

/** The command type of a decider. */
export type CommandOf<D> = D extends Decider<infer C, infer _E, infer _S> ? C : never;
/** The event type of a decider. */
export type EventOf<D> = D extends Decider<infer _C, infer E, infer _S> ? E : never;
/** The state type of a decider. */
export type StateOf<D> = D extends Decider<infer _C, infer _E, infer S> ? S : never;

/**
 * A fresh initial state of `decider`.
 *
 * @example
 * ```ts
 * const empty = initialStateOf(orderDecider);
 * ```
 */
export function initialStateOf<S>(
  decider: Pick<Decider<Command, DomainEvent, S>, 'initialState'>,
): S {
  const initial = decider.initialState;
  return typeof initial === 'function' ? (initial as () => S)() : initial;
}

/**
 * `decider.evolve` on an event of the decider's stream as stored: read back (a
 * `RecordedEvent`) or just appended. The store keeps `type` and `data` as `decide` returned
 * them, so such an event is one of `E` plus the envelope; this is the one place where the
 * untyped log meets the decider's event type (see {@link Decider}: `evolve` depends on `type`
 * and `data` only).
 */
export function evolveStored<E extends DomainEvent, S>(
  decider: Pick<Decider<Command, E, S>, 'evolve'>,
  state: S,
  event: { readonly type: string; readonly data: unknown },
): S {
  return decider.evolve(state, event as E);
}

/**
 * Folds events into a state with the decider's `evolve`, starting from `state` (default: a
 * fresh initial state).
 *
 * @example
 * ```ts
 * const state = fold(orderDecider, await collect(store.readStream('order-42')));
 * ```
 */
export function fold<E extends DomainEvent, S>(
  decider: Pick<Decider<Command, E, S>, 'evolve' | 'initialState'>,
  events: Iterable<E>,
  state: S = initialStateOf(decider),
): S {
  let current = state;
  for (const event of events) current = decider.evolve(current, event);
  return current;
}
