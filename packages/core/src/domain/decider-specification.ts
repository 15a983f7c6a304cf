import { AssertionError } from 'node:assert';
import { isDeepStrictEqual } from 'node:util';
import { encodeJson } from '../core/json-codec.js';
import { normaliseCommand, type Command } from './command.js';
import { initialStateOf, type Decider, type DomainEvent } from './decider.js';

/**
 * The error a failed specification step throws. It is a `node:assert` `AssertionError`
 * (not a `CausewayError`) so that test runners (vitest, jest, `node:test`) recognise it as a
 * failed expectation and show `actual` against `expected` as a diff; its message holds a
 * readable diff too.
 */
export class DeciderSpecificationError extends AssertionError {
  constructor(header: string, actual: unknown, expected: unknown) {
    // Node builds the diff only for a message it generates itself; borrow it.
    const diff = new AssertionError({ actual, expected, operator: 'deepStrictEqual' }).message;
    super({ message: `${header}\n${diff}`, actual, expected, operator: 'deepStrictEqual' });
  }
}

/** An error class, or a predicate the thrown error must pass (return `false` or throw to fail). */
export type ErrorExpectation =
  (abstract new (...args: never[]) => unknown) | ((error: unknown) => boolean | void);

/** The "then" step of a specification: what the command must have led to. */
export interface DeciderThen<E extends DomainEvent, S> {
  /**
   * Expects `decide` to produce exactly these events, in order. Events are compared as they
   * would be stored (JSON), by every key the expected or produced events have.
   *
   * Returns a promise to await; with a synchronous `decide` a mismatch also throws at once.
   */
  then(expected: readonly E[]): Promise<void>;
  /** Expects `decide` to throw an instance of `errorClass` (and pass `check`, if given). */
  thenThrows(
    errorClass: ErrorExpectation,
    check?: (error: unknown) => boolean | void,
  ): Promise<void>;
  /** Expects `decide` to produce no events (and not to throw). */
  thenNothing(): Promise<void>;
  /** Expects the state after the given and the produced events to equal `expected`. */
  thenState(expected: S): Promise<void>;
}

/** The "when" step of a specification. */
export interface DeciderWhen<C extends Command, E extends DomainEvent, S> {
  /** The command to decide, in the state the given events lead to. */
  when(command: C): DeciderThen<E, S>;
}

/** The "given" step: the events already in the stream (may be empty). */
export type DeciderGiven<C extends Command, E extends DomainEvent, S> = (
  events?: readonly E[],
) => DeciderWhen<C, E, S>;

type Outcome<E> = { ok: true; events: readonly E[] } | { ok: false; error: unknown };

/**
 * Given/when/then tests for a decider, without a store: given these past events, when this
 * command is decided, then these events (or this error, or nothing). Works inside any test
 * runner: a failed step throws a {@link DeciderSpecificationError}.
 *
 * The command goes through the same checks as in a command handler, and gets an id and
 * metadata when it has none.
 *
 * @example
 * ```ts
 * const given = deciderSpecification(orderDecider);
 *
 * it('pays a placed order', async () => {
 *   await given([placed])
 *     .when({ type: 'order.pay', data: { amount: 900 } })
 *     .then([{ type: 'order.paid', data: { amount: 900 } }]);
 * });
 *
 * it('refuses to pay twice', async () => {
 *   await given([placed, paid]).when({ type: 'order.pay', data: { amount: 900 } }).thenThrows(OrderStateError);
 * });
 * ```
 */
export function deciderSpecification<C extends Command, E extends DomainEvent, S>(
  decider: Decider<C, E, S>,
): DeciderGiven<C, E, S> {
  return (given = []) => ({
    when: (command) => {
      const past = [...given];
      let state = initialStateOf(decider);
      for (const event of past) state = decider.evolve(state, event);
      const before = state;
      const run = (): Outcome<E> | Promise<Outcome<E>> => {
        let result: readonly E[] | Promise<readonly E[]>;
        try {
          result = decider.decide(normaliseCommand(command), before);
        } catch (error) {
          return { ok: false, error };
        }
        if (result instanceof Promise) {
          return result.then(
            (events): Outcome<E> => ({ ok: true, events }),
            (error: unknown): Outcome<E> => ({ ok: false, error }),
          );
        }
        return { ok: true, events: result };
      };
      const step = (check: (outcome: Outcome<E>) => void): Promise<void> => {
        const outcome = run();
        if (outcome instanceof Promise) return outcome.then(check);
        check(outcome);
        return Promise.resolve();
      };
      const label = `given ${past.length} event(s), when ${describeCommand(command)}`;
      return {
        then(expected) {
          if (typeof expected === 'function') {
            // `await given(...).when(...)` calls then(resolve, reject): the step was awaited
            // before its expectation was given.
            throw new TypeError(
              'A decider specification was awaited without an expectation: write await given(...).when(...).then([...events])',
            );
          }
          return step((outcome) => {
            const actual = produced(outcome, label);
            const want = [...expected].map((e) => asStored(e));
            const got = actual.map((e) => asStored(e));
            if (!isDeepStrictEqual(got, want)) {
              throw new DeciderSpecificationError(`${label}: the events differ`, got, want);
            }
          });
        },
        thenThrows(errorClass, check) {
          return step((outcome) => {
            if (outcome.ok) {
              throw new DeciderSpecificationError(
                `${label}: expected an error but decide produced ${outcome.events.length} event(s)`,
                outcome.events.map((e) => asStored(e)),
                `an error (${errorName(errorClass)})`,
              );
            }
            const error = outcome.error;
            if (!matches(errorClass, error)) {
              throw new DeciderSpecificationError(
                `${label}: decide threw the wrong error`,
                describeError(error),
                errorName(errorClass),
              );
            }
            if (check && check(error) === false) {
              throw new DeciderSpecificationError(
                `${label}: the error did not pass the check`,
                describeError(error),
                'an error passing the check',
              );
            }
          });
        },
        thenNothing() {
          return step((outcome) => {
            const actual = produced(outcome, label);
            if (actual.length > 0) {
              throw new DeciderSpecificationError(
                `${label}: expected no events`,
                actual.map((e) => asStored(e)),
                [],
              );
            }
          });
        },
        thenState(expected) {
          return step((outcome) => {
            let after = before;
            for (const event of produced(outcome, label)) after = decider.evolve(after, event);
            if (!isDeepStrictEqual(after, expected)) {
              throw new DeciderSpecificationError(`${label}: the state differs`, after, expected);
            }
          });
        },
      };
    },
  });
}

function produced<E>(outcome: Outcome<E>, label: string): readonly E[] {
  if (!outcome.ok) {
    const error = outcome.error;
    const failure = new DeciderSpecificationError(
      `${label}: decide threw instead of producing events`,
      describeError(error),
      'events',
    );
    failure.cause = error;
    throw failure;
  }
  return outcome.events;
}

/** The event as the store would keep it: JSON, so `undefined` keys and the like vanish. */
function asStored(event: unknown): unknown {
  return JSON.parse(encodeJson(event)) as unknown;
}

function matches(expectation: ErrorExpectation, error: unknown): boolean {
  if (isClass(expectation)) return error instanceof expectation;
  try {
    return expectation(error) !== false;
  } catch {
    return false;
  }
}

function isClass(value: ErrorExpectation): value is abstract new (...args: never[]) => unknown {
  if (typeof value !== 'function') return false;
  const proto: unknown = value.prototype;
  if (proto instanceof Error || value === Error) return true;
  return /^class[\s{]/.test(Function.prototype.toString.call(value));
}

function errorName(expectation: ErrorExpectation): string {
  return isClass(expectation) ? expectation.name : 'an error passing the predicate';
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    // Subclasses that do not set `name` still say "Error"; their class name says more.
    const name = error.name === 'Error' ? error.constructor.name : error.name;
    return `${name}: ${error.message}`;
  }
  return `a non-Error value: ${String(error)}`;
}

function describeCommand(command: unknown): string {
  const type = (command as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : 'an invalid command';
}
