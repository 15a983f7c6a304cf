import {
  InProcessCommandDispatcher,
  deciderCommandHandler,
  defineSaga,
  schedule,
  type CommandEnvelope,
  type EventStore,
  type OutgoingCommand,
  type RecordedEvent,
  type SagaDefinition,
} from '@causewayjs/core';
import { catalogDecider, productStream } from './catalog-decider.js';
import { inventoryDecider, inventoryStream } from './inventory-decider.js';
import { orderDecider, orderIdOf, orderStream, type OrderLine } from './order-decider.js';
import { createPaymentDecider, paymentStream, type DeclinePolicy } from './payment-decider.js';
import { shipmentStream, shippingDecider } from './shipping-decider.js';

/** Name of the fulfilment saga (and, prefixed `saga:`, of its subscription). */
export const FULFILMENT_SAGA = 'order-fulfilment';

/** Default time to wait for a payment answer before giving up on the order. */
export const DEFAULT_PAYMENT_TIMEOUT_MS = 30_000;

/** Units of one product an order needs. */
export interface StockNeed {
  sku: string;
  quantity: number;
}

/** The state of one order's fulfilment. */
export interface FulfilmentState {
  orderId: string;
  customerId: string;
  /** Units per product, one entry per sku. */
  needs: StockNeed[];
  total: number;
  paymentMethod: string | null;
  /** Skus whose stock is reserved. */
  reserved: string[];
  paymentDeclined: boolean;
  trackingNumber: string | null;
  /** Why it is being compensated, once it is. */
  failure: string | null;
}

/** The steps of the fulfilment, in order. */
export const FulfilmentStep = {
  placed: 'order-placed',
  reserving: 'reserving-stock',
  authorising: 'authorising-payment',
  shipping: 'shipping',
  completing: 'completing',
} as const;

/** Options of {@link createFulfilmentSaga}. */
export interface FulfilmentSagaOptions {
  /** How long to wait for the payment's answer, in ms. Default {@link DEFAULT_PAYMENT_TIMEOUT_MS}. */
  paymentTimeoutMs?: number;
  /** The saga's name. Default {@link FULFILMENT_SAGA}. */
  name?: string;
}

/** The timer that fires when the payment did not answer in time. */
export const PAYMENT_TIMED_OUT = 'payment.timed-out';

/**
 * The order-fulfilment process of the shop: `order.placed` → reserve stock (one
 * `inventory.reserve` per product) → authorise the payment (with a timeout) → confirm the order
 * and create the shipment → capture the payment, commit the stock and complete the order.
 *
 * A stock shortage, a declined payment, no payment answer within `paymentTimeoutMs`, a
 * rejected command or the order cancelled from outside fail it: the steps taken are undone in
 * reverse order (cancel the shipment, void the payment, release the stock, cancel the order)
 * and it ends `compensated`.
 */
export function createFulfilmentSaga(
  options: FulfilmentSagaOptions = {},
): SagaDefinition<FulfilmentState> {
  const paymentTimeoutMs = options.paymentTimeoutMs ?? DEFAULT_PAYMENT_TIMEOUT_MS;
  if (!Number.isSafeInteger(paymentTimeoutMs) || paymentTimeoutMs < 1)
    throw new RangeError('paymentTimeoutMs must be an integer >= 1');
  return defineSaga<FulfilmentState>({
    name: options.name ?? FULFILMENT_SAGA,
    startsWith: ['order.placed'],
    handles: [
      'stock.reserved',
      'stock.shortage',
      'payment.authorised',
      'payment.declined',
      'shipment.created',
      'order.completed',
      'order.cancelled',
    ],
    initialStep: FulfilmentStep.placed,
    correlate: (event) =>
      event.type.startsWith('order.') ? orderIdOf(event.stream) : orderIdIn(event),

    start(event, { id }) {
      const data = event.data as { customerId: string; lines: OrderLine[]; paymentMethod?: string };
      const needs = needsOf(data.lines);
      const state: FulfilmentState = {
        orderId: id,
        customerId: data.customerId,
        needs,
        total: data.lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0),
        paymentMethod: data.paymentMethod ?? null,
        reserved: [],
        paymentDeclined: false,
        trackingNumber: null,
        failure: null,
      };
      return {
        state,
        step: FulfilmentStep.reserving,
        send: needs.map((n) => ({
          type: 'inventory.reserve',
          data: { sku: n.sku, quantity: n.quantity, orderId: id },
        })),
      };
    },

    on(event, { state, step, now }) {
      switch (event.type) {
        case 'stock.reserved': {
          if (step !== FulfilmentStep.reserving) return undefined;
          const sku = (event.data as { sku: string }).sku;
          if (state.reserved.includes(sku) || !state.needs.some((n) => n.sku === sku))
            return undefined;
          const reserved = [...state.reserved, sku];
          if (reserved.length < state.needs.length) return { state: { ...state, reserved } };
          return {
            state: { ...state, reserved },
            step: FulfilmentStep.authorising,
            send: [
              {
                type: 'payment.authorise',
                data: {
                  orderId: state.orderId,
                  amount: state.total,
                  ...(state.paymentMethod === null ? {} : { method: state.paymentMethod }),
                },
              },
            ],
            schedule: [schedule({ type: PAYMENT_TIMED_OUT }, now + paymentTimeoutMs)],
          };
        }
        case 'stock.shortage': {
          if (step !== FulfilmentStep.reserving) return undefined;
          const { sku, requested, available } = event.data as {
            sku: string;
            requested: number;
            available: number;
          };
          const failure = `stock of ${sku} is short: ${requested} asked, ${available} available`;
          return { state: { ...state, failure }, fail: failure };
        }
        case 'payment.authorised':
          if (step !== FulfilmentStep.authorising) return undefined;
          return {
            step: FulfilmentStep.shipping,
            cancelTimers: [PAYMENT_TIMED_OUT],
            send: [
              { type: 'order.confirm', data: { orderId: state.orderId } },
              {
                type: 'shipping.create-shipment',
                data: {
                  orderId: state.orderId,
                  lines: state.needs.map((n) => ({ sku: n.sku, quantity: n.quantity })),
                },
              },
            ],
          };
        case 'payment.declined': {
          if (step !== FulfilmentStep.authorising) return undefined;
          const failure = `payment declined: ${(event.data as { reason: string }).reason}`;
          return { state: { ...state, paymentDeclined: true, failure }, fail: failure };
        }
        case 'shipment.created': {
          if (step !== FulfilmentStep.shipping) return undefined;
          const trackingNumber = (event.data as { trackingNumber: string }).trackingNumber;
          return {
            state: { ...state, trackingNumber },
            step: FulfilmentStep.completing,
            send: [
              { type: 'payment.capture', data: { orderId: state.orderId } },
              ...state.needs.map((n) => ({
                type: 'inventory.commit',
                data: { sku: n.sku, orderId: state.orderId },
              })),
              { type: 'order.complete', data: { orderId: state.orderId, trackingNumber } },
            ],
          };
        }
        case 'order.completed':
          if (step !== FulfilmentStep.completing) return undefined;
          return { complete: true };
        case 'order.cancelled': {
          const failure = 'the order was cancelled';
          return { state: { ...state, failure }, fail: failure };
        }
        default:
          return undefined;
      }
    },

    onTimer(timer, { state, step }) {
      if (timer.type !== PAYMENT_TIMED_OUT || step !== FulfilmentStep.authorising) return undefined;
      const failure = `no payment answer within ${paymentTimeoutMs} ms`;
      return { state: { ...state, failure }, fail: failure };
    },

    steps: {
      [FulfilmentStep.placed]: {
        compensate: (state, { reason }) => [
          { type: 'order.cancel', data: { orderId: state.orderId, reason } },
        ],
      },
      [FulfilmentStep.reserving]: {
        // Every product, reserved or not yet: releasing what was never reserved changes nothing,
        // and a reservation still on its way is released after it (commands go in order).
        compensate: (state) =>
          [...state.needs].reverse().map((n) => ({
            type: 'inventory.release',
            data: { sku: n.sku, orderId: state.orderId },
          })),
      },
      [FulfilmentStep.authorising]: {
        compensate: (state, { reason }): OutgoingCommand[] =>
          state.paymentDeclined
            ? []
            : [{ type: 'payment.void', data: { orderId: state.orderId, reason } }],
      },
      [FulfilmentStep.shipping]: {
        compensate: (state, { reason }) => [
          { type: 'shipping.cancel-shipment', data: { orderId: state.orderId, reason } },
        ],
      },
    },
  });
}

/** The fulfilment saga with the default options. */
export const fulfilmentSaga = createFulfilmentSaga();

/** Options of {@link createShopDispatcher}. */
export interface ShopDispatcherOptions {
  /** Which payment authorisations are declined (the payment decider's policy). */
  declinePolicy?: DeclinePolicy;
}

/**
 * An in-process command dispatcher for the whole shop: every command type of the order,
 * catalog, inventory, payment and shipping deciders, routed to its stream and handled
 * idempotently by command id. Commands name their target in their data (`orderId`, `sku`).
 */
export function createShopDispatcher(
  store: EventStore,
  options: ShopDispatcherOptions = {},
): InProcessCommandDispatcher {
  const by = (key: 'orderId' | 'sku', stream: (id: string) => string) => (c: CommandEnvelope) => {
    const value = (c.data as Record<string, unknown> | null)?.[key];
    if (typeof value !== 'string' || value.length === 0)
      throw new TypeError(`${c.type} needs data.${key} to find its stream`);
    return stream(value);
  };
  return new InProcessCommandDispatcher()
    .register(
      [
        'order.place',
        'order.add-line',
        'order.pay',
        'order.ship',
        'order.confirm',
        'order.complete',
        'order.cancel',
      ],
      deciderCommandHandler({ store, decider: orderDecider, stream: by('orderId', orderStream) }),
    )
    .register(
      ['catalog.add-product', 'catalog.change-price', 'catalog.discontinue'],
      deciderCommandHandler({ store, decider: catalogDecider, stream: by('sku', productStream) }),
    )
    .register(
      ['inventory.restock', 'inventory.reserve', 'inventory.release', 'inventory.commit'],
      deciderCommandHandler({
        store,
        decider: inventoryDecider,
        stream: by('sku', inventoryStream),
      }),
    )
    .register(
      ['payment.authorise', 'payment.capture', 'payment.void'],
      deciderCommandHandler({
        store,
        decider: createPaymentDecider(options.declinePolicy),
        stream: by('orderId', paymentStream),
      }),
    )
    .register(
      ['shipping.create-shipment', 'shipping.cancel-shipment'],
      deciderCommandHandler({
        store,
        decider: shippingDecider,
        stream: by('orderId', shipmentStream),
      }),
    );
}

function orderIdIn(event: RecordedEvent): string | undefined {
  const orderId = (event.data as { orderId?: unknown } | null)?.orderId;
  return typeof orderId === 'string' && orderId.length > 0 ? orderId : undefined;
}

function needsOf(lines: readonly OrderLine[]): StockNeed[] {
  const bySku = new Map<string, number>();
  for (const line of lines) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.quantity);
  return [...bySku].map(([sku, quantity]) => ({ sku, quantity }));
}
