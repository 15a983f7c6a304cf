import { describe, expect, it } from 'vitest';
import {
  LeaseLostError,
  ManualClock,
  MemoryEventStore,
  memorySubscriptionStorage,
  type LeaseStore,
} from '@causewayjs/core';
import { LeasedLoop } from '../../packages/core/src/sagas/leased-loop.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('a leased loop that no longer knows its claim', () => {
  it('refuses its commit after a failed renewal, even when a successor took the lease under the same owner name', async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryEventStore();
    const { leases } = memorySubscriptionStorage(store, { clock });
    let renewFails = false;
    // The same lease store, whose renewal fails while `renewFails` (the database unreachable).
    const flaky: LeaseStore = {
      acquire: (...args) => leases.acquire(...args),
      renew: (...args) =>
        renewFails ? Promise.reject(new Error('connection lost')) : leases.renew(...args),
      release: (...args) => leases.release(...args),
      get: (name) => leases.get(name),
      assertHeld: (...args) => leases.assertHeld(...args),
    };
    const loop = (lease: LeaseStore) =>
      new LeasedLoop(
        'saga outbox',
        { store: lease, name: 'causeway:saga-outbox:y', owner: 'shop-1', ttlMs: 1000 },
        clock,
        1000,
        () => Promise.resolve(0),
      );
    const stale = loop(flaky);
    expect(await stale.ensureLease()).toBe(true);
    // Its renewal fails, and meanwhile its lease expires and another run with the same
    // owner name takes it.
    clock.advance(5000);
    const current = loop(leases);
    expect(await current.ensureLease()).toBe(true);
    renewFails = true;
    expect(await stale.ensureLease()).toBe(false);
    // A transaction the stale loop still has in hand must not commit.
    await expect(store.transaction((tx) => stale.fence(tx))).rejects.toBeInstanceOf(LeaseLostError);
    await store.transaction((tx) => current.fence(tx));
  });
});
