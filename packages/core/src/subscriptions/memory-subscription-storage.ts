import { type Clock, systemClock } from '../core/clock.js';
import type { MemoryEventStore } from '../store/memory-event-store.js';
import type { StoreTransaction } from '../store/event-store.js';
import { MemoryCheckpointStore } from './memory-checkpoint-store.js';
import { MemoryInboxStore } from './memory-inbox-store.js';
import { MemoryLeaseStore } from './memory-lease-store.js';
import { MemoryParkedEventStore } from './memory-parked-event-store.js';
import type { SubscriptionStorage } from './subscription-storage.js';

/**
 * Subscription storage in process memory, beside a {@link MemoryEventStore}: for tests and
 * single-process tools. Everything is lost with the process.
 *
 * @example
 * ```ts
 * const store = new MemoryEventStore();
 * const subscription = new Subscription({
 *   name: 'order-totals',
 *   storage: memorySubscriptionStorage(store),
 *   handler: (event, { tx }) => tx.onCommit(() => totals.add(event)),
 * });
 * ```
 */
export function memorySubscriptionStorage(
  store: MemoryEventStore,
  options: { clock?: Clock } = {},
): SubscriptionStorage<StoreTransaction> {
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  return {
    store,
    checkpoints: new MemoryCheckpointStore(now),
    parked: new MemoryParkedEventStore(),
    leases: new MemoryLeaseStore(),
    inbox: new MemoryInboxStore(now),
  };
}
