import type { StoreTransaction } from '../store/event-store.js';
import type { Lease, LeaseAcquisition, LeaseStore } from './lease-store.js';
import { LeaseLostError } from './subscription-errors.js';
import { assertLeaseArguments, assertName } from './validation.js';

/** Leases in process memory, for the memory store (one process, so any owner is local). */
export class MemoryLeaseStore implements LeaseStore {
  private readonly leases = new Map<string, { owner: string; expiresAt: number }>();

  acquire(name: string, owner: string, ttlMs: number, now: number): Promise<LeaseAcquisition> {
    return new Promise((resolve) => {
      assertLeaseArguments(name, owner, ttlMs, now);
      const held = this.leases.get(name);
      if (held && held.owner !== owner && held.expiresAt > now) {
        resolve({
          acquired: false,
          holder: { name, owner: held.owner, expiresAt: new Date(held.expiresAt) },
        });
        return;
      }
      this.leases.set(name, { owner, expiresAt: now + ttlMs });
      resolve({ acquired: true });
    });
  }

  renew(name: string, owner: string, ttlMs: number, now: number): Promise<boolean> {
    return new Promise((resolve) => {
      assertLeaseArguments(name, owner, ttlMs, now);
      const held = this.leases.get(name);
      if (held?.owner !== owner) {
        resolve(false);
        return;
      }
      held.expiresAt = now + ttlMs;
      resolve(true);
    });
  }

  release(name: string, owner: string): Promise<void> {
    return new Promise((resolve) => {
      assertName(name);
      assertName(owner, 'owner');
      if (this.leases.get(name)?.owner === owner) this.leases.delete(name);
      resolve();
    });
  }

  get(name: string): Promise<Lease | undefined> {
    return new Promise((resolve) => {
      assertName(name);
      const held = this.leases.get(name);
      resolve(held && { name, owner: held.owner, expiresAt: new Date(held.expiresAt) });
    });
  }

  assertHeld(name: string, owner: string, _tx: StoreTransaction): Promise<void> {
    return new Promise((resolve) => {
      // The memory store's transactions hold its writes, and leases change only here, in
      // the same process: a check now holds until the commit.
      if (this.leases.get(name)?.owner !== owner) throw new LeaseLostError(name, owner);
      resolve();
    });
  }
}
