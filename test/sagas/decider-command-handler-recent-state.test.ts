import { describe, expect, it } from 'vitest';
import {
  MemoryEventStore,
  collect,
  deciderCommandHandler,
  newId,
  type CommandEnvelope,
  type EventStore,
  type RecordedEvent,
} from '@causewayjs/core';
import { inventoryDecider } from '../../examples/shop/inventory-decider.js';

/** The store, counting the events its `readStream` hands out. */
function counting(store: MemoryEventStore): { store: EventStore; read: () => number } {
  let read = 0;
  async function* counted(events: AsyncIterable<RecordedEvent>): AsyncIterable<RecordedEvent> {
    for await (const event of events) {
      read += 1;
      yield event;
    }
  }
  const proxy = new Proxy(store, {
    get(target, key) {
      if (key === 'readStream')
        return (...args: Parameters<MemoryEventStore['readStream']>) =>
          counted(target.readStream(...args));
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  return { store: proxy, read: () => read };
}

function handlerOn(store: EventStore) {
  return deciderCommandHandler({
    store,
    decider: inventoryDecider,
    stream: (c) => `inventory-${(c.data as { sku: string }).sku}`,
  });
}

const command = (type: string, data: Record<string, unknown>): CommandEnvelope => ({
  id: newId(),
  type,
  data: { sku: 'tea', ...data },
  metadata: {},
});

describe('deciderCommandHandler keeps the state of recent streams', () => {
  it('reads only the events appended since its last command on a stream', async () => {
    const memory = new MemoryEventStore();
    const { store, read } = counting(memory);
    const handle = handlerOn(store);
    await handle(command('inventory.restock', { quantity: 10 }));
    for (let i = 0; i < 5; i++)
      await handle(command('inventory.reserve', { quantity: 1, orderId: `o${i}` }));
    // Restock and 5 reservations: the first command read nothing, each later one nothing new.
    expect(read()).toBe(0);
    const events = await collect(memory.readStream('inventory-tea'));
    expect(events.map((e) => e.type)).toEqual([
      'stock.restocked',
      ...Array.from({ length: 5 }, () => 'stock.reserved'),
    ]);
    await memory.close();
  });

  it('folds what others appended meanwhile, and knows the commands they applied', async () => {
    const memory = new MemoryEventStore();
    const { store, read } = counting(memory);
    const mine = handlerOn(store);
    const theirs = handlerOn(memory);
    await mine(command('inventory.restock', { quantity: 2 }));
    const reserve = command('inventory.reserve', { quantity: 2, orderId: 'o1' });
    expect(await theirs(reserve)).toMatchObject({ status: 'accepted', revision: 1 });
    // The other handler's reservation took all the stock: this one sees a shortage...
    expect(await mine(command('inventory.reserve', { quantity: 1, orderId: 'o2' }))).toMatchObject({
      status: 'accepted',
      revision: 2,
    });
    // ...having read only that reservation (and then its own shortage, for the next command).
    expect(read()).toBe(1);
    // The other handler's command, delivered here again, is found applied.
    expect(await mine(reserve)).toMatchObject({ status: 'accepted', revision: 2 });
    const events = await collect(memory.readStream('inventory-tea'));
    expect(events.map((e) => e.type)).toEqual([
      'stock.restocked',
      'stock.reserved',
      'stock.shortage',
    ]);
    await memory.close();
  });

  it('reads a stream with a maxAge whole, as its old events may age out of the fold', async () => {
    const memory = new MemoryEventStore();
    const { store, read } = counting(memory);
    const handle = handlerOn(store);
    await memory.setStreamMetadata('inventory-tea', { maxAge: 3600 });
    await handle(command('inventory.restock', { quantity: 3 }));
    await handle(command('inventory.reserve', { quantity: 1, orderId: 'o1' }));
    await handle(command('inventory.reserve', { quantity: 1, orderId: 'o2' }));
    // Each command folded the whole visible stream: 0 + 1 + 2 events.
    expect(read()).toBe(3);
    await memory.close();
  });
});
