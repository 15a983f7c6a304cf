import type { ShopModule } from '../../src/cli/shop-module.js';
import { shopProjections } from './shop-projections.js';
import { startShop } from './start-shop.js';

/** The shop as the `causeway` CLI loads it (`causeway demo`, `serve --shop`, `projections rebuild`). */
export const shopModule: ShopModule = {
  startShop: (options) => startShop(options),
  projections: shopProjections,
};
