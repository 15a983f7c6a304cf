import { describe, expect, it } from 'vitest';
import {
  CommandHandlerExistsError,
  InProcessCommandDispatcher,
  InvalidCommandEnvelopeError,
  MemoryEventStore,
  NoCommandHandlerError,
  StoreClosedError,
  collect,
  deciderCommandHandler,
  deterministicId,
  newId,
  type CommandEnvelope,
} from '@causewayjs/core';
import { inventoryDecider } from '../../examples/shop/inventory-decider.js';

function inventory(store: MemoryEventStore) {
  return new InProcessCommandDispatcher().register(
    ['inventory.restock', 'inventory.reserve', 'inventory.release'],
    deciderCommandHandler({
      store,
      decider: inventoryDecider,
      stream: (c) => `inventory-${(c.data as { sku: string }).sku}`,
    }),
  );
}

const restock = (quantity = 5): CommandEnvelope => ({
  id: newId(),
  type: 'inventory.restock',
  data: { sku: 'tea', quantity },
  metadata: { correlationId: 'req-1' },
});

describe('in-process command dispatch', () => {
  it('applies a command once however often it is dispatched, with ids derived from it', async () => {
    const store = new MemoryEventStore();
    const dispatcher = inventory(store);
    const command = restock();
    const first = await dispatcher.dispatch(command);
    const again = await dispatcher.dispatch(command);
    expect(first).toEqual({ status: 'accepted', stream: 'inventory-tea', revision: 0 });
    expect(again).toEqual({ status: 'accepted', stream: 'inventory-tea', revision: 0 });
    const events = await collect(store.readStream('inventory-tea'));
    expect(events).toHaveLength(1);
    expect(events[0]?.id).toBe(deterministicId('command', command.id, '0'));
    expect(events[0]?.metadata).toMatchObject({ causationId: command.id, correlationId: 'req-1' });
    await store.close();
  });

  it('applies a command once when two deliveries race', async () => {
    const store = new MemoryEventStore();
    const dispatcher = inventory(store);
    await dispatcher.dispatch(restock());
    const reserve: CommandEnvelope = {
      id: newId(),
      type: 'inventory.reserve',
      data: { sku: 'tea', quantity: 2, orderId: 'o1' },
      metadata: {},
    };
    const replies = await Promise.all([1, 2, 3].map(() => dispatcher.dispatch(reserve)));
    expect(replies.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted']);
    expect((await collect(store.readStream('inventory-tea'))).map((e) => e.type)).toEqual([
      'stock.restocked',
      'stock.reserved',
    ]);
    await store.close();
  });

  it('answers rejected when the decider refuses, or the command is malformed', async () => {
    const store = new MemoryEventStore();
    const dispatcher = inventory(store);
    const reply = await dispatcher.dispatch(restock(0));
    expect(reply).toMatchObject({ status: 'rejected', code: 'InventoryRuleError' });
    const noSku = await dispatcher.dispatch({ ...restock(), data: { quantity: 1 } });
    expect(noSku.status).toBe('rejected');
    const badMetadata = await dispatcher.dispatch({ ...restock(), metadata: { actor: 7 } });
    expect(badMetadata).toMatchObject({ status: 'rejected', code: 'INVALID_COMMAND' });
    expect(await collect(store.readAll())).toEqual([]);
    await store.close();
  });

  it('rejects the dispatch itself when the command cannot be handled now (to be retried)', async () => {
    const store = new MemoryEventStore();
    const dispatcher = inventory(store);
    await store.close();
    await expect(dispatcher.dispatch(restock())).rejects.toBeInstanceOf(StoreClosedError);
  });

  it('refuses unknown types, malformed envelopes and a second handler for a type', async () => {
    const store = new MemoryEventStore();
    const dispatcher = inventory(store);
    await expect(
      dispatcher.dispatch({ ...restock(), type: 'inventory.count' }),
    ).rejects.toBeInstanceOf(NoCommandHandlerError);
    await expect(dispatcher.dispatch({ ...restock(), id: 'not-a-uuid' })).rejects.toBeInstanceOf(
      InvalidCommandEnvelopeError,
    );
    await expect(dispatcher.dispatch(null as unknown as CommandEnvelope)).rejects.toBeInstanceOf(
      InvalidCommandEnvelopeError,
    );
    expect(() =>
      dispatcher.register('inventory.reserve', () => Promise.resolve({ status: 'accepted' })),
    ).toThrow(CommandHandlerExistsError);
    expect(dispatcher.types).toEqual([
      'inventory.release',
      'inventory.reserve',
      'inventory.restock',
    ]);
    await store.close();
  });
});
