import type { ProductDetails } from './catalog-decider.js';

/** The products the demo shop sells (prices in cents). */
export const SHOP_PRODUCTS: readonly ProductDetails[] = [
  { sku: 'tea-earl-grey', name: 'Earl Grey tea, 100 g', price: 650, category: 'tea' },
  { sku: 'tea-sencha', name: 'Sencha green tea, 100 g', price: 890, category: 'tea' },
  { sku: 'tea-rooibos', name: 'Rooibos, 100 g', price: 550, category: 'tea' },
  { sku: 'coffee-espresso', name: 'Espresso beans, 250 g', price: 1190, category: 'coffee' },
  { sku: 'coffee-filter', name: 'Filter coffee, 250 g', price: 990, category: 'coffee' },
  { sku: 'mug-stoneware', name: 'Stoneware mug', price: 1400, category: 'kitchen' },
  { sku: 'teapot-glass', name: 'Glass teapot, 1 l', price: 2900, category: 'kitchen' },
  { sku: 'grinder-hand', name: 'Hand grinder', price: 4500, category: 'kitchen' },
];

/** Units each product is stocked with at start, and topped up to by the traffic generator. */
export const INITIAL_STOCK = 40;
