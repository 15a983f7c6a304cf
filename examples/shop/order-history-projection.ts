import { defineProjection, type RecordedEvent } from '../../src/index.js';
import { orderIdOf, type OrderLine } from './order-decider.js';
import { shopSql, type ShopReadModel } from './shop-read-model.js';

/** One order as the order history shows it. */
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
 * The order history: one row per order with its status, total and dates, kept from the
 * order streams' events (async, so a slow read model never slows the orders down).
 */
export const orderHistoryProjection = defineProjection<ShopReadModel>({
  name: 'order-history',
  version: 1,
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
  setup: async (rm) => {
    const sql = shopSql(rm);
    await sql.run(
      `CREATE TABLE ${sql.table()} (
         order_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, status TEXT NOT NULL,
         total INTEGER NOT NULL, lines INTEGER NOT NULL, placed_at TEXT NOT NULL,
         updated_at TEXT NOT NULL, tracking_number TEXT, cancel_reason TEXT)`,
    );
  },
  apply: async (event: RecordedEvent, rm) => {
    const sql = shopSql(rm);
    const orderId = orderIdOf(event.stream);
    if (orderId === undefined) return;
    const at = event.recordedAt.toISOString();
    const t = sql.table();
    switch (event.type) {
      case 'order.placed': {
        const { customerId, lines } = event.data as { customerId: string; lines: OrderLine[] };
        const total = lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0);
        await sql.run(
          `INSERT INTO ${t} (order_id, customer_id, status, total, lines, placed_at, updated_at)
           VALUES (?, ?, 'placed', ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING`,
          [orderId, customerId, total, lines.length, at, at],
        );
        return;
      }
      case 'order.line-added': {
        const line = event.data as OrderLine;
        await sql.run(
          `UPDATE ${t} SET total = total + ?, lines = lines + 1, updated_at = ? WHERE order_id = ?`,
          [line.quantity * line.unitPrice, at, orderId],
        );
        return;
      }
      case 'order.shipped':
      case 'order.completed': {
        const tracking = (event.data as { trackingNumber?: string }).trackingNumber ?? null;
        await sql.run(
          `UPDATE ${t} SET status = ?, updated_at = ?,
             tracking_number = COALESCE(?, tracking_number) WHERE order_id = ?`,
          [event.type.slice('order.'.length), at, tracking, orderId],
        );
        return;
      }
      case 'order.cancelled':
        await sql.run(
          `UPDATE ${t} SET status = 'cancelled', updated_at = ?, cancel_reason = ? WHERE order_id = ?`,
          [at, (event.data as { reason: string }).reason, orderId],
        );
        return;
      default:
        await sql.run(`UPDATE ${t} SET status = ?, updated_at = ? WHERE order_id = ?`, [
          event.type.slice('order.'.length),
          at,
          orderId,
        ]);
    }
  },
});
