import {
  UnknownCommandError,
  type Command,
  type Decider,
  type DomainEvent,
} from '@causewayjs/core';

/** The stream of one order's shipment: `shipment-<orderId>`. */
export function shipmentStream(orderId: string): string {
  return `shipment-${orderId}`;
}

/** One line of a shipment. */
export interface ShipmentLine {
  sku: string;
  quantity: number;
}

/** The commands a shipment accepts. */
export type ShippingCommand =
  | Command<'shipping.create-shipment', { orderId: string; lines: ShipmentLine[] }>
  | Command<'shipping.cancel-shipment', { orderId: string; reason: string }>;

/** The events a shipment records. */
export type ShippingEvent =
  | DomainEvent<
      'shipment.created',
      { orderId: string; trackingNumber: string; lines: ShipmentLine[] }
    >
  | DomainEvent<'shipment.cancelled', { orderId: string; reason: string }>;

/** A shipment's state, folded from its events. */
export interface ShipmentState {
  status: 'none' | 'created' | 'cancelled';
  orderId: string | null;
  trackingNumber: string | null;
  lines: ShipmentLine[];
}

/** A shipping command that breaks a rule. */
export class ShippingRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShippingRuleError';
  }
}

/** The tracking number of an order's shipment: derived from the order, so retries agree. */
export function trackingNumberOf(orderId: string): string {
  return `TRK-${orderId}`;
}

/**
 * Shipments of the shop example, one per order. Creating a shipment that exists already is
 * a no-op; a cancelled shipment cannot be created again; cancelling a shipment that does not
 * exist (or no longer) changes nothing.
 */
export const shippingDecider: Decider<ShippingCommand, ShippingEvent, ShipmentState> = {
  initialState: () => ({ status: 'none', orderId: null, trackingNumber: null, lines: [] }),

  decide(command, state) {
    switch (command.type) {
      case 'shipping.create-shipment': {
        const { orderId, lines } = command.data;
        if (typeof orderId !== 'string' || orderId.length === 0)
          throw new ShippingRuleError('An order id is needed');
        if (!Array.isArray(lines) || lines.length === 0)
          throw new ShippingRuleError('A shipment needs at least one line');
        for (const line of lines) {
          if (typeof line.sku !== 'string' || line.sku.length === 0)
            throw new ShippingRuleError('A shipment line needs a sku');
          if (!Number.isInteger(line.quantity) || line.quantity < 1)
            throw new ShippingRuleError(`Quantity of ${line.sku} must be a whole number >= 1`);
        }
        if (state.status === 'created') return [];
        if (state.status === 'cancelled')
          throw new ShippingRuleError('The shipment of this order was cancelled');
        return [
          {
            type: 'shipment.created',
            data: { orderId, trackingNumber: trackingNumberOf(orderId), lines },
          },
        ];
      }
      case 'shipping.cancel-shipment':
        // Nothing to cancel is not an error: the command is a compensation, safe to repeat.
        if (state.status !== 'created') return [];
        return [
          {
            type: 'shipment.cancelled',
            data: { orderId: command.data.orderId, reason: command.data.reason },
          },
        ];
      default:
        throw new UnknownCommandError((command as { type: string }).type);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'shipment.created':
        return {
          status: 'created',
          orderId: event.data.orderId,
          trackingNumber: event.data.trackingNumber,
          lines: event.data.lines,
        };
      case 'shipment.cancelled':
        return { ...state, status: 'cancelled' };
      default:
        return state;
    }
  },
};
