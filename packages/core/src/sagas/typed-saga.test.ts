import { describe, expect, expectTypeOf, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import type { RecordedEvent } from '../core/envelope.js';
import type { CommandEnvelope } from '../domain/command-dispatcher.js';
import type { DomainEvent } from '../domain/decider.js';
import { MemoryEventStore } from '../store/memory-event-store.js';
import { memorySubscriptionStorage } from '../subscriptions/memory-subscription-storage.js';
import { defineChoreography, type ChoreographyDefinition } from './choreography.js';
import { MemorySagaStore } from './memory-saga-store.js';
import { defineSaga, type SagaDefinition, type SagaEvent } from './saga-definition.js';
import { SagaRuntime } from './saga-runtime.js';

interface Line {
  sku: string;
  quantity: number;
}
type FulfilmentEvent =
  | DomainEvent<'order.placed', { orderId: string; lines: Line[] }>
  | DomainEvent<'stock.reserved', { orderId: string; sku: string }>
  | DomainEvent<'payment.declined', { orderId: string; reason: string }>;
interface Fulfilment {
  lines: Line[];
  reserved: string[];
}

const fulfilment = defineSaga<Fulfilment, FulfilmentEvent, 'order.placed'>({
  name: 'typed-fulfilment',
  startsWith: ['order.placed'],
  handles: ['stock.reserved', 'payment.declined'],
  correlate: (event) => event.data.orderId,
  initialStep: 'reserving',
  start: (event, { id }) => ({
    state: { lines: event.data.lines, reserved: [] },
    send: event.data.lines.map((l) => ({ type: 'inventory.reserve', data: { ...l, orderId: id } })),
  }),
  on(event, { state }) {
    switch (event.type) {
      case 'stock.reserved': {
        const reserved = [...state.reserved, event.data.sku];
        return reserved.length === state.lines.length
          ? { state: { ...state, reserved }, complete: true }
          : { state: { ...state, reserved } };
      }
      case 'payment.declined':
        return { fail: event.data.reason };
      default:
        return undefined;
    }
  },
});

describe('typed saga handlers', () => {
  it('hand each handler the recorded event with the data of its type', () => {
    type Handlers = SagaDefinition<Fulfilment, FulfilmentEvent, 'order.placed'>;
    type StartEvent = Parameters<Handlers['start']>[0];
    expectTypeOf<StartEvent>().toEqualTypeOf<
      RecordedEvent<{ orderId: string; lines: Line[] }, 'order.placed'>
    >();
    type OnEvent = Parameters<NonNullable<Handlers['on']>>[0];
    expectTypeOf<Extract<OnEvent, { type: 'payment.declined' }>['data']>().toEqualTypeOf<{
      orderId: string;
      reason: string;
    }>();
    expectTypeOf<OnEvent['type']>().toEqualTypeOf<FulfilmentEvent['type']>();
    expectTypeOf<Parameters<Handlers['correlate']>[0]>().toEqualTypeOf<
      SagaEvent<FulfilmentEvent>
    >();
    expectTypeOf(fulfilment).toEqualTypeOf<Handlers>();
  });

  it('narrow event.data on event.type and keep the envelope', () => {
    type Event = SagaEvent<FulfilmentEvent>;
    expectTypeOf<Event['stream']>().toEqualTypeOf<string>();
    expectTypeOf<Event['position']>().toEqualTypeOf<number>();
    const reason = (event: Event): string | undefined =>
      event.type === 'payment.declined' ? event.data.reason : undefined;
    expectTypeOf(reason).returns.toEqualTypeOf<string | undefined>();
  });

  it('without the event union, handlers get RecordedEvent with data: unknown', () => {
    const untyped = defineSaga<{ n: number }>({
      name: 'untyped',
      startsWith: ['x.started'],
      handles: ['x.moved'],
      correlate: (event) => event.stream,
      initialStep: 'only',
      start: () => ({ state: { n: 0 } }),
      on: (event) => {
        expectTypeOf(event).toEqualTypeOf<RecordedEvent>();
        expectTypeOf(event.data).toBeUnknown();
        return undefined;
      },
    });
    expectTypeOf(untyped).toEqualTypeOf<SagaDefinition<{ n: number }>>();
    expectTypeOf<Parameters<(typeof untyped)['start']>[0]>().toEqualTypeOf<RecordedEvent>();
  });

  it('refuse event types the union does not declare, and data it does not have', () => {
    const check = (): void => {
      defineSaga<Fulfilment, FulfilmentEvent>({
        name: 'wrong',
        // @ts-expect-error 'order.shipped' is not a type of FulfilmentEvent
        startsWith: ['order.shipped'],
        handles: [],
        correlate: (event) => event.data.orderId,
        initialStep: 'x',
        start: () => ({ state: { lines: [], reserved: [] } }),
      });
      defineSaga<Fulfilment, FulfilmentEvent, 'order.placed'>({
        name: 'wrong',
        startsWith: ['order.placed'],
        handles: ['stock.reserved'],
        correlate: (event) => event.data.orderId,
        initialStep: 'x',
        // @ts-expect-error an order.placed event has no sku
        start: (event) => ({ state: { lines: [], reserved: [event.data.sku] } }), // eslint-disable-line @typescript-eslint/no-unsafe-assignment
      });
      defineSaga<Fulfilment, FulfilmentEvent, 'order.placed'>({
        name: 'wrong',
        // @ts-expect-error only 'order.placed' is declared as starting
        startsWith: ['stock.reserved'],
        handles: [],
        correlate: (event) => event.data.orderId,
        initialStep: 'x',
        start: () => ({ state: { lines: [], reserved: [] } }),
      });
      defineChoreography<FulfilmentEvent>({
        name: 'wrong',
        // @ts-expect-error not a type of FulfilmentEvent
        handles: ['order.paid'],
        react: () => [],
      });
    };
    expect(typeof check).toBe('function');
  });

  it('type choreography handlers the same way', () => {
    const restock = defineChoreography<Extract<FulfilmentEvent, { type: 'stock.reserved' }>>({
      name: 'restock',
      handles: ['stock.reserved'],
      react: (event) => [{ type: 'inventory.restock', data: { sku: event.data.sku } }],
    });
    expectTypeOf(restock).toEqualTypeOf<
      ChoreographyDefinition<DomainEvent<'stock.reserved', { orderId: string; sku: string }>>
    >();
    expectTypeOf<Parameters<ChoreographyDefinition['react']>[0]>().toEqualTypeOf<RecordedEvent>();
  });

  it('runs typed sagas beside untyped ones in one runtime', async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryEventStore({ clock });
    const sent: CommandEnvelope[] = [];
    const untyped = defineSaga<null>({
      name: 'watcher',
      startsWith: ['order.placed'],
      handles: [],
      correlate: (event) => event.stream,
      initialStep: 'seen',
      start: () => ({ state: null, complete: true }),
    });
    const runtime = new SagaRuntime({
      storage: memorySubscriptionStorage(store, { clock }),
      sagaStore: new MemorySagaStore(),
      sagas: [fulfilment, untyped],
      dispatcher: {
        dispatch: (command) => {
          sent.push(command);
          return Promise.resolve({ status: 'accepted' });
        },
      },
      clock,
    });
    await runtime.start();
    try {
      await store.append('order-o1', [
        {
          type: 'order.placed',
          data: {
            orderId: 'o1',
            lines: [
              { sku: 'tea', quantity: 2 },
              { sku: 'mug', quantity: 1 },
            ],
          },
        },
      ]);
      await store.append('inventory-tea', [
        { type: 'stock.reserved', data: { orderId: 'o1', sku: 'tea' } },
      ]);
      await store.append('order-o2', [
        { type: 'order.placed', data: { orderId: 'o2', lines: [{ sku: 'tea', quantity: 1 }] } },
      ]);
      await store.append('payment-o2', [
        { type: 'payment.declined', data: { orderId: 'o2', reason: 'card declined' } },
      ]);
      await runtime.runUntilIdle();
      const o1 = await runtime.getInstance('typed-fulfilment', 'o1');
      expect(o1?.status).toBe('running');
      expect(o1?.state).toEqual({
        lines: [
          { sku: 'tea', quantity: 2 },
          { sku: 'mug', quantity: 1 },
        ],
        reserved: ['tea'],
      });
      expect((await runtime.getInstance('typed-fulfilment', 'o2'))?.status).toBe('compensated');
      expect(
        sent
          .filter((c) => c.type === 'inventory.reserve')
          .map((c) => c.data)
          .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      ).toEqual([
        { sku: 'mug', quantity: 1, orderId: 'o1' },
        { sku: 'tea', quantity: 1, orderId: 'o2' },
        { sku: 'tea', quantity: 2, orderId: 'o1' },
      ]);
      expect((await runtime.getInstance('watcher', 'order-o1'))?.status).toBe('completed');

      await store.append('inventory-mug', [
        { type: 'stock.reserved', data: { orderId: 'o1', sku: 'mug' } },
      ]);
      await runtime.runUntilIdle();
      expect((await runtime.getInstance('typed-fulfilment', 'o1'))?.status).toBe('completed');
    } finally {
      await runtime.stop();
      await store.close();
    }
  });
});
