import { defineProjection, type RecordedEvent } from '../../src/index.js';
import type { ProductDetails } from './catalog-decider.js';
import { shopSql, type ShopReadModel } from './shop-read-model.js';

/** One product as the catalog shows it, with its stock. */
export interface CatalogRow {
  sku: string;
  name: string;
  category: string;
  /** In cents. */
  price: number;
  status: string;
  /** Units in the warehouse, reserved or not. */
  on_hand: number;
  /** Units held for orders. */
  reserved: number;
}

/**
 * The catalog with stock: products (name, category, price, listed or discontinued) joined,
 * as events arrive, with their stock on hand and reserved, from both the product and the
 * inventory streams. A stock event may come before its product is added: the row is made
 * with placeholders and filled in when the product arrives.
 */
export const catalogProjection = defineProjection<ShopReadModel>({
  name: 'catalog',
  version: 1,
  handles: [
    'product.added',
    'product.price-changed',
    'product.discontinued',
    'stock.restocked',
    'stock.reserved',
    'stock.released',
    'stock.committed',
  ],
  setup: async (rm) => {
    const sql = shopSql(rm);
    await sql.run(
      `CREATE TABLE ${sql.table()} (
         sku TEXT PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL,
         price INTEGER NOT NULL, status TEXT NOT NULL,
         on_hand INTEGER NOT NULL, reserved INTEGER NOT NULL)`,
    );
  },
  apply: async (event: RecordedEvent, rm) => {
    const sql = shopSql(rm);
    const t = sql.table();
    const data = event.data as { sku: string; quantity?: number };
    // Every stock event needs a row; a product event fills in its details.
    const ensure = () =>
      sql.run(
        `INSERT INTO ${t} (sku, name, category, price, status, on_hand, reserved)
         VALUES (?, ?, '', 0, 'unlisted', 0, 0) ON CONFLICT (sku) DO NOTHING`,
        [data.sku, data.sku],
      );
    switch (event.type) {
      case 'product.added': {
        const p = event.data as ProductDetails;
        await sql.run(
          `INSERT INTO ${t} (sku, name, category, price, status, on_hand, reserved)
           VALUES (?, ?, ?, ?, 'listed', 0, 0)
           ON CONFLICT (sku) DO UPDATE SET name = excluded.name, category = excluded.category,
             price = excluded.price, status = 'listed'`,
          [p.sku, p.name, p.category, p.price],
        );
        return;
      }
      case 'product.price-changed':
        await sql.run(`UPDATE ${t} SET price = ? WHERE sku = ?`, [
          (event.data as { to: number }).to,
          data.sku,
        ]);
        return;
      case 'product.discontinued':
        await sql.run(`UPDATE ${t} SET status = 'discontinued' WHERE sku = ?`, [data.sku]);
        return;
      case 'stock.restocked':
        await ensure();
        await sql.run(`UPDATE ${t} SET on_hand = on_hand + ? WHERE sku = ?`, [
          data.quantity,
          data.sku,
        ]);
        return;
      case 'stock.reserved':
        await ensure();
        await sql.run(`UPDATE ${t} SET reserved = reserved + ? WHERE sku = ?`, [
          data.quantity,
          data.sku,
        ]);
        return;
      case 'stock.released':
        await ensure();
        await sql.run(`UPDATE ${t} SET reserved = reserved - ? WHERE sku = ?`, [
          data.quantity,
          data.sku,
        ]);
        return;
      case 'stock.committed':
        await ensure();
        await sql.run(
          `UPDATE ${t} SET reserved = reserved - ?, on_hand = on_hand - ? WHERE sku = ?`,
          [data.quantity, data.quantity, data.sku],
        );
        return;
    }
  },
});
