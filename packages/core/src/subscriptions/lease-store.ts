import { InvalidArgumentError } from '../core/errors.js';
import type { StoreTransaction } from '../store/event-store.js';
import { assertName } from './validation.js';

/** Who holds a lease, and until when. */
export interface Lease {
  name: string;
  owner: string;
  expiresAt: Date;
  /**
   * The lease's fencing epoch: 1 for its first holder, one more each time it changes hands
   * (another owner takes it, or anyone takes it after it expired or was released). Never goes
   * back and is never reused for a name.
   */
  epoch: number;
}

/**
 * What {@link LeaseStore.acquire} found: taken (with the holder's fencing epoch), or held by
 * someone else.
 */
export type LeaseAcquisition =
  { acquired: true; epoch: number } | { acquired: false; holder: Lease };

/**
 * A lease as its holder knows it: the owner it took it as, and the epoch `acquire` gave it.
 * Checking the epoch too (not only the owner) refuses a former holder that took the lease
 * under the same owner string as the current one (a restarted process with a fixed owner
 * name, say).
 */
export interface LeaseClaim {
  owner: string;
  epoch: number;
}

/**
 * Leases on names, in the event store's database: how only one process runs a subscription
 * at a time. A lease is held by one owner until it expires; its owner renews it while
 * running. Times are milliseconds since the epoch from the caller's clock, so tests can move
 * time. (Consumer groups lease partitions through the same port, one name per partition.)
 *
 * Every lease carries a fencing epoch ({@link Lease.epoch}) that grows each time it changes
 * hands, stored with it and kept after a release, so it is never reused. A holder passes its
 * epoch to {@link assertHeld} in each commit; a sink outside the database can compare it with
 * the last epoch it saw and refuse older ones.
 */
export interface LeaseStore<Tx extends StoreTransaction = StoreTransaction> {
  /**
   * Takes the lease for `owner` until `now + ttlMs` if it is free, expired or already
   * `owner`'s; otherwise reports who holds it. The epoch grows unless `owner` already held it
   * unexpired (then taking it again is a renewal).
   */
  acquire(name: string, owner: string, ttlMs: number, now: number): Promise<LeaseAcquisition>;
  /**
   * Extends `holder`'s lease to `now + ttlMs`; false when `holder` no longer holds it (with a
   * {@link LeaseClaim}, also when it was taken again under the same owner since).
   */
  renew(name: string, holder: string | LeaseClaim, ttlMs: number, now: number): Promise<boolean>;
  /**
   * Gives the lease up, if `holder` holds it (with a {@link LeaseClaim}: at that epoch, so a
   * former holder cannot release its successor's lease). The epoch is kept for the next
   * holder's.
   */
  release(name: string, holder: string | LeaseClaim): Promise<void>;
  /** The current holder, expired or not, if any (none after a release). */
  get(name: string): Promise<Lease | undefined>;
  /**
   * Inside `tx`, checks that `holder` still holds the lease and keeps it from changing hands
   * until `tx` ends (the fence that stops a former owner from committing). With a
   * {@link LeaseClaim}, the stored epoch must be the claim's too; with an owner string alone,
   * only the owner is compared.
   *
   * @throws {LeaseLostError}
   */
  assertHeld(name: string, holder: string | LeaseClaim, tx: Tx): Promise<void>;
}

/**
 * Whether a stored lease (`owner`, `epoch`) is the one `holder` claims: the same owner, and
 * the same epoch when the claim carries one.
 */
export function holdsLease(
  stored: { owner: string; epoch: number } | undefined,
  holder: string | LeaseClaim,
): boolean {
  if (!stored) return false;
  if (typeof holder === 'string') return stored.owner === holder;
  return stored.owner === holder.owner && stored.epoch === holder.epoch;
}

/** The owner named by a claim or an owner string. */
export function claimOwner(holder: string | LeaseClaim): string {
  return typeof holder === 'object' && holder !== null ? holder.owner : holder;
}

/** The epoch a claim names, or null for an owner string (any epoch). */
export function claimEpoch(holder: string | LeaseClaim): number | null {
  return typeof holder === 'object' && holder !== null ? holder.epoch : null;
}

/**
 * Checks a lease holder argument (an owner name, or a claim with a whole epoch >= 0); returns
 * it as owner and epoch (null: any).
 *
 * @throws {InvalidArgumentError}
 */
export function checkLeaseHolder(holder: unknown): { owner: string; epoch: number | null } {
  if (typeof holder === 'object' && holder !== null) {
    const { owner, epoch } = holder as { owner?: unknown; epoch?: unknown };
    assertName(owner, 'owner');
    if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0)
      throw new InvalidArgumentError('epoch', 'must be a whole number >= 0');
    return { owner, epoch };
  }
  assertName(holder, 'owner');
  return { owner: holder, epoch: null };
}
