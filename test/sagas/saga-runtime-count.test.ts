/** `SagaRuntime.countInstances`: the saga store's count, or a count by listing without one. */
import { describe, expect, it } from 'vitest';
import { SagaRuntime, type SagaStore } from '@causewayjs/core';
import { memoryShop } from './shop-fixture.js';

describe('SagaRuntime.countInstances', () => {
  it("uses the store's count, and counts page by page over a store that cannot count", async () => {
    const shop = memoryShop();
    const counting = shop.sagaStore;
    const base = {
      step: 'waiting',
      state: {},
      trail: ['waiting'],
      lastPosition: 0,
      newHistory: [],
      pendingCompensations: 0,
      failedCompensations: 0,
      startedAt: 0,
      updatedAt: 0,
    };
    // More than one page of the listing (1,000), in two sagas.
    await shop.store.transaction(async (tx) => {
      for (let i = 0; i < 1_203; i++)
        await counting.saveInstance(
          {
            ...base,
            saga: i % 3 === 0 ? 'b' : 'a',
            id: `i-${String(i).padStart(5, '0')}`,
            status: i % 2 === 0 ? 'running' : 'completed',
          },
          tx,
        );
    });
    // The same store without countInstances.
    const listingOnly = new Proxy(counting, {
      get: (target, key) =>
        key === 'countInstances' ? undefined : (Reflect.get(target, key, target) as unknown),
    }) as SagaStore;
    expect(typeof listingOnly.countInstances).toBe('undefined');

    for (const sagaStore of [counting, listingOnly]) {
      const runtime = new SagaRuntime({ ...shop.runtimeOptions, sagaStore });
      expect(await runtime.countInstances()).toBe(1_203);
      expect(await runtime.countInstances({ saga: 'b' })).toBe(401);
      expect(await runtime.countInstances({ saga: 'a', status: 'running' })).toBe(401);
    }
  });
});
