/**
 * The order-fulfilment shop: Causeway's worked example, as the `causeway demo` command runs it.
 * @packageDocumentation
 */
export { shopModule } from './shop-module.js';
export type { RebuildResult, ShopModule, ShopRuntime, ShopStartOptions } from './shop-module.js';
export { shopProjections } from './shop-projections.js';
export { startShop } from './start-shop.js';
