import type { StoreTransaction } from '../store/event-store.js';

/** Where a subscription has got to. */
export interface Checkpoint {
  /** Position of the last event handled (or passed over by its filter); 0 for none. */
  position: number;
  /** When it was last saved. */
  updatedAt: Date;
}

/**
 * Checkpoints of subscriptions, per subscription name, kept in the event store's database so
 * that a handler's effects and its checkpoint commit in one transaction. Implemented for
 * memory, SQLite and PostgreSQL (see `SubscriptionStorage`).
 *
 * Every write takes an optional transaction `tx` of the same store: given, the write commits
 * (or rolls back) with it; omitted, it commits on its own.
 */
export interface CheckpointStore<Tx extends StoreTransaction = StoreTransaction> {
  /** The subscription's checkpoint, or undefined if it has none yet. */
  load(name: string): Promise<Checkpoint | undefined>;
  /** Sets the subscription's checkpoint to `position` (forward or back). */
  save(name: string, position: number, tx?: Tx): Promise<void>;
  /** Forgets the subscription's checkpoint: it starts afresh (from its `from`) next time. */
  delete(name: string, tx?: Tx): Promise<void>;
  /** Every stored checkpoint, by name. */
  list(): Promise<({ name: string } & Checkpoint)[]>;
  /**
   * Optional: lets `tx` commit without waiting for its flush to disk. A subscription calls it
   * only for a transaction that holds nothing but its own progress (the checkpoint saved
   * with `save`, and the lease check): no handler took the transaction. Losing such a commit
   * in a crash of the machine only means its events are delivered again; a commit that
   * follows and waits for its flush makes it durable too. PostgreSQL implements it with
   * `synchronous_commit = off` for the transaction; SQLite, when its store flushes commits in
   * the background (the default), by not waiting for that flush; memory has nothing to
   * flush, so it leaves it out.
   * It is called together with `save` and the lease check (all three sent before any is
   * answered), so it must not depend on their order.
   */
  relaxCommit?(tx: Tx): Promise<void>;
}
