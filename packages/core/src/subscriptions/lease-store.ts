import type { StoreTransaction } from '../store/event-store.js';

/** Who holds a lease, and until when. */
export interface Lease {
  name: string;
  owner: string;
  expiresAt: Date;
}

/** What {@link LeaseStore.acquire} found. */
export type LeaseAcquisition = { acquired: true } | { acquired: false; holder: Lease };

/**
 * Leases on names, in the event store's database: how only one process runs a subscription
 * at a time. A lease is held by one owner until it expires; its owner renews it while
 * running. Times are milliseconds since the epoch from the caller's clock, so tests can move
 * time. (Consumer groups lease partitions through the same port, one name per partition.)
 */
export interface LeaseStore<Tx extends StoreTransaction = StoreTransaction> {
  /**
   * Takes the lease for `owner` until `now + ttlMs` if it is free, expired or already
   * `owner`'s; otherwise reports who holds it.
   */
  acquire(name: string, owner: string, ttlMs: number, now: number): Promise<LeaseAcquisition>;
  /** Extends `owner`'s lease to `now + ttlMs`; false when `owner` no longer holds it. */
  renew(name: string, owner: string, ttlMs: number, now: number): Promise<boolean>;
  /** Gives the lease up, if `owner` holds it. */
  release(name: string, owner: string): Promise<void>;
  /** The current holder, expired or not, if any. */
  get(name: string): Promise<Lease | undefined>;
  /**
   * Inside `tx`, checks that `owner` still holds the lease and keeps it from changing hands
   * until `tx` ends (the fence that stops a former owner from committing).
   *
   * @throws {LeaseLostError}
   */
  assertHeld(name: string, owner: string, tx: Tx): Promise<void>;
}
