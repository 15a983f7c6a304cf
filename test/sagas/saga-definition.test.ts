import { describe, expect, it } from 'vitest';
import {
  InvalidSagaDefinitionError,
  ManualClock,
  MemoryEventStore,
  MemorySagaStore,
  SagaRuntime,
  defineChoreography,
  defineSaga,
  memorySubscriptionStorage,
  type SagaDefinition,
} from '@causewayjs/core';

const minimal = (name: string): SagaDefinition<{ n: number }> =>
  defineSaga({
    name,
    startsWith: [`${name}.started`],
    handles: [],
    correlate: (event) => event.stream,
    initialStep: 'only',
    start: () => ({ state: { n: 0 } }),
  });

describe('saga definitions', () => {
  it('refuses malformed definitions with a typed error', () => {
    const good = minimal('a');
    const bad: [string, unknown][] = [
      ['no name', { ...good, name: '' }],
      ['no starting types', { ...good, startsWith: [] }],
      ['a bad type', { ...good, handles: [''] }],
      ['no correlate', { ...good, correlate: undefined }],
      ['no start', { ...good, start: 'x' }],
      ['no initial step', { ...good, initialStep: '' }],
      ['a bad compensation', { ...good, steps: { only: { compensate: 1 } } }],
      ['a bad unknownInstance', { ...good, unknownInstance: 'drop' }],
      ['not an object', null],
    ];
    for (const [what, definition] of bad) {
      expect(() => defineSaga(definition as SagaDefinition), what).toThrow(
        InvalidSagaDefinitionError,
      );
    }
    expect(() => defineChoreography({ name: 'c', handles: [], react: () => [] })).toThrow(
      InvalidSagaDefinitionError,
    );
  });

  it('refuses two sagas or handlers with one name in a runtime', () => {
    const store = new MemoryEventStore();
    expect(
      () =>
        new SagaRuntime({
          storage: memorySubscriptionStorage(store),
          sagaStore: new MemorySagaStore(),
          sagas: [minimal('a')],
          choreography: [defineChoreography({ name: 'a', handles: ['x'], react: () => [] })],
          dispatcher: { dispatch: () => Promise.resolve({ status: 'accepted' }) },
        }),
    ).toThrow(InvalidSagaDefinitionError);
  });

  it('a runtime fires only the timers of the sagas it runs', async () => {
    const clock = new ManualClock(1000);
    const store = new MemoryEventStore({ clock });
    const storage = memorySubscriptionStorage(store, { clock });
    const sagaStore = new MemorySagaStore();
    const dispatcher = { dispatch: () => Promise.resolve({ status: 'accepted' as const }) };
    const runtime = (name: string) =>
      new SagaRuntime({
        storage,
        sagaStore,
        sagas: [minimal(name)],
        dispatcher,
        clock,
        owner: name,
      });
    const a = runtime('a');
    const b = runtime('b');
    await store.transaction(async (tx) => {
      await sagaStore.saveInstance(
        {
          saga: 'b',
          id: 'i1',
          status: 'running',
          step: 'only',
          state: { n: 0 },
          trail: ['only'],
          lastPosition: 0,
          newHistory: [],
          pendingCompensations: 0,
          failedCompensations: 0,
          startedAt: 0,
          updatedAt: 0,
        },
        tx,
      );
      await sagaStore.addTimer(
        { id: 't1', saga: 'b', instanceId: 'i1', type: 'tick', dueAt: 500, data: null },
        tx,
      );
    });
    expect(await a.fireDueTimers()).toBe(0);
    expect(await sagaStore.timersOf('b', 'i1')).toHaveLength(1);
    expect(await b.fireDueTimers()).toBe(1);
    // Saga b has no onTimer: the firing is recorded as ignored.
    const view = await sagaStore.getInstance('b', 'i1');
    expect(view?.history.at(-1)).toMatchObject({
      kind: 'timer-fired',
      type: 'tick',
      detail: { outcome: 'ignored' },
    });
    await a.stop();
    await b.stop();
    await store.close();
  });
});
