import { describe, expect, it } from 'vitest';
import {
  MemoryEventStore,
  MemorySagaStore,
  SagaEngine,
  collect,
  defineSaga,
  systemClock,
  type SagaStore,
} from '@causewayjs/core';

const STORE_METHODS = new Set([
  'loadInstance',
  'loadInstances',
  'saveInstance',
  'saveInstances',
  'addTimer',
  'takeTimer',
  'timersOf',
  'enqueue',
  'settleCommand',
  'settleCommands',
]);

/** Counts the calls of each saga store method made from outside (not one method calling another). */
function counting(store: SagaStore): { store: SagaStore; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  let depth = 0;
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function' || typeof key !== 'string' || !STORE_METHODS.has(key))
        return value;
      return async (...args: unknown[]) => {
        if (depth === 0) calls.set(key, (calls.get(key) ?? 0) + 1);
        depth += 1;
        try {
          const method = value as (...a: unknown[]) => unknown;
          const result: unknown = await method.apply(receiver, args);
          return result;
        } finally {
          depth -= 1;
        }
      };
    },
  });
  return { store: proxy, calls };
}

const saga = defineSaga<{ seen: number }>({
  name: 'counter',
  startsWith: ['thing.started'],
  handles: ['thing.ticked'],
  initialStep: 'open',
  correlate: (event) => event.stream.slice('thing-'.length),
  start: () => ({ state: { seen: 0 }, send: [{ type: 'thing.ack', data: { n: 0 } }] }),
  on: (event, { state }) => ({
    state: { seen: state.seen + 1 },
    send: [{ type: 'thing.ack', data: { n: state.seen + 1 } }],
  }),
});

describe('round trips of a saga step', () => {
  it('handles a batch with one read, one instance write and one outbox write, whatever its size', async () => {
    const events = new MemoryEventStore();
    for (const id of ['a', 'b'])
      await events.append(`thing-${id}`, [
        { type: 'thing.started', data: {} },
        { type: 'thing.ticked', data: {} },
        { type: 'thing.ticked', data: {} },
      ]);
    const memory = new MemorySagaStore();
    const { store, calls } = counting(memory);
    const engine = new SagaEngine(store, [saga], systemClock);
    const batch = await collect(events.readAll());
    await events.transaction((tx) => engine.handleEvents(saga, batch, tx));
    expect(Object.fromEntries(calls)).toEqual({
      loadInstances: 1,
      enqueue: 1,
      saveInstances: 1,
    });
    // ...and wrote what handling them one by one writes.
    for (const id of ['a', 'b']) {
      const view = await memory.getInstance('counter', id);
      expect(view?.state).toEqual({ seen: 2 });
      expect(view?.history.filter((h) => h.kind === 'received')).toHaveLength(3);
    }
    const commands = await memory.listCommands({ limit: 100 });
    expect(
      commands.map((c) => `${c.instanceId}:${String((c.command.data as { n: number }).n)}`),
    ).toEqual(['a:0', 'a:1', 'a:2', 'b:0', 'b:1', 'b:2']);
  });

  it('reads an instance once per transaction when events come one at a time', async () => {
    const events = new MemoryEventStore();
    await events.append('thing-a', [
      { type: 'thing.started', data: {} },
      { type: 'thing.ticked', data: {} },
    ]);
    const memory = new MemorySagaStore();
    const { store, calls } = counting(memory);
    const engine = new SagaEngine(store, [saga], systemClock);
    const batch = await collect(events.readAll());
    await events.transaction(async (tx) => {
      for (const event of batch) await engine.handleEvent(saga, event, tx);
    });
    expect(calls.get('loadInstance')).toBe(1);
    expect(calls.get('saveInstance')).toBe(2);
    expect((await memory.loadInstance('counter', 'a'))?.state).toEqual({ seen: 1 });
  });
});
