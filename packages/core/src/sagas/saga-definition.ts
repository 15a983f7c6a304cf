import type { EventMetadata, RecordedEvent } from '../core/envelope.js';
import type { CommandEnvelope, CommandReply } from '../domain/command-dispatcher.js';
import type { DomainEvent } from '../domain/decider.js';
import { InvalidSagaDefinitionError } from './saga-errors.js';
import type { SagaStatus } from './saga-view.js';

/**
 * An event of the union `E` (`{ type, data }` shapes, as a decider declares them) as a saga or
 * choreography handler receives it: read back from the store, with its envelope (`id`,
 * `stream`, `metadata`...). Distributes over the union, so a `switch` on `event.type` narrows
 * `event.data`.
 *
 * The `data` type is what the saga declares, not checked at run time: validate events where
 * they are written (the schema registry), and upcast old versions on read.
 *
 * @example
 * ```ts
 * type PaymentEvent =
 *   | DomainEvent<'payment.authorised', { orderId: string }>
 *   | DomainEvent<'payment.declined', { orderId: string; reason: string }>;
 * const describe = (event: SagaEvent<PaymentEvent>): string =>
 *   event.type === 'payment.declined' ? event.data.reason : `authorised at ${event.position}`;
 * ```
 */
export type SagaEvent<E extends DomainEvent = DomainEvent> =
  E extends DomainEvent<infer Type, infer Data> ? RecordedEvent<Data, Type> : never;

/**
 * The members of the event union `E` whose type is one of `Types` (a member whose `type` is
 * wider, such as `string`, is narrowed to `Types`).
 */
export type EventOfType<E extends DomainEvent, Types extends string> =
  E extends DomainEvent<infer Type, infer Data>
    ? [Type & Types] extends [never]
      ? never
      : DomainEvent<Type & Types, Data>
    : never;

/** A command a saga (or choreography handler) sends; the runtime gives it an id and metadata. */
export interface OutgoingCommand {
  /** Dotted imperative name, e.g. `inventory.reserve`. */
  type: string;
  data: unknown;
  /** Extra metadata, merged under the runtime's `correlationId`, `causationId`, `traceparent`. */
  metadata?: Record<string, unknown>;
}

/** An event a saga appends itself (in the same transaction as its state). */
export interface EmittedEvent {
  stream: string;
  type: string;
  data: unknown;
  metadata?: EventMetadata;
}

/** A message to deliver back to the saga instance at `at` (ms since the epoch). */
export interface ScheduledMessage {
  /** The timer's type, e.g. `payment.timed-out`; also what `cancelTimers` names. */
  type: string;
  /** When it is due, in ms since the epoch of the runtime's clock. */
  at: number;
  data?: unknown;
}

/**
 * A durable timer: `message` comes back to the saga instance (its `onTimer`) once `at` has
 * passed on the runtime's clock. It survives restarts, fires once, and is cancelled when the
 * instance ends.
 *
 * @example
 * ```ts
 * return { step: 'paying', send: [authorise], schedule: [schedule({ type: 'payment.timed-out' }, ctx.now + 30_000)] };
 * ```
 */
export function schedule(
  message: { type: string; data?: unknown },
  at: number | Date,
): ScheduledMessage {
  return {
    type: message.type,
    at: at instanceof Date ? at.getTime() : at,
    ...(message.data === undefined ? {} : { data: message.data }),
  };
}

/**
 * What a saga does in answer to an event, a timer or a rejected command. Everything in it is
 * written in one transaction with the saga's checkpoint: the state, the commands (into the
 * outbox, dispatched after the commit), the events, the timers.
 */
export interface SagaReaction<S> {
  /** The new state (unchanged when omitted). */
  state?: S;
  /** The step the instance moves to; entering a step puts it on the compensation trail. */
  step?: string;
  /** Commands to send, in order. */
  send?: readonly OutgoingCommand[];
  /** Events to append. */
  emit?: readonly EmittedEvent[];
  /** Timers to set (see {@link schedule}). */
  schedule?: readonly ScheduledMessage[];
  /** Types of the instance's pending timers to cancel. */
  cancelTimers?: readonly string[];
  /** Ends the instance as `completed` (pending timers are cancelled). */
  complete?: boolean;
  /**
   * Fails the instance with this reason: the compensations of the steps on its trail run in
   * reverse order, and it ends `compensated` (or `failed` if a compensation is parked).
   */
  fail?: string;
}

/** What a saga's handlers see of the instance. */
export interface SagaContext<S> {
  /** The correlation id keying the instance. */
  id: string;
  state: S;
  step: string;
  status: SagaStatus;
  /** The runtime clock's time, ms since the epoch. */
  now: number;
}

/** A timer as it fires. */
export interface FiredTimer {
  id: string;
  type: string;
  data: unknown;
  /** When it was due, ms since the epoch. */
  dueAt: number;
}

/** A step's compensation: the commands that undo what the step did. */
export interface SagaStep<S> {
  /**
   * The commands undoing the step, given the state when compensation starts (may be empty).
   * Compensating commands should be harmless to repeat and to send when there is nothing to
   * undo (release a reservation that was never made...).
   */
  compensate?(state: S, context: { id: string; reason: string }): readonly OutgoingCommand[];
}

/**
 * A process manager (saga): a state machine keyed by a correlation id taken from events.
 * Its `start` events create an instance; its `on` handler moves it on; it sends commands,
 * appends events and sets timers, and its steps say how to compensate.
 *
 * Defined outcomes, recorded in the instance's history where there is an instance:
 * - an event `correlate` gives no id for: not for this saga, passed over;
 * - a non-starting event for an unknown instance: passed over and counted (or parked, with
 *   `unknownInstance: 'park'`);
 * - an event already received by the instance (same id): recorded as a duplicate, no effect;
 * - an event `on` returns nothing for (unexpected in the step, out of order): recorded as
 *   ignored, no effect;
 * - any event for an instance that has ended or is compensating: recorded as ignored;
 * - a timer firing for an instance no longer running: recorded as ignored.
 *
 * Typed like a decider: `E` is the union of the events it handles (`DomainEvent` shapes),
 * `startsWith` and `handles` may only name its types, and the handlers receive
 * {@link SagaEvent}s whose `data` narrows on `event.type`. `Start` (the types in `startsWith`,
 * by default all of `E`'s) narrows what `start` receives. Without `E`, events are
 * `RecordedEvent`s with `data: unknown`.
 *
 * @typeParam S the instance's state
 * @typeParam E the events it handles, a union of `{ type, data }` shapes
 * @typeParam Start the types of `E` that start an instance
 */
export interface SagaDefinition<
  S = unknown,
  E extends DomainEvent = DomainEvent,
  Start extends E['type'] = E['type'],
> {
  /** Unique name; also names its subscription (`saga:<name>`). */
  name: string;
  /** Event types that create an instance when none exists for their correlation id. */
  startsWith: readonly NoInfer<Start>[];
  /** Other event types the saga reacts to. */
  handles: readonly E['type'][];
  /** The instance an event belongs to, or undefined when it is not for this saga. */
  correlate(event: SagaEvent<E>): string | undefined;
  /** The step a new instance starts in. */
  initialStep: string;
  /** Creates the instance from its first event: the initial state, and what it sends. */
  start(
    event: SagaEvent<EventOfType<E, Start>>,
    context: { id: string; now: number },
  ): SagaReaction<S> & { state: S };
  /**
   * Reacts to a later event (of `handles`, or of `startsWith` once the instance exists);
   * undefined when the event is not expected now (recorded as ignored).
   */
  on?(event: SagaEvent<E>, context: SagaContext<S>): SagaReaction<S> | undefined;
  /** Reacts to a timer; undefined to ignore it (recorded). */
  onTimer?(timer: FiredTimer, context: SagaContext<S>): SagaReaction<S> | undefined;
  /**
   * Reacts to a command of the instance that its handler rejected. Default: fail the
   * instance (compensate) with the rejection as the reason.
   */
  onRejected?(
    command: CommandEnvelope,
    reply: Extract<CommandReply, { status: 'rejected' }>,
    context: SagaContext<S>,
  ): SagaReaction<S> | undefined;
  /** Compensations of the steps, by step name. */
  steps?: Readonly<Record<string, SagaStep<S>>>;
  /** What to do with a non-starting event for an instance that does not exist. Default `'ignore'`. */
  unknownInstance?: 'ignore' | 'park';
}

/**
 * Checks a saga definition and returns it, typed. Define sagas with it so mistakes show at
 * start-up rather than at the first event.
 *
 * Give the state and the event union (`defineSaga<OrderProcess, FulfilmentEvent>`) for typed
 * handlers, and the starting types as a third argument to narrow `start`'s event; with the
 * state alone, handlers get `RecordedEvent`s with `data: unknown`.
 *
 * @example
 * ```ts
 * type FulfilmentEvent =
 *   | DomainEvent<'order.placed', { orderId: string; total: number }>
 *   | DomainEvent<'payment.authorised', { orderId: string }>;
 * const fulfilment = defineSaga<{ total: number }, FulfilmentEvent, 'order.placed'>({
 *   name: 'fulfilment',
 *   startsWith: ['order.placed'],
 *   handles: ['payment.authorised'],
 *   correlate: (event) => event.data.orderId,
 *   initialStep: 'paying',
 *   start: (event) => ({ state: { total: event.data.total } }),
 *   on: (event) => (event.type === 'payment.authorised' ? { complete: true } : undefined),
 * });
 * ```
 *
 * @throws {InvalidSagaDefinitionError}
 */
export function defineSaga<
  S,
  E extends DomainEvent = DomainEvent,
  Start extends E['type'] = E['type'],
>(definition: SagaDefinition<S, E, Start>): SagaDefinition<S, E, Start> {
  const name = (definition as { name?: unknown } | null)?.name;
  const label = typeof name === 'string' ? name : '(unnamed)';
  const fail = (reason: string): never => {
    throw new InvalidSagaDefinitionError(label, reason);
  };
  if (typeof definition !== 'object' || definition === null) fail('must be an object');
  if (typeof name !== 'string' || name.length === 0 || name.length > 100)
    fail('name must be a non-empty string of at most 100 characters');
  checkTypes(definition.startsWith, 'startsWith', fail);
  if (definition.startsWith.length === 0) fail('startsWith needs at least one event type');
  checkTypes(definition.handles, 'handles', fail);
  if (typeof definition.correlate !== 'function') fail('correlate must be a function');
  if (typeof definition.start !== 'function') fail('start must be a function');
  for (const key of ['on', 'onTimer', 'onRejected'] as const) {
    if (definition[key] !== undefined && typeof definition[key] !== 'function')
      fail(`${key} must be a function`);
  }
  if (typeof definition.initialStep !== 'string' || definition.initialStep.length === 0)
    fail('initialStep must be a non-empty string');
  if (definition.steps !== undefined) {
    if (typeof definition.steps !== 'object' || definition.steps === null)
      fail('steps must be an object');
    for (const [step, spec] of Object.entries(definition.steps)) {
      if (spec.compensate !== undefined && typeof spec.compensate !== 'function')
        fail(`steps.${step}.compensate must be a function`);
    }
  }
  if (
    definition.unknownInstance !== undefined &&
    definition.unknownInstance !== 'ignore' &&
    definition.unknownInstance !== 'park'
  )
    fail("unknownInstance must be 'ignore' or 'park'");
  return definition;
}

function checkTypes(types: unknown, key: string, fail: (reason: string) => never): void {
  if (!Array.isArray(types) || types.some((t) => typeof t !== 'string' || t.length === 0))
    fail(`${key} must be an array of event types`);
}

/** Every event type a saga needs delivered. */
export function sagaEventTypes<S, E extends DomainEvent, Start extends E['type']>(
  definition: SagaDefinition<S, E, Start>,
): string[] {
  return [...new Set([...definition.startsWith, ...definition.handles])];
}
