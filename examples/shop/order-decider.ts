import {
  UnknownCommandError,
  type Command,
  type Decider,
  type DomainEvent,
} from '@causewayjs/core';

/** The stream of one order: `order-<orderId>`. */
export function orderStream(orderId: string): string {
  return `order-${orderId}`;
}

/** The order id of an order stream (`order-42` gives `42`); undefined for other streams. */
export function orderIdOf(stream: string): string | undefined {
  return stream.startsWith('order-') && stream.length > 'order-'.length
    ? stream.slice('order-'.length)
    : undefined;
}

/** One line of an order; `line` numbers are 1-based and never reused. */
export interface OrderLine {
  line: number;
  sku: string;
  quantity: number;
  /** Price of one unit, in cents. */
  unitPrice: number;
}

/** What a customer orders, before it has a line number. */
export type NewOrderLine = Omit<OrderLine, 'line'>;

/** The commands an order accepts. */
export type OrderCommand =
  | Command<
      'order.place',
      { customerId: string; lines: NewOrderLine[]; paymentMethod?: string | undefined }
    >
  | Command<'order.add-line', NewOrderLine>
  | Command<'order.pay', { amount: number }>
  | Command<'order.ship', { trackingNumber: string }>
  | Command<'order.confirm', Record<string, never>>
  | Command<'order.complete', { trackingNumber?: string | undefined }>
  | Command<'order.cancel', { reason: string }>;

/** The events an order records. */
export type OrderEvent =
  | DomainEvent<
      'order.placed',
      { customerId: string; lines: OrderLine[]; paymentMethod?: string | undefined }
    >
  | DomainEvent<'order.line-added', OrderLine>
  | DomainEvent<'order.paid', { amount: number }>
  | DomainEvent<'order.shipped', { trackingNumber: string }>
  | DomainEvent<'order.confirmed', Record<string, never>>
  | DomainEvent<'order.completed', { trackingNumber?: string | undefined }>
  | DomainEvent<'order.cancelled', { reason: string }>;

/** Where an order is in its life. */
export type OrderStatus =
  'none' | 'placed' | 'confirmed' | 'paid' | 'shipped' | 'completed' | 'cancelled';

/** An order's state, folded from its events. */
export interface OrderState {
  status: OrderStatus;
  customerId: string | null;
  lines: OrderLine[];
  /** Sum of the lines, in cents. */
  total: number;
}

/** A command that the order's current status does not allow. */
export class OrderStatusError extends Error {
  constructor(
    readonly command: string,
    readonly status: OrderStatus,
  ) {
    super(`Cannot ${command} an order that is ${status === 'none' ? 'not placed' : status}`);
    this.name = 'OrderStatusError';
  }
}

/** A command whose data breaks an order rule (bad quantity, wrong amount...). */
export class OrderRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OrderRuleError';
  }
}

const initialState = (): OrderState => ({ status: 'none', customerId: null, lines: [], total: 0 });

function checkLine(line: NewOrderLine): void {
  if (typeof line.sku !== 'string' || line.sku.length === 0)
    throw new OrderRuleError('A line needs a sku');
  if (!Number.isInteger(line.quantity) || line.quantity < 1) {
    throw new OrderRuleError(`Quantity of ${line.sku} must be a whole number >= 1`);
  }
  if (!Number.isInteger(line.unitPrice) || line.unitPrice < 0) {
    throw new OrderRuleError(`Price of ${line.sku} must be a whole number of cents >= 0`);
  }
}

function requireStatus(command: OrderCommand, state: OrderState, ...allowed: OrderStatus[]): void {
  if (!allowed.includes(state.status)) {
    throw new OrderStatusError(command.type.slice('order.'.length), state.status);
  }
}

/**
 * The order aggregate of the shop example: placed with lines, lines added while unpaid,
 * paid in full, shipped once paid, cancelled before shipping. The fulfilment process
 * (`fulfilment-saga.ts`) confirms a placed order once its payment is authorised and completes
 * it once shipped, or cancels it. Confirming, completing and cancelling again are no-ops, so
 * a retried command is harmless.
 */
export const orderDecider: Decider<OrderCommand, OrderEvent, OrderState> = {
  initialState,

  decide(command, state) {
    switch (command.type) {
      case 'order.place': {
        requireStatus(command, state, 'none');
        if (command.data.lines.length === 0)
          throw new OrderRuleError('An order needs at least one line');
        command.data.lines.forEach(checkLine);
        const lines = command.data.lines.map((line, i) => ({ line: i + 1, ...line }));
        const { customerId, paymentMethod } = command.data;
        return [
          {
            type: 'order.placed',
            data:
              paymentMethod === undefined
                ? { customerId, lines }
                : { customerId, lines, paymentMethod },
          },
        ];
      }
      case 'order.add-line':
        requireStatus(command, state, 'placed');
        checkLine(command.data);
        return [
          { type: 'order.line-added', data: { line: state.lines.length + 1, ...command.data } },
        ];
      case 'order.pay':
        requireStatus(command, state, 'placed');
        if (command.data.amount !== state.total) {
          throw new OrderRuleError(
            `Payment of ${command.data.amount} does not match the total ${state.total}`,
          );
        }
        return [{ type: 'order.paid', data: { amount: command.data.amount } }];
      case 'order.ship':
        if (state.status === 'shipped') return []; // shipping twice is a no-op, not an error
        requireStatus(command, state, 'paid');
        return [{ type: 'order.shipped', data: { trackingNumber: command.data.trackingNumber } }];
      case 'order.confirm':
        if (state.status === 'confirmed') return [];
        requireStatus(command, state, 'placed');
        return [{ type: 'order.confirmed', data: {} }];
      case 'order.complete': {
        if (state.status === 'completed') return [];
        requireStatus(command, state, 'placed', 'confirmed', 'paid', 'shipped');
        const trackingNumber = command.data.trackingNumber;
        return [
          { type: 'order.completed', data: trackingNumber === undefined ? {} : { trackingNumber } },
        ];
      }
      case 'order.cancel':
        if (state.status === 'cancelled') return [];
        requireStatus(command, state, 'placed', 'confirmed', 'paid');
        return [{ type: 'order.cancelled', data: { reason: command.data.reason } }];
      default:
        throw new UnknownCommandError((command as { type: string }).type);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'order.placed': {
        const lines = event.data.lines;
        return { status: 'placed', customerId: event.data.customerId, lines, total: sum(lines) };
      }
      case 'order.line-added': {
        const lines = [...state.lines, event.data];
        return { ...state, lines, total: sum(lines) };
      }
      case 'order.paid':
        return { ...state, status: 'paid' };
      case 'order.shipped':
        return { ...state, status: 'shipped' };
      case 'order.confirmed':
        return { ...state, status: 'confirmed' };
      case 'order.completed':
        return { ...state, status: 'completed' };
      case 'order.cancelled':
        return { ...state, status: 'cancelled' };
      default:
        return state;
    }
  },
};

function sum(lines: readonly OrderLine[]): number {
  return lines.reduce((total, l) => total + l.quantity * l.unitPrice, 0);
}
