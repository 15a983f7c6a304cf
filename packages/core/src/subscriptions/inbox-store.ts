import type { StoreTransaction } from '../store/event-store.js';

/**
 * Which messages (event ids) each consumer has processed, in the event store's database:
 * what makes a handler idempotent when the same event can reach it twice (see `withInbox`).
 */
export interface InboxStore<Tx extends StoreTransaction = StoreTransaction> {
  /**
   * Records that `consumer` processed `eventId`: true if this is the first time, false if
   * it was already recorded. Given `tx`, the record commits (or rolls back) with it.
   */
  record(consumer: string, eventId: string, tx?: Tx): Promise<boolean>;
  /** Whether `consumer` has processed `eventId`. */
  has(consumer: string, eventId: string): Promise<boolean>;
  /** Forgets `consumer`'s records made before `before`; returns how many. */
  prune(consumer: string, before: Date): Promise<number>;
}
