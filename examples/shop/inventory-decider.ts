import {
  UnknownCommandError,
  type Command,
  type Decider,
  type DomainEvent,
} from '@causewayjs/core';

/** The stream of one product's stock: `inventory-<sku>`. */
export function inventoryStream(sku: string): string {
  return `inventory-${sku}`;
}

/** The commands the inventory accepts (one product's stock per stream). */
export type InventoryCommand =
  | Command<'inventory.restock', { sku: string; quantity: number }>
  | Command<'inventory.reserve', { sku: string; quantity: number; orderId: string }>
  | Command<'inventory.release', { sku: string; orderId: string }>
  | Command<'inventory.commit', { sku: string; orderId: string }>;

/** The events the inventory records. */
export type InventoryEvent =
  | DomainEvent<'stock.restocked', { sku: string; quantity: number }>
  | DomainEvent<'stock.reserved', { sku: string; quantity: number; orderId: string }>
  | DomainEvent<
      'stock.shortage',
      { sku: string; orderId: string; requested: number; available: number }
    >
  | DomainEvent<'stock.released', { sku: string; quantity: number; orderId: string }>
  | DomainEvent<'stock.committed', { sku: string; quantity: number; orderId: string }>;

/** One product's stock, folded from its events. */
export interface StockState {
  sku: string | null;
  /** Units in the warehouse, reserved or not. */
  onHand: number;
  /**
   * Units held for orders, one entry per order, oldest first. A list, not an object keyed by
   * order id: every event folds into a new state, and copying a list is cheap where copying an
   * object with hundreds of distinct keys is not (and no order id can collide with an
   * object's own properties).
   */
  reservations: Reservation[];
}

/** Units held for one order. */
export interface Reservation {
  orderId: string;
  quantity: number;
}

/** Units on hand that no order holds. */
export function availableStock(state: StockState): number {
  let held = 0;
  for (const r of state.reservations) held += r.quantity;
  return state.onHand - held;
}

/** The units held for `orderId`, or undefined when it holds none. */
function reservedFor(state: StockState, orderId: string): number | undefined {
  for (const r of state.reservations) if (r.orderId === orderId) return r.quantity;
  return undefined;
}

/** An inventory command that breaks a rule (bad quantity, another product's sku...). */
export class InventoryRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InventoryRuleError';
  }
}

function checkQuantity(quantity: unknown): asserts quantity is number {
  if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1)
    throw new InventoryRuleError('A quantity must be a whole number >= 1');
}

function checkSku(sku: unknown, state: StockState): asserts sku is string {
  if (typeof sku !== 'string' || sku.length === 0) throw new InventoryRuleError('A sku is needed');
  if (state.sku !== null && state.sku !== sku)
    throw new InventoryRuleError(`This stream holds the stock of ${state.sku}, not ${sku}`);
}

/**
 * The stock of one product in the shop example. Orders reserve units; a reservation that
 * asks for more than is available is not an error of the command but a business outcome,
 * recorded as `stock.shortage` so the order's process can react to it. Reserving twice for
 * the same order, and releasing or committing a reservation that is not there, change nothing
 * (compensations and retries are then harmless).
 */
export const inventoryDecider: Decider<InventoryCommand, InventoryEvent, StockState> = {
  initialState: () => ({ sku: null, onHand: 0, reservations: [] }),

  decide(command, state) {
    switch (command.type) {
      case 'inventory.restock':
        checkSku(command.data.sku, state);
        checkQuantity(command.data.quantity);
        return [
          {
            type: 'stock.restocked',
            data: { sku: command.data.sku, quantity: command.data.quantity },
          },
        ];
      case 'inventory.reserve': {
        const { sku, quantity, orderId } = command.data;
        checkSku(sku, state);
        checkQuantity(quantity);
        checkOrder(orderId);
        if (reservedFor(state, orderId) !== undefined) return [];
        const available = availableStock(state);
        if (quantity > available) {
          return [
            { type: 'stock.shortage', data: { sku, orderId, requested: quantity, available } },
          ];
        }
        return [{ type: 'stock.reserved', data: { sku, quantity, orderId } }];
      }
      case 'inventory.release':
      case 'inventory.commit': {
        const { sku, orderId } = command.data;
        checkSku(sku, state);
        checkOrder(orderId);
        const quantity = reservedFor(state, orderId);
        if (quantity === undefined) return [];
        const type = command.type === 'inventory.release' ? 'stock.released' : 'stock.committed';
        return [{ type, data: { sku, quantity, orderId } }];
      }
      default:
        throw new UnknownCommandError((command as { type: string }).type);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'stock.restocked':
        return { ...state, sku: event.data.sku, onHand: state.onHand + event.data.quantity };
      case 'stock.reserved':
        return {
          ...state,
          sku: event.data.sku,
          reservations: [
            ...state.reservations,
            { orderId: event.data.orderId, quantity: event.data.quantity },
          ],
        };
      case 'stock.released':
      case 'stock.committed': {
        const orderId = event.data.orderId;
        const reservations = state.reservations.filter((r) => r.orderId !== orderId);
        const onHand =
          event.type === 'stock.committed' ? state.onHand - event.data.quantity : state.onHand;
        return { ...state, onHand, reservations };
      }
      case 'stock.shortage':
        return { ...state, sku: event.data.sku };
      default:
        return state;
    }
  },
};

function checkOrder(orderId: unknown): asserts orderId is string {
  if (typeof orderId !== 'string' || orderId.length === 0)
    throw new InventoryRuleError('An order id is needed');
}
