import { describe, expect, it } from 'vitest';
import {
  LeaseLostError,
  ManualClock,
  MemoryEventStore,
  memorySubscriptionStorage,
} from '@causewayjs/core';
import { LeasedLoop } from '../../packages/core/src/sagas/leased-loop.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('the outbox and timer loops’ lease', () => {
  it('refuses the commit of a loop whose lease expired and was taken under the same owner name', async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryEventStore();
    const { leases } = memorySubscriptionStorage(store, { clock });
    // Two runs of one runtime with a fixed owner name: the first stalled past its lease.
    const loop = () =>
      new LeasedLoop(
        'saga outbox',
        { store: leases, name: 'causeway:saga-outbox:x', owner: 'shop-1', ttlMs: 1000 },
        clock,
        1000,
        () => Promise.resolve(0),
      );
    const stale = loop();
    expect(await stale.ensureLease()).toBe(true);
    await store.transaction((tx) => stale.fence(tx));
    clock.advance(5000);
    const current = loop();
    expect(await current.ensureLease()).toBe(true);
    await store.transaction((tx) => current.fence(tx));
    // The owner string is the same; the epoch is not.
    await expect(store.transaction((tx) => stale.fence(tx))).rejects.toBeInstanceOf(LeaseLostError);
    await store.transaction((tx) => current.fence(tx));
  });
});
