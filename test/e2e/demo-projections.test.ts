import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Projector } from '../../src/index.js';
import type { StoreTransaction } from '../../src/store/event-store.js';
import { openStoreContext, type StoreContext } from '../../src/cli/store-context.js';
import { shopProjections } from '../../examples/shop/shop-projections.js';
import { shopSql, type ShopReadModel } from '../../examples/shop/shop-read-model.js';
import type { CatalogRow } from '../../examples/shop/catalog-projection.js';
import type { CustomerProfileRow } from '../../examples/shop/customer-profile-projection.js';
import type { OrderHistoryRow } from '../../examples/shop/order-history-projection.js';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'causeway-shop-rm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pg = await pgAvailable();

/** The shop's events for two products and three orders of two customers. */
async function script(context: StoreContext): Promise<number> {
  const s = context.store;
  // Stock of the mug arrives before the mug is in the catalog.
  await s.append('inventory-mug', [
    { type: 'stock.restocked', data: { sku: 'mug', quantity: 10 } },
  ]);
  await s.append('product-mug', [
    { type: 'product.added', data: { sku: 'mug', name: 'Mug', price: 1400, category: 'kitchen' } },
  ]);
  await s.append('product-tea', [
    { type: 'product.added', data: { sku: 'tea', name: 'Tea', price: 650, category: 'tea' } },
    { type: 'product.price-changed', data: { sku: 'tea', from: 650, to: 700 } },
  ]);
  await s.append('inventory-tea', [{ type: 'stock.restocked', data: { sku: 'tea', quantity: 5 } }]);
  const line = (n: number, sku: string, quantity: number, unitPrice: number) => ({
    line: n,
    sku,
    quantity,
    unitPrice,
  });
  await s.append('order-1', [
    { type: 'order.placed', data: { customerId: 'ada', lines: [line(1, 'mug', 2, 1400)] } },
    { type: 'order.line-added', data: line(2, 'tea', 1, 700) },
  ]);
  await s.append('inventory-mug', [
    { type: 'stock.reserved', data: { sku: 'mug', quantity: 2, orderId: '1' } },
  ]);
  await s.append('inventory-tea', [
    { type: 'stock.reserved', data: { sku: 'tea', quantity: 1, orderId: '1' } },
  ]);
  await s.append('order-1', [
    { type: 'order.confirmed', data: {} },
    { type: 'order.completed', data: { trackingNumber: 'TRK-1' } },
  ]);
  await s.append('inventory-mug', [
    { type: 'stock.committed', data: { sku: 'mug', quantity: 2, orderId: '1' } },
  ]);
  await s.append('inventory-tea', [
    { type: 'stock.committed', data: { sku: 'tea', quantity: 1, orderId: '1' } },
  ]);
  await s.append('order-2', [
    { type: 'order.placed', data: { customerId: 'ada', lines: [line(1, 'tea', 3, 700)] } },
  ]);
  await s.append('inventory-tea', [
    { type: 'stock.reserved', data: { sku: 'tea', quantity: 3, orderId: '2' } },
  ]);
  await s.append('inventory-tea', [
    { type: 'stock.released', data: { sku: 'tea', quantity: 3, orderId: '2' } },
  ]);
  await s.append('order-2', [{ type: 'order.cancelled', data: { reason: 'payment declined' } }]);
  const last = await s.append('order-3', [
    { type: 'order.placed', data: { customerId: 'bob', lines: [line(1, 'mug', 1, 1400)] } },
  ]);
  return last.position;
}

const adapters: [string, boolean, () => Promise<{ url: string; cleanup: () => Promise<void> }>][] =
  [
    [
      'SQLite',
      true,
      () =>
        Promise.resolve({
          url: `sqlite:${join(dir, 'shop.db')}`,
          cleanup: () => Promise.resolve(),
        }),
    ],
    [
      'PostgreSQL',
      pg,
      () => {
        const schema = randomSchemaName();
        return Promise.resolve({
          url: `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=${schema}`,
          cleanup: () => dropSchema(schema),
        });
      },
    ],
  ];

describe.each(adapters)('the shop read models on %s', (_name, available, open) => {
  it.skipIf(!available)(
    'hold the orders, the catalog with stock and the customer profiles',
    async () => {
      const { url, cleanup } = await open();
      const context = await openStoreContext(url);
      const projector = new Projector<StoreTransaction, ShopReadModel>({
        store: (await context.projectionStore()) as never,
        projections: shopProjections,
      });
      try {
        await projector.start();
        const head = await script(context);
        const all = async <T>(name: string, sql: (table: string) => string) =>
          (
            await projector.query(name, (rm) => shopSql(rm).all<T>(sql(rm.table())), {
              minPosition: head,
              timeoutMs: 15_000,
            })
          ).data;

        const orders = await all<OrderHistoryRow>(
          'order-history',
          (t) => `SELECT * FROM ${t} ORDER BY order_id`,
        );
        expect(
          orders.map((o) => [
            o.order_id,
            o.customer_id,
            o.status,
            Number(o.total),
            Number(o.lines),
            o.tracking_number,
            o.cancel_reason,
          ]),
        ).toEqual([
          ['1', 'ada', 'completed', 2 * 1400 + 700, 2, 'TRK-1', null],
          ['2', 'ada', 'cancelled', 3 * 700, 1, null, 'payment declined'],
          ['3', 'bob', 'placed', 1400, 1, null, null],
        ]);

        const catalog = await all<CatalogRow>('catalog', (t) => `SELECT * FROM ${t} ORDER BY sku`);
        expect(
          catalog.map((c) => [
            c.sku,
            c.name,
            c.category,
            Number(c.price),
            c.status,
            Number(c.on_hand),
            Number(c.reserved),
          ]),
        ).toEqual([
          ['mug', 'Mug', 'kitchen', 1400, 'listed', 10 - 2, 0],
          ['tea', 'Tea', 'tea', 700, 'listed', 5 - 1, 0],
        ]);

        const customers = await all<CustomerProfileRow>(
          'customer-profile',
          (t) => `SELECT * FROM ${t} ORDER BY customer_id`,
        );
        expect(
          customers.map((c) => [
            c.customer_id,
            Number(c.orders),
            Number(c.completed),
            Number(c.cancelled),
            Number(c.spent),
          ]),
        ).toEqual([
          ['ada', 2, 1, 1, 2 * 1400 + 700],
          ['bob', 1, 0, 0, 0],
        ]);
      } finally {
        await projector.stop();
        await context.close();
        await cleanup();
      }
    },
  );
});
