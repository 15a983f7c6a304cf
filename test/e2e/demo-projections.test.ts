import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineProjection, Projector, type DocumentsHandle } from '@causewayjs/core';
import { openStoreContext, type StoreContext } from '@causewayjs/cli';
import {
  catalog,
  customerProfiles,
  orderHistory,
  shopProjections,
} from '../../examples/shop/shop-projections.js';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import { cli, jsonLines } from '../cli/cli-harness.js';

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
    ['memory', true, () => Promise.resolve({ url: 'memory:', cleanup: () => Promise.resolve() })],
    [
      'SQLite',
      true,
      () =>
        Promise.resolve({
          url: `sqlite:${join(dir, `shop-${randomSchemaName()}.db`)}`,
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

/** Every document of a query's page, as `[id, document]`. */
const entries = <T>(page: { items: { id: string; document: T }[] }) =>
  page.items.map((i): [string, T] => [i.id, i.document]);

describe.each(adapters)('the shop read models on %s', (_name, available, open) => {
  it.skipIf(!available)(
    'hold the orders, the catalog with stock and the customer profiles, as documents',
    async () => {
      const { url, cleanup } = await open();
      const context = await openStoreContext(url);
      // No cast: the backend's projection store serves the shop's document projections.
      const projector = new Projector({
        store: await context.projectionStore(),
        projections: shopProjections,
      });
      try {
        await projector.start();
        const head = await script(context);
        const query = async <T>(name: string, read: (rm: DocumentsHandle) => Promise<T>) => {
          const result = await projector.query(name, read, {
            minPosition: head,
            timeoutMs: 15_000,
          });
          expect(result.version).toBe(2);
          return result.data;
        };

        const orders = await query('order-history', (rm) => orderHistory(rm).find());
        expect(
          entries(orders).map(([id, o]) => [
            id,
            o.order_id,
            o.customer_id,
            o.status,
            o.total,
            o.lines,
            o.tracking_number,
            o.cancel_reason,
          ]),
        ).toEqual([
          ['1', '1', 'ada', 'completed', 2 * 1400 + 700, 2, 'TRK-1', null],
          ['2', '2', 'ada', 'cancelled', 3 * 700, 1, null, 'payment declined'],
          ['3', '3', 'bob', 'placed', 1400, 1, null, null],
        ]);
        // The indexed searches: by status, by customer (newest first), counts.
        const adas = await query('order-history', (rm) =>
          orderHistory(rm).find({
            where: { customer_id: 'ada' },
            orderBy: { field: 'placed_at', direction: 'desc' },
          }),
        );
        expect(entries(adas).map(([id]) => id)).toEqual(['2', '1']);
        expect(
          await query('order-history', async (rm) => [
            await orderHistory(rm).count({ status: 'placed' }),
            await orderHistory(rm).count({ status: { in: ['completed', 'cancelled'] } }),
            await orderHistory(rm).count(),
          ]),
        ).toEqual([1, 2, 3]);

        const products = await query('catalog', (rm) => catalog(rm).find());
        expect(
          entries(products).map(([sku, c]) => [
            sku,
            c.sku,
            c.name,
            c.category,
            c.price,
            c.status,
            c.on_hand,
            c.reserved,
          ]),
        ).toEqual([
          ['mug', 'mug', 'Mug', 'kitchen', 1400, 'listed', 10 - 2, 0],
          ['tea', 'tea', 'Tea', 'tea', 700, 'listed', 5 - 1, 0],
        ]);
        const kitchen = await query('catalog', (rm) =>
          catalog(rm).find({ where: { category: 'kitchen', status: 'listed' } }),
        );
        expect(entries(kitchen).map(([sku]) => sku)).toEqual(['mug']);

        const customers = await query('customer-profile', (rm) => customerProfiles(rm).find());
        expect(
          entries(customers).map(([id, c]) => [
            id,
            c.customer_id,
            c.orders,
            c.completed,
            c.cancelled,
            c.spent,
          ]),
        ).toEqual([
          ['ada', 'ada', 2, 1, 1, 2 * 1400 + 700],
          ['bob', 'bob', 1, 0, 0, 0],
        ]);
        const best = await query('customer-profile', (rm) =>
          customerProfiles(rm).find({ orderBy: { field: 'spent', direction: 'desc' }, limit: 1 }),
        );
        expect(entries(best).map(([id]) => id)).toEqual(['ada']);
        expect(
          await query('customer-profile', (rm) => customerProfiles(rm).get('bob')),
        ).toMatchObject({ orders: 1, spent: 0 });
      } finally {
        await projector.stop();
        await context.close();
        await cleanup();
      }
    },
  );

  it.skipIf(!available)(
    'roll out version 2 beside the serving version 1, which it replaces once caught up',
    async () => {
      const { url, cleanup } = await open();
      const context = await openStoreContext(url);
      // Version 1 stands for the read models of an earlier release (the SQL tables).
      const earlier = shopProjections.map((p) =>
        defineProjection<DocumentsHandle>({
          name: p.name,
          version: 1,
          handles: p.handles,
          setup: () => undefined,
          apply: async (event, rm) => {
            await rm.documents('seen').put(String(event.position), {});
          },
        }),
      );
      const before = new Projector({
        store: await context.projectionStore(),
        projections: earlier,
      });
      const after = new Projector({
        store: await context.projectionStore(),
        projections: shopProjections,
      });
      try {
        await before.start();
        const head = await script(context);
        await before.waitFor('order-history', head, { timeoutMs: 15_000 });
        await before.stop();

        await after.start();
        for (const name of ['order-history', 'catalog', 'customer-profile'])
          await after.switched(name, { timeoutMs: 15_000 });
        const { data, version } = await after.query('order-history', (rm) =>
          orderHistory(rm).count(),
        );
        expect({ data, version }).toEqual({ data: 3, version: 2 });
        expect((await after.statuses()).map((s) => [s.name, s.version])).toEqual([
          ['order-history', 2],
          ['catalog', 2],
          ['customer-profile', 2],
        ]);
      } finally {
        await after.stop();
        await before.stop();
        await context.close();
        await cleanup();
      }
    },
  );
});

describe('causeway demo --store memory:', () => {
  it('runs the shop in memory, its orders reaching the order history', async () => {
    const run = await cli([
      'demo',
      '--store',
      'memory:',
      '--port',
      '0',
      '--rate',
      '5',
      '--duration',
      '3',
      '--payment-failure-rate',
      '0',
      '--seed',
      '1',
      '--status-every',
      '0',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = jsonLines(run.stdout) as Record<string, unknown>[];
    expect(lines[0]).toMatchObject({ event: 'started', parts: { projections: 'running' } });
    // The counts come from the order history: every order placed is there, completed.
    const last = lines[lines.length - 1] as {
      counts: { total: number; completed: number; cancelled: number };
      traffic: { placed: number };
    };
    expect(last.counts.total).toBeGreaterThan(0);
    expect(last.counts.total).toBe(last.traffic.placed);
    expect(last.counts.completed).toBe(last.counts.total);
  });
});
