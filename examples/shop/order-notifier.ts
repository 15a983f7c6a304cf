import {
  ConsumerGroup,
  type GroupMembershipStore,
  type RecordedEvent,
  type StoreTransaction,
  type SubscriptionStorage,
} from '@causewayjs/core';
import { orderIdOf } from './order-decider.js';

/** The stream of a customer's notifications: `notification-<customerId>`. */
export function notificationStream(customerId: string): string {
  return `notification-${customerId}`;
}

/** Options of {@link createOrderNotifier}. */
export interface OrderNotifierOptions {
  storage: SubscriptionStorage;
  membership: GroupMembershipStore;
  /** Partitions of the group (default 4): how many processes can share the work. */
  partitions?: number;
  memberId?: string;
  /** Heartbeat/lease of the group, in ms (default 10,000). */
  leaseTtlMs?: number;
}

/**
 * Tells customers about their orders, as a consumer group: every `causeway serve` process
 * on the same database joins the group `shop-notifier` and takes a share of the order
 * streams (hashed into partitions). For each placed, completed or cancelled order it records
 * a `customer.notified` event on the customer's notification stream, in the transaction that
 * moves the partition's checkpoint: one notification per order event, whichever member
 * handles it, even across crashes and rebalances.
 */
export function createOrderNotifier(options: OrderNotifierOptions): ConsumerGroup {
  const customers = new Map<string, string>();
  return new ConsumerGroup({
    name: 'shop-notifier',
    partitions: options.partitions ?? 4,
    storage: options.storage,
    membership: options.membership,
    leaseTtlMs: options.leaseTtlMs ?? 10_000,
    ...(options.memberId === undefined ? {} : { memberId: options.memberId }),
    filter: {
      streamPrefix: 'order-',
      types: ['order.placed', 'order.completed', 'order.cancelled'],
    },
    handler: async (event: RecordedEvent, { tx }: { tx: StoreTransaction }) => {
      const orderId = orderIdOf(event.stream);
      if (orderId === undefined) return;
      let customerId = (event.data as { customerId?: string }).customerId ?? customers.get(orderId);
      if (customerId === undefined) {
        // Not seen in this process (another member placed it, or a restart): read the order's first event.
        for await (const first of options.storage.store.readStream(event.stream, { limit: 1 }))
          customerId = (first.data as { customerId?: string }).customerId;
      }
      if (customerId === undefined) return;
      if (event.type === 'order.placed') customers.set(orderId, customerId);
      else customers.delete(orderId);
      const what = event.type.slice('order.'.length);
      await tx.append(notificationStream(customerId), [
        {
          type: 'customer.notified',
          data: { orderId, about: what, message: `Your order ${orderId} was ${what}.` },
          metadata: {
            causationId: event.id,
            ...(event.metadata.correlationId
              ? { correlationId: event.metadata.correlationId }
              : {}),
            ...(event.metadata.traceparent ? { traceparent: event.metadata.traceparent } : {}),
          },
        },
      ]);
    },
  });
}
