import type { DocumentsHandle, ProjectionDefinition } from '@causewayjs/core';
import { catalog, catalogProjection } from './catalog-projection.js';
import {
  customerOrders,
  customerProfileProjection,
  customerProfiles,
} from './customer-profile-projection.js';
import { orderHistory, orderHistoryProjection } from './order-history-projection.js';

export {
  catalog,
  catalogProjection,
  customerOrders,
  customerProfileProjection,
  customerProfiles,
  orderHistory,
  orderHistoryProjection,
};

/**
 * The shop's read models: order history, catalog with stock, customer profiles. Each keeps
 * document collections (`DocumentsHandle`), so they run on every backend: memory, SQLite and
 * PostgreSQL.
 */
export const shopProjections: readonly ProjectionDefinition<DocumentsHandle>[] = [
  orderHistoryProjection,
  catalogProjection,
  customerProfileProjection,
];
