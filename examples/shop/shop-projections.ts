import { catalogProjection } from './catalog-projection.js';
import { customerProfileProjection } from './customer-profile-projection.js';
import { orderHistoryProjection } from './order-history-projection.js';

export { catalogProjection, customerProfileProjection, orderHistoryProjection };

/** The shop's read models: order history, catalog with stock, customer profiles. */
export const shopProjections = [
  orderHistoryProjection,
  catalogProjection,
  customerProfileProjection,
];
