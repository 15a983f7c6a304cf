import { describe, it } from 'vitest';
import { InvalidCommandError, UnknownCommandError, deciderSpecification } from '@causewayjs/core';
import {
  OrderRuleError,
  OrderStatusError,
  orderDecider,
  type OrderCommand,
  type OrderEvent,
} from '../../examples/shop/order-decider.js';

const given = deciderSpecification(orderDecider);

const placed: OrderEvent = {
  type: 'order.placed',
  data: { customerId: 'c-7', lines: [{ line: 1, sku: 'tea', quantity: 2, unitPrice: 450 }] },
};
const lineAdded: OrderEvent = {
  type: 'order.line-added',
  data: { line: 2, sku: 'cup', quantity: 1, unitPrice: 1200 },
};
const paid: OrderEvent = { type: 'order.paid', data: { amount: 2100 } };
const shipped: OrderEvent = { type: 'order.shipped', data: { trackingNumber: 'TRK-1' } };
const cancelled: OrderEvent = { type: 'order.cancelled', data: { reason: 'changed mind' } };

describe('order decider', () => {
  describe('order.place', () => {
    it('places a new order, numbering its lines', async () => {
      await given([])
        .when({
          type: 'order.place',
          data: {
            customerId: 'c-7',
            lines: [
              { sku: 'tea', quantity: 2, unitPrice: 450 },
              { sku: 'cup', quantity: 1, unitPrice: 1200 },
            ],
          },
        })
        .then([
          {
            type: 'order.placed',
            data: {
              customerId: 'c-7',
              lines: [
                { line: 1, sku: 'tea', quantity: 2, unitPrice: 450 },
                { line: 2, sku: 'cup', quantity: 1, unitPrice: 1200 },
              ],
            },
          },
        ]);
    });

    it('computes the total of the placed order', async () => {
      await given([])
        .when({
          type: 'order.place',
          data: { customerId: 'c-7', lines: [{ sku: 'tea', quantity: 3, unitPrice: 450 }] },
        })
        .thenState({
          status: 'placed',
          customerId: 'c-7',
          lines: [{ line: 1, sku: 'tea', quantity: 3, unitPrice: 450 }],
          total: 1350,
        });
    });

    it('refuses to place an order twice', async () => {
      await given([placed])
        .when({
          type: 'order.place',
          data: { customerId: 'c-7', lines: [{ sku: 'tea', quantity: 1, unitPrice: 1 }] },
        })
        .thenThrows(OrderStatusError, (e) => (e as OrderStatusError).status === 'placed');
    });

    it('refuses an order without lines', async () => {
      await given([])
        .when({ type: 'order.place', data: { customerId: 'c-7', lines: [] } })
        .thenThrows(OrderRuleError);
    });

    it('refuses a line with a zero quantity', async () => {
      await given([])
        .when({
          type: 'order.place',
          data: { customerId: 'c-7', lines: [{ sku: 'tea', quantity: 0, unitPrice: 450 }] },
        })
        .thenThrows(OrderRuleError, (e) => /Quantity of tea/.test((e as Error).message));
    });
  });

  describe('order.add-line', () => {
    it('adds a line numbered after the existing ones', async () => {
      await given([placed, lineAdded])
        .when({ type: 'order.add-line', data: { sku: 'pot', quantity: 1, unitPrice: 3000 } })
        .then([
          { type: 'order.line-added', data: { line: 3, sku: 'pot', quantity: 1, unitPrice: 3000 } },
        ]);
    });

    it('refuses to add to a paid order', async () => {
      await given([placed, lineAdded, paid])
        .when({ type: 'order.add-line', data: { sku: 'pot', quantity: 1, unitPrice: 3000 } })
        .thenThrows(OrderStatusError);
    });
  });

  describe('order.pay', () => {
    it('takes a payment of the exact total', async () => {
      await given([placed, lineAdded])
        .when({ type: 'order.pay', data: { amount: 2100 } })
        .then([paid]);
    });

    it('refuses a payment that does not match the total', async () => {
      await given([placed, lineAdded])
        .when({ type: 'order.pay', data: { amount: 900 } })
        .thenThrows(OrderRuleError);
    });

    it('refuses to pay an order that was never placed', async () => {
      await given([])
        .when({ type: 'order.pay', data: { amount: 0 } })
        .thenThrows(OrderStatusError);
    });
  });

  describe('order.ship', () => {
    it('ships a paid order', async () => {
      await given([placed, lineAdded, paid])
        .when({ type: 'order.ship', data: { trackingNumber: 'TRK-1' } })
        .then([shipped]);
    });

    it('does nothing when the order has already shipped', async () => {
      await given([placed, lineAdded, paid, shipped])
        .when({ type: 'order.ship', data: { trackingNumber: 'TRK-2' } })
        .thenNothing();
    });

    it('refuses to ship an unpaid order', async () => {
      await given([placed])
        .when({ type: 'order.ship', data: { trackingNumber: 'TRK-1' } })
        .thenThrows(OrderStatusError);
    });
  });

  describe('order.cancel', () => {
    it('cancels a paid order', async () => {
      await given([placed, paid])
        .when({ type: 'order.cancel', data: { reason: 'changed mind' } })
        .then([cancelled]);
    });

    it('refuses to cancel a shipped order', async () => {
      await given([placed, lineAdded, paid, shipped])
        .when({ type: 'order.cancel', data: { reason: 'late' } })
        .thenThrows(OrderStatusError);
    });
  });

  describe('order.confirm, order.complete and cancelling again', () => {
    const confirmed: OrderEvent = { type: 'order.confirmed', data: {} };
    const completed: OrderEvent = { type: 'order.completed', data: { trackingNumber: 'TRK-1' } };

    it('confirms a placed order once', async () => {
      await given([placed]).when({ type: 'order.confirm', data: {} }).then([confirmed]);
      await given([placed, confirmed]).when({ type: 'order.confirm', data: {} }).thenNothing();
      await given([]).when({ type: 'order.confirm', data: {} }).thenThrows(OrderStatusError);
    });

    it('completes a confirmed order once, and never a cancelled one', async () => {
      await given([placed, confirmed])
        .when({ type: 'order.complete', data: { trackingNumber: 'TRK-1' } })
        .then([completed]);
      await given([placed, confirmed, completed])
        .when({ type: 'order.complete', data: {} })
        .thenNothing();
      await given([placed, cancelled])
        .when({ type: 'order.complete', data: {} })
        .thenThrows(OrderStatusError, (e) => (e as OrderStatusError).status === 'cancelled');
    });

    it('cancels a confirmed order; cancelling again is a no-op; a completed order stays', async () => {
      await given([placed, confirmed])
        .when({ type: 'order.cancel', data: { reason: 'changed mind' } })
        .then([cancelled]);
      await given([placed, cancelled])
        .when({ type: 'order.cancel', data: { reason: 'again' } })
        .thenNothing();
      await given([placed, confirmed, completed])
        .when({ type: 'order.cancel', data: { reason: 'late' } })
        .thenThrows(OrderStatusError);
    });
  });

  describe('bad commands', () => {
    it('refuses an unknown command type', async () => {
      await given([placed])
        .when({ type: 'order.refund', data: {} } as unknown as OrderCommand)
        .thenThrows(
          UnknownCommandError,
          (e) => (e as UnknownCommandError).commandType === 'order.refund',
        );
    });

    it('refuses a command without a type', async () => {
      await given([])
        .when({ data: {} } as unknown as OrderCommand)
        .thenThrows(InvalidCommandError);
    });
  });
});
