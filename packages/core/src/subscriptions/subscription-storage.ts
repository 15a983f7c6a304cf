import type { StoreTransaction, TransactionalEventStore } from '../store/event-store.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { InboxStore } from './inbox-store.js';
import type { LeaseStore } from './lease-store.js';
import type { ParkedEventStore } from './parked-event-store.js';

/**
 * Everything a subscription keeps, in one store's database: checkpoints, parked events,
 * leases and inbox records, all writable inside the store's transactions `Tx`. Made by
 * `memorySubscriptionStorage(store)`, `sqliteSubscriptionStorage(store)` (`@causewayjs/sqlite`)
 * or `postgresSubscriptionStorage(store)` (`@causewayjs/postgres`).
 */
export interface SubscriptionStorage<Tx extends StoreTransaction = StoreTransaction> {
  /** The store whose log is delivered and whose transactions carry the writes. */
  readonly store: TransactionalEventStore<Tx>;
  readonly checkpoints: CheckpointStore<Tx>;
  readonly parked: ParkedEventStore<Tx>;
  readonly leases: LeaseStore<Tx>;
  readonly inbox: InboxStore<Tx>;
}
