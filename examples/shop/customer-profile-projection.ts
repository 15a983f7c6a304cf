import {
  defineProjection,
  type Documents,
  type DocumentsHandle,
  type RecordedEvent,
} from '@causewayjs/core';
import { orderIdOf, type OrderLine } from './order-decider.js';

/** One customer as their profile shows them: a document of the `profiles` collection. */
export interface CustomerProfileRow {
  customer_id: string;
  orders: number;
  completed: number;
  cancelled: number;
  /** Sum of completed orders, in cents. */
  spent: number;
  first_order_at: string;
  last_order_at: string;
}

/** An order's customer and running total, which later order events (naming only the order) need. */
export interface CustomerOrder {
  customer_id: string;
  /** In cents. */
  total: number;
}

/**
 * The fields profiles can be searched and sorted on besides the customer id (the document
 * id): the best customers by money spent, the latest active ones.
 */
export const CUSTOMER_PROFILE_INDEXES = ['spent', 'last_order_at'] as const;

/**
 * The customer profiles, one per customer, keyed by customer id: what the projection writes
 * and what readers query (`projector.query('customer-profile', (rm) => customerProfiles(rm).get('ada'))`).
 */
export function customerProfiles(rm: DocumentsHandle): Documents<CustomerProfileRow> {
  return rm.documents<CustomerProfileRow>('profiles', { indexes: CUSTOMER_PROFILE_INDEXES });
}

/** The order → customer and total map of the customer profiles, keyed by order id. */
export function customerOrders(rm: DocumentsHandle): Documents<CustomerOrder> {
  return rm.documents<CustomerOrder>('order_customers');
}

/**
 * Customer profiles: orders placed, completed and cancelled, and money spent, per customer.
 * Later order events name only the order, so a second collection remembers each order's
 * customer and total. Version 2 keeps documents (version 1 was SQL tables), so it runs on
 * every backend.
 */
export const customerProfileProjection = defineProjection<DocumentsHandle>({
  name: 'customer-profile',
  version: 2,
  streamPrefix: 'order-',
  handles: ['order.placed', 'order.line-added', 'order.completed', 'order.cancelled'],
  setup: () => undefined, // The collections are made, with their indexes, by their first write.
  apply: async (event: RecordedEvent, rm) => {
    const orderId = orderIdOf(event.stream);
    if (orderId === undefined) return;
    const profiles = customerProfiles(rm);
    const orders = customerOrders(rm);
    if (event.type === 'order.placed') {
      if ((await orders.get(orderId)) !== undefined) return;
      const { customerId, lines } = event.data as { customerId: string; lines: OrderLine[] };
      const total = lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0);
      const at = event.recordedAt.toISOString();
      await orders.put(orderId, { customer_id: customerId, total });
      const profile = await profiles.get(customerId);
      await profiles.put(
        customerId,
        profile
          ? { ...profile, orders: profile.orders + 1, last_order_at: at }
          : {
              customer_id: customerId,
              orders: 1,
              completed: 0,
              cancelled: 0,
              spent: 0,
              first_order_at: at,
              last_order_at: at,
            },
      );
      return;
    }
    const order = await orders.get(orderId);
    if (!order) return; // An order placed before this projection's first event: nothing to count.
    if (event.type === 'order.line-added') {
      const line = event.data as OrderLine;
      await orders.patch(orderId, { total: order.total + line.quantity * line.unitPrice });
      return;
    }
    const profile = await profiles.get(order.customer_id);
    if (!profile) return;
    if (event.type === 'order.completed')
      await profiles.patch(order.customer_id, {
        completed: profile.completed + 1,
        spent: profile.spent + order.total,
      });
    else if (event.type === 'order.cancelled')
      await profiles.patch(order.customer_id, { cancelled: profile.cancelled + 1 });
  },
});
