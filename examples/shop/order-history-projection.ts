import {
  defineProjection,
  type Documents,
  type DocumentsHandle,
  type RecordedEvent,
} from '@causewayjs/core';
import { orderIdOf, type OrderLine } from './order-decider.js';

/** One order as the order history shows it: a document of the `orders` collection. */
export interface OrderHistoryRow {
  order_id: string;
  customer_id: string;
  status: string;
  /** In cents. */
  total: number;
  lines: number;
  placed_at: string;
  updated_at: string;
  tracking_number: string | null;
  cancel_reason: string | null;
}

/**
 * The fields the order history can be searched and sorted on: orders by status (the demo's
 * counts), a customer's orders, orders by date. The same list where the projection writes
 * (which creates the indexes) and where readers query (which checks against it).
 */
export const ORDER_HISTORY_INDEXES = ['status', 'customer_id', 'placed_at'] as const;

/**
 * The order history's documents, one per order, keyed by order id: what the projection
 * writes and what readers query (`projector.query('order-history', (rm) => orderHistory(rm).find(...))`).
 */
export function orderHistory(rm: DocumentsHandle): Documents<OrderHistoryRow> {
  return rm.documents<OrderHistoryRow>('orders', { indexes: ORDER_HISTORY_INDEXES });
}

/**
 * The order history: one document per order with its status, total and dates, kept from the
 * order streams' events (async, so a slow read model never slows the orders down). Version 2
 * keeps documents (version 1 was SQL tables), so it runs on every backend.
 */
export const orderHistoryProjection = defineProjection<DocumentsHandle>({
  name: 'order-history',
  version: 2,
  streamPrefix: 'order-',
  handles: [
    'order.placed',
    'order.line-added',
    'order.paid',
    'order.confirmed',
    'order.shipped',
    'order.completed',
    'order.cancelled',
  ],
  setup: () => undefined, // The collection is made, with its indexes, by its first write.
  apply: async (event: RecordedEvent, rm) => {
    const orderId = orderIdOf(event.stream);
    if (orderId === undefined) return;
    const orders = orderHistory(rm);
    const at = event.recordedAt.toISOString();
    switch (event.type) {
      case 'order.placed': {
        if ((await orders.get(orderId)) !== undefined) return;
        const { customerId, lines } = event.data as { customerId: string; lines: OrderLine[] };
        await orders.put(orderId, {
          order_id: orderId,
          customer_id: customerId,
          status: 'placed',
          total: lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0),
          lines: lines.length,
          placed_at: at,
          updated_at: at,
          tracking_number: null,
          cancel_reason: null,
        });
        return;
      }
      case 'order.line-added': {
        const order = await orders.get(orderId);
        if (!order) return;
        const line = event.data as OrderLine;
        await orders.patch(orderId, {
          total: order.total + line.quantity * line.unitPrice,
          lines: order.lines + 1,
          updated_at: at,
        });
        return;
      }
      case 'order.shipped':
      case 'order.completed': {
        const tracking = (event.data as { trackingNumber?: string }).trackingNumber;
        await orders.patch(orderId, {
          status: event.type.slice('order.'.length),
          updated_at: at,
          // In a merge patch null removes a member: leave a known tracking number alone.
          ...(tracking === undefined ? {} : { tracking_number: tracking }),
        });
        return;
      }
      case 'order.cancelled':
        await orders.patch(orderId, {
          status: 'cancelled',
          updated_at: at,
          cancel_reason: (event.data as { reason: string }).reason,
        });
        return;
      default:
        await orders.patch(orderId, { status: event.type.slice('order.'.length), updated_at: at });
    }
  },
});
