import type { StoreTransaction } from '../store/event-store.js';
import {
  checkLeaseHolder,
  claimOwner,
  holdsLease,
  type Lease,
  type LeaseAcquisition,
  type LeaseClaim,
  type LeaseStore,
} from './lease-store.js';
import { LeaseLostError } from './subscription-errors.js';
import { assertLeaseArguments, assertName } from './validation.js';

/** Leases in process memory, for the memory store (one process, so any owner is local). */
export class MemoryLeaseStore implements LeaseStore {
  private readonly leases = new Map<string, { owner: string; expiresAt: number; epoch: number }>();
  /** The last epoch of every name ever leased: kept after a release, so never reused. */
  private readonly epochs = new Map<string, number>();

  acquire(name: string, owner: string, ttlMs: number, now: number): Promise<LeaseAcquisition> {
    return new Promise((resolve) => {
      assertLeaseArguments(name, owner, ttlMs, now);
      const held = this.leases.get(name);
      if (held && held.owner !== owner && held.expiresAt > now) {
        resolve({ acquired: false, holder: toLease(name, held) });
        return;
      }
      // Taking one's own unexpired lease again is a renewal; anything else changes hands.
      const renewal = held !== undefined && held.owner === owner && held.expiresAt > now;
      const epoch = renewal ? held.epoch : (this.epochs.get(name) ?? 0) + 1;
      this.epochs.set(name, epoch);
      this.leases.set(name, { owner, expiresAt: now + ttlMs, epoch });
      resolve({ acquired: true, epoch });
    });
  }

  renew(name: string, holder: string | LeaseClaim, ttlMs: number, now: number): Promise<boolean> {
    return new Promise((resolve) => {
      const { owner } = checkLeaseHolder(holder);
      assertLeaseArguments(name, owner, ttlMs, now);
      const held = this.leases.get(name);
      if (!held || !holdsLease(held, holder)) {
        resolve(false);
        return;
      }
      held.expiresAt = now + ttlMs;
      resolve(true);
    });
  }

  release(name: string, holder: string | LeaseClaim): Promise<void> {
    return new Promise((resolve) => {
      assertName(name);
      checkLeaseHolder(holder);
      if (holdsLease(this.leases.get(name), holder)) this.leases.delete(name);
      resolve();
    });
  }

  get(name: string): Promise<Lease | undefined> {
    return new Promise((resolve) => {
      assertName(name);
      const held = this.leases.get(name);
      resolve(held && toLease(name, held));
    });
  }

  assertHeld(name: string, holder: string | LeaseClaim, _tx: StoreTransaction): Promise<void> {
    return new Promise((resolve) => {
      // The memory store's transactions hold its writes, and leases change only here, in
      // the same process: a check now holds until the commit.
      if (!holdsLease(this.leases.get(name), holder))
        throw new LeaseLostError(name, claimOwner(holder));
      resolve();
    });
  }
}

function toLease(name: string, held: { owner: string; expiresAt: number; epoch: number }): Lease {
  return { name, owner: held.owner, expiresAt: new Date(held.expiresAt), epoch: held.epoch };
}
