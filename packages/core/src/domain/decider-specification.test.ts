import { AssertionError } from 'node:assert';
import { describe, expect, it } from 'vitest';
import type { Command } from './command.js';
import type { Decider, DomainEvent } from './decider.js';
import { DeciderSpecificationError, deciderSpecification } from './decider-specification.js';

type CounterCommand = Command<'counter.add', { by: number }> | Command<'counter.reset', null>;
type CounterEvent =
  DomainEvent<'counter.added', { by: number }> | DomainEvent<'counter.reset', null>;

class NegativeError extends Error {}

const counter: Decider<CounterCommand, CounterEvent, number> = {
  initialState: 0,
  decide: (command, count) => {
    if (command.type === 'counter.reset')
      return count === 0 ? [] : [{ type: 'counter.reset', data: null }];
    if (command.data.by < 0) throw new NegativeError(`cannot add ${command.data.by}`);
    return [{ type: 'counter.added', data: { by: command.data.by } }];
  },
  evolve: (count, event) => (event.type === 'counter.added' ? count + event.data.by : 0),
};

const asyncCounter: Decider<CounterCommand, CounterEvent, number> = {
  ...counter,
  decide: async (command, count) => {
    await Promise.resolve();
    return counter.decide(command, count);
  },
};

const added = (by: number): CounterEvent => ({ type: 'counter.added', data: { by } });
const add = (by: number): CounterCommand => ({ type: 'counter.add', data: { by } });

async function failure(run: () => Promise<void>): Promise<DeciderSpecificationError> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'the step should have failed').toBeInstanceOf(DeciderSpecificationError);
  return caught as DeciderSpecificationError;
}

for (const [name, decider] of [
  ['synchronous', counter],
  ['asynchronous', asyncCounter],
] as const) {
  describe(`decider specification (${name} decide)`, () => {
    const given = deciderSpecification(decider);

    it('passes when the events match', async () => {
      await given([added(1)])
        .when(add(2))
        .then([added(2)]);
      await given()
        .when(add(5))
        .then([added(5)]);
    });

    it('fails with a diff when the events differ', async () => {
      const error = await failure(() =>
        given([added(1)])
          .when(add(2))
          .then([added(3)]),
      );
      expect(error).toBeInstanceOf(AssertionError);
      expect(error.message).toContain('given 1 event(s), when counter.add: the events differ');
      expect(error.message).toMatch(/\+\s+by: 2/);
      expect(error.message).toMatch(/-\s+by: 3/);
      expect(error.actual).toEqual([added(2)]);
      expect(error.expected).toEqual([added(3)]);
    });

    it('fails when there are more or fewer events than expected', async () => {
      await failure(() =>
        given()
          .when(add(2))
          .then([added(2), added(2)]),
      );
      await failure(() => given().when(add(2)).then([]));
    });

    it('compares events as stored: undefined keys do not count', async () => {
      await given()
        .when(add(2))
        .then([{ type: 'counter.added', data: { by: 2, note: undefined } as { by: number } }]);
    });

    it('thenThrows passes for the right class and fails for another or for none', async () => {
      await given().when(add(-1)).thenThrows(NegativeError);
      await given().when(add(-1)).thenThrows(Error);
      const wrong = await failure(() => given().when(add(-1)).thenThrows(TypeError));
      expect(wrong.message).toContain('decide threw the wrong error');
      expect(wrong.message).toContain('cannot add -1');
      const none = await failure(() => given().when(add(1)).thenThrows(NegativeError));
      expect(none.message).toContain('expected an error but decide produced 1 event(s)');
    });

    it('thenThrows applies the check', async () => {
      await given()
        .when(add(-1))
        .thenThrows(NegativeError, (e) => (e as Error).message === 'cannot add -1');
      const failed = await failure(() =>
        given()
          .when(add(-1))
          .thenThrows(NegativeError, (e) => (e as Error).message === 'other'),
      );
      expect(failed.message).toContain('did not pass the check');
    });

    it('thenThrows accepts a predicate instead of a class', async () => {
      await given()
        .when(add(-1))
        .thenThrows((e) => e instanceof NegativeError);
      await failure(() =>
        given()
          .when(add(-1))
          .thenThrows((e) => e instanceof TypeError),
      );
    });

    it('thenNothing passes for no events and fails for some or for an error', async () => {
      await given().when({ type: 'counter.reset', data: null }).thenNothing();
      const some = await failure(() =>
        given([added(1)])
          .when({ type: 'counter.reset', data: null })
          .thenNothing(),
      );
      expect(some.message).toContain('expected no events');
      const threw = await failure(() => given().when(add(-1)).thenNothing());
      expect(threw.message).toContain('decide threw instead of producing events');
      expect(threw.cause).toBeInstanceOf(NegativeError);
    });

    it('thenState folds the given and the produced events', async () => {
      await given([added(1), added(2)])
        .when(add(3))
        .thenState(6);
      const wrong = await failure(() =>
        given([added(1)])
          .when(add(3))
          .thenState(5),
      );
      expect(wrong.message).toContain('the state differs');
    });

    it('then fails when decide throws, naming the error', async () => {
      const error = await failure(() =>
        given()
          .when(add(-4))
          .then([added(-4)]),
      );
      expect(error.message).toContain('NegativeError: cannot add -4');
    });

    it('fails with a readable error when the when-step itself is awaited', async () => {
      const step = given().when(add(1));
      await expect(
        (async () => {
          await (step as unknown as Promise<void>);
        })(),
      ).rejects.toThrow(/awaited without an expectation/);
    });

    it('refuses events that could not be stored', async () => {
      let bad: unknown;
      try {
        await given()
          .when(add(1))
          .then([{ type: 'counter.added', data: { by: 10n } as unknown as { by: number } }]);
      } catch (error) {
        bad = error;
      }
      expect((bad as Error).name).toBe('NotJsonError');
    });
  });
}

describe('decider specification (synchronous failures)', () => {
  it('throws at once with a synchronous decide, so a missing await still fails the test', () => {
    const given = deciderSpecification(counter);
    expect(
      () =>
        void given()
          .when(add(1))
          .then([added(9)]),
    ).toThrow(DeciderSpecificationError);
  });
});
