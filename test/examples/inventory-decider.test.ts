import { describe, expect, it } from 'vitest';
import { UnknownCommandError, deciderSpecification, fold } from '@causewayjs/core';
import {
  InventoryRuleError,
  availableStock,
  inventoryDecider,
  type InventoryCommand,
  type InventoryEvent,
} from '../../examples/shop/inventory-decider.js';

const given = deciderSpecification(inventoryDecider);
const restocked: InventoryEvent = { type: 'stock.restocked', data: { sku: 'tea', quantity: 5 } };
const reservedA: InventoryEvent = {
  type: 'stock.reserved',
  data: { sku: 'tea', quantity: 3, orderId: 'a' },
};

describe('inventory decider', () => {
  it('restocks and reserves what is available', async () => {
    await given([restocked])
      .when({ type: 'inventory.reserve', data: { sku: 'tea', quantity: 3, orderId: 'a' } })
      .then([reservedA]);
    expect(availableStock(fold(inventoryDecider, [restocked, reservedA]))).toBe(2);
  });

  it('records a shortage when more is asked than is available', async () => {
    await given([restocked, reservedA])
      .when({ type: 'inventory.reserve', data: { sku: 'tea', quantity: 3, orderId: 'b' } })
      .then([
        { type: 'stock.shortage', data: { sku: 'tea', orderId: 'b', requested: 3, available: 2 } },
      ]);
    // The shortage holds nothing back.
    await given([restocked, reservedA])
      .when({ type: 'inventory.reserve', data: { sku: 'tea', quantity: 3, orderId: 'b' } })
      .thenState({ sku: 'tea', onHand: 5, reservations: [{ orderId: 'a', quantity: 3 }] });
  });

  it('reserves for an order whose id names an object property like any other', async () => {
    for (const orderId of ['constructor', '__proto__', 'toString', 'hasOwnProperty'])
      await given([restocked])
        .when({ type: 'inventory.reserve', data: { sku: 'tea', quantity: 1, orderId } })
        .then([{ type: 'stock.reserved', data: { sku: 'tea', quantity: 1, orderId } }]);
  });

  it('reserves once per order', async () => {
    await given([restocked, reservedA])
      .when({ type: 'inventory.reserve', data: { sku: 'tea', quantity: 3, orderId: 'a' } })
      .thenNothing();
  });

  it('releases a reservation, and ignores releasing one that is not there', async () => {
    await given([restocked, reservedA])
      .when({ type: 'inventory.release', data: { sku: 'tea', orderId: 'a' } })
      .then([{ type: 'stock.released', data: { sku: 'tea', quantity: 3, orderId: 'a' } }]);
    await given([restocked, reservedA])
      .when({ type: 'inventory.release', data: { sku: 'tea', orderId: 'a' } })
      .thenState({ sku: 'tea', onHand: 5, reservations: [] });
    await given([restocked])
      .when({ type: 'inventory.release', data: { sku: 'tea', orderId: 'zz' } })
      .thenNothing();
  });

  it('commits a reservation: the units leave the warehouse', async () => {
    await given([restocked, reservedA])
      .when({ type: 'inventory.commit', data: { sku: 'tea', orderId: 'a' } })
      .thenState({ sku: 'tea', onHand: 2, reservations: [] });
  });

  it('refuses bad quantities, another sku and missing order ids', async () => {
    await given([])
      .when({ type: 'inventory.restock', data: { sku: 'tea', quantity: 0 } })
      .thenThrows(InventoryRuleError);
    await given([restocked])
      .when({ type: 'inventory.reserve', data: { sku: 'cup', quantity: 1, orderId: 'a' } })
      .thenThrows(InventoryRuleError, (e) => /holds the stock of tea/.test((e as Error).message));
    await given([restocked])
      .when({ type: 'inventory.reserve', data: { sku: 'tea', quantity: 1, orderId: '' } })
      .thenThrows(InventoryRuleError);
    await given([])
      .when({ type: 'inventory.count', data: {} } as unknown as InventoryCommand)
      .thenThrows(UnknownCommandError);
  });
});
