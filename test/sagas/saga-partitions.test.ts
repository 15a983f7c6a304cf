import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  MemoryEventStore,
  MemoryGroupMembershipStore,
  MemorySagaStore,
  SagaRuntime,
  collect,
  memorySubscriptionStorage,
  sagaPartitionOf,
} from '@causewayjs/core';
import { createFulfilmentSaga } from '../../examples/shop/fulfilment-saga.js';
import { inventoryStream } from '../../examples/shop/inventory-decider.js';

function runtime(count: unknown) {
  const store = new MemoryEventStore();
  return {
    store,
    make: () =>
      new SagaRuntime({
        storage: memorySubscriptionStorage(store),
        sagaStore: new MemorySagaStore(),
        sagas: [createFulfilmentSaga()],
        dispatcher: { dispatch: () => Promise.resolve({ status: 'accepted' }) },
        partitions: { count: count as number, membership: new MemoryGroupMembershipStore() },
      }),
  };
}

describe('saga partitions', () => {
  it('puts every event of an instance in the partition of its id, whatever its stream', async () => {
    const { store, make } = runtime(8);
    const group = make().groupList[0];
    expect(group?.name).toBe('saga:order-fulfilment');
    for (let i = 0; i < 50; i++) {
      const orderId = `o${i}`;
      await store.append(`order-${orderId}`, [
        { type: 'order.placed', data: { customerId: 'c', lines: [] } },
      ]);
      await store.append(inventoryStream(`sku-${i % 3}`), [
        { type: 'stock.reserved', data: { sku: `sku-${i % 3}`, quantity: 1, orderId } },
      ]);
      await store.append(`payment-${orderId}`, [
        { type: 'payment.authorised', data: { orderId, amount: 1 } },
      ]);
    }
    const events = await collect(store.readAll());
    const partitions = new Map<string, Set<number>>();
    for (const event of events) {
      const id = event.stream.startsWith('order-')
        ? event.stream.slice('order-'.length)
        : (event.data as { orderId: string }).orderId;
      const set = partitions.get(id) ?? new Set<number>();
      set.add(group?.partitionOfEvent(event) ?? -1);
      partitions.set(id, set);
    }
    for (const [id, set] of partitions) expect([...set]).toEqual([sagaPartitionOf(id, 8)]);
    // The instances spread over the partitions.
    expect(new Set([...partitions.values()].map((s) => [...s][0])).size).toBeGreaterThan(4);
  });

  it('refuses a partition count out of range', () => {
    for (const count of [0, 1025, 2.5, '4'])
      expect(() => runtime(count).make()).toThrow(InvalidArgumentError);
  });
});
