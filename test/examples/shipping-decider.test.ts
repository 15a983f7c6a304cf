import { describe, it } from 'vitest';
import { UnknownCommandError, deciderSpecification } from '@causewayjs/core';
import {
  ShippingRuleError,
  shippingDecider,
  type ShippingCommand,
  type ShippingEvent,
} from '../../examples/shop/shipping-decider.js';

const given = deciderSpecification(shippingDecider);
const lines = [{ sku: 'tea', quantity: 2 }];
const create: ShippingCommand = {
  type: 'shipping.create-shipment',
  data: { orderId: 'o1', lines },
};
const created: ShippingEvent = {
  type: 'shipment.created',
  data: { orderId: 'o1', trackingNumber: 'TRK-o1', lines },
};

describe('shipping decider', () => {
  it('creates a shipment with a tracking number derived from the order', async () => {
    await given([]).when(create).then([created]);
  });

  it('creates a shipment once', async () => {
    await given([created]).when(create).thenNothing();
  });

  it('cancels a shipment, and refuses to create it again', async () => {
    const cancelled: ShippingEvent = {
      type: 'shipment.cancelled',
      data: { orderId: 'o1', reason: 'lost' },
    };
    await given([created])
      .when({ type: 'shipping.cancel-shipment', data: { orderId: 'o1', reason: 'lost' } })
      .then([cancelled]);
    await given([created, cancelled]).when(create).thenThrows(ShippingRuleError);
    await given([])
      .when({ type: 'shipping.cancel-shipment', data: { orderId: 'o1', reason: 'x' } })
      .thenNothing();
    await given([created, cancelled])
      .when({ type: 'shipping.cancel-shipment', data: { orderId: 'o1', reason: 'x' } })
      .thenNothing();
  });

  it('refuses shipments without lines or with bad quantities, and unknown commands', async () => {
    await given([])
      .when({ type: 'shipping.create-shipment', data: { orderId: 'o1', lines: [] } })
      .thenThrows(ShippingRuleError);
    await given([])
      .when({
        type: 'shipping.create-shipment',
        data: { orderId: 'o1', lines: [{ sku: 'tea', quantity: 0 }] },
      })
      .thenThrows(ShippingRuleError);
    await given([])
      .when({ type: 'shipping.deliver', data: {} } as unknown as ShippingCommand)
      .thenThrows(UnknownCommandError);
  });
});
