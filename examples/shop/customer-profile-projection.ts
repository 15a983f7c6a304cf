import { defineProjection, type RecordedEvent } from '../../src/index.js';
import { orderIdOf, type OrderLine } from './order-decider.js';
import { shopSql, type ShopReadModel } from './shop-read-model.js';

/** One customer as their profile shows them. */
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

/**
 * Customer profiles: orders placed, completed and cancelled, and money spent, per customer.
 * Later order events name only the order, so a second table remembers each order's
 * customer and total.
 */
export const customerProfileProjection = defineProjection<ShopReadModel>({
  name: 'customer-profile',
  version: 1,
  streamPrefix: 'order-',
  handles: ['order.placed', 'order.line-added', 'order.completed', 'order.cancelled'],
  setup: async (rm) => {
    const sql = shopSql(rm);
    await sql.run(
      `CREATE TABLE ${sql.table()} (
         customer_id TEXT PRIMARY KEY, orders INTEGER NOT NULL, completed INTEGER NOT NULL,
         cancelled INTEGER NOT NULL, spent INTEGER NOT NULL,
         first_order_at TEXT NOT NULL, last_order_at TEXT NOT NULL)`,
    );
    await sql.run(
      `CREATE TABLE ${sql.table('orders')} (
         order_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, total INTEGER NOT NULL)`,
    );
  },
  apply: async (event: RecordedEvent, rm) => {
    const sql = shopSql(rm);
    const orderId = orderIdOf(event.stream);
    if (orderId === undefined) return;
    const profiles = sql.table();
    const orders = sql.table('orders');
    if (event.type === 'order.placed') {
      const { customerId, lines } = event.data as { customerId: string; lines: OrderLine[] };
      const total = lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0);
      const at = event.recordedAt.toISOString();
      await sql.run(
        `INSERT INTO ${orders} (order_id, customer_id, total) VALUES (?, ?, ?)
         ON CONFLICT (order_id) DO NOTHING`,
        [orderId, customerId, total],
      );
      await sql.run(
        `INSERT INTO ${profiles} AS p (customer_id, orders, completed, cancelled, spent, first_order_at, last_order_at)
         VALUES (?, 1, 0, 0, 0, ?, ?)
         ON CONFLICT (customer_id) DO UPDATE SET orders = p.orders + 1,
           last_order_at = excluded.last_order_at`,
        [customerId, at, at],
      );
      return;
    }
    const [order] = await sql.all<{ customer_id: string; total: number }>(
      `SELECT customer_id, total FROM ${orders} WHERE order_id = ?`,
      [orderId],
    );
    if (!order) return; // An order placed before this projection's first event: nothing to count.
    if (event.type === 'order.line-added') {
      const line = event.data as OrderLine;
      await sql.run(`UPDATE ${orders} SET total = total + ? WHERE order_id = ?`, [
        line.quantity * line.unitPrice,
        orderId,
      ]);
    } else if (event.type === 'order.completed') {
      await sql.run(
        `UPDATE ${profiles} SET completed = completed + 1, spent = spent + ? WHERE customer_id = ?`,
        [order.total, order.customer_id],
      );
    } else if (event.type === 'order.cancelled') {
      await sql.run(`UPDATE ${profiles} SET cancelled = cancelled + 1 WHERE customer_id = ?`, [
        order.customer_id,
      ]);
    }
  },
});
