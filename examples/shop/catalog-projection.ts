import {
  defineProjection,
  type Documents,
  type DocumentsHandle,
  type RecordedEvent,
} from '@causewayjs/core';
import type { ProductDetails } from './catalog-decider.js';

/** One product as the catalog shows it, with its stock: a document of the `products` collection. */
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
 * The fields the catalog can be searched and sorted on besides the sku (the document id):
 * a category's products, the listed (or discontinued) ones.
 */
export const CATALOG_INDEXES = ['category', 'status'] as const;

/**
 * The catalog's documents, one per product, keyed by sku: what the projection writes and
 * what readers query (`projector.query('catalog', (rm) => catalog(rm).get('mug'))`).
 */
export function catalog(rm: DocumentsHandle): Documents<CatalogRow> {
  return rm.documents<CatalogRow>('products', { indexes: CATALOG_INDEXES });
}

/**
 * The catalog with stock: products (name, category, price, listed or discontinued) joined,
 * as events arrive, with their stock on hand and reserved, from both the product and the
 * inventory streams. A stock event may come before its product is added: the document is
 * made with placeholders and filled in when the product arrives. Version 2 keeps documents
 * (version 1 was SQL tables), so it runs on every backend.
 */
export const catalogProjection = defineProjection<DocumentsHandle>({
  name: 'catalog',
  version: 2,
  handles: [
    'product.added',
    'product.price-changed',
    'product.discontinued',
    'stock.restocked',
    'stock.reserved',
    'stock.released',
    'stock.committed',
  ],
  setup: () => undefined, // The collection is made, with its indexes, by its first write.
  apply: async (event: RecordedEvent, rm) => {
    const products = catalog(rm);
    const { sku, quantity = 0 } = event.data as { sku: string; quantity?: number };
    /** Changes the stock of `sku`, making a placeholder product if none is there yet. */
    const stock = async (change: { on_hand?: number; reserved?: number }) => {
      const product = (await products.get(sku)) ?? {
        sku,
        name: sku,
        category: '',
        price: 0,
        status: 'unlisted',
        on_hand: 0,
        reserved: 0,
      };
      await products.put(sku, {
        ...product,
        on_hand: product.on_hand + (change.on_hand ?? 0),
        reserved: product.reserved + (change.reserved ?? 0),
      });
    };
    switch (event.type) {
      case 'product.added': {
        const p = event.data as ProductDetails;
        const details = { name: p.name, category: p.category, price: p.price, status: 'listed' };
        const existing = await products.get(p.sku);
        await products.put(
          p.sku,
          existing
            ? { ...existing, ...details }
            : { sku: p.sku, ...details, on_hand: 0, reserved: 0 },
        );
        return;
      }
      case 'product.price-changed':
        await products.patch(sku, { price: (event.data as { to: number }).to });
        return;
      case 'product.discontinued':
        await products.patch(sku, { status: 'discontinued' });
        return;
      case 'stock.restocked':
        return stock({ on_hand: quantity });
      case 'stock.reserved':
        return stock({ reserved: quantity });
      case 'stock.released':
        return stock({ reserved: -quantity });
      case 'stock.committed':
        return stock({ reserved: -quantity, on_hand: -quantity });
    }
  },
});
