import {
  UnknownCommandError,
  type Command,
  type Decider,
  type DomainEvent,
} from '@causewayjs/core';

/** The stream of one order's payment: `payment-<orderId>`. */
export function paymentStream(orderId: string): string {
  return `payment-${orderId}`;
}

/** What an authorisation asks for. */
export interface AuthorisationRequest {
  orderId: string;
  /** In cents. */
  amount: number;
  /** How the customer pays, e.g. `'card'`; the default policy declines `'declined-card'`. */
  method?: string | undefined;
}

/** The commands a payment accepts. */
export type PaymentCommand =
  | Command<'payment.authorise', AuthorisationRequest>
  | Command<'payment.capture', { orderId: string }>
  | Command<'payment.void', { orderId: string; reason: string }>;

/** The events a payment records. */
export type PaymentEvent =
  | DomainEvent<'payment.authorised', { orderId: string; amount: number }>
  | DomainEvent<'payment.declined', { orderId: string; amount: number; reason: string }>
  | DomainEvent<'payment.captured', { orderId: string; amount: number }>
  | DomainEvent<'payment.voided', { orderId: string; amount: number; reason: string }>;

/** Where a payment is in its life. */
export type PaymentStatus = 'none' | 'authorised' | 'declined' | 'captured' | 'voided';

/** A payment's state, folded from its events. */
export interface PaymentState {
  status: PaymentStatus;
  orderId: string | null;
  amount: number;
}

/**
 * Decides whether an authorisation is declined: the reason to decline it, or undefined to
 * authorise it. Stands in for the payment provider; must be deterministic for a given request
 * (a re-dispatched command must decide the same).
 */
export type DeclinePolicy = (request: AuthorisationRequest) => string | undefined;

/** Amounts above this (in cents) are declined by {@link defaultDeclinePolicy}. */
export const DEFAULT_AUTHORISATION_LIMIT = 1_000_000;

/** Declines the method `'declined-card'` and amounts above {@link DEFAULT_AUTHORISATION_LIMIT}. */
export const defaultDeclinePolicy: DeclinePolicy = (request) => {
  if (request.method === 'declined-card') return 'card declined';
  if (request.amount > DEFAULT_AUTHORISATION_LIMIT)
    return `amount above the limit of ${DEFAULT_AUTHORISATION_LIMIT}`;
  return undefined;
};

/** A payment command that the payment's status or data does not allow. */
export class PaymentRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PaymentRuleError';
  }
}

/**
 * Makes the payment decider of the shop example, with `decline` deciding which
 * authorisations the (simulated) provider declines. A decline is a business outcome recorded
 * as `payment.declined`, not a rejected command. Voiding a payment that was never authorised
 * records the void, so an authorisation arriving after it (a late, timed-out request) is
 * refused instead of charging the customer.
 */
export function createPaymentDecider(
  decline: DeclinePolicy = defaultDeclinePolicy,
): Decider<PaymentCommand, PaymentEvent, PaymentState> {
  return {
    initialState: () => ({ status: 'none', orderId: null, amount: 0 }),

    decide(command, state) {
      switch (command.type) {
        case 'payment.authorise': {
          const { orderId, amount } = command.data;
          if (typeof orderId !== 'string' || orderId.length === 0)
            throw new PaymentRuleError('An order id is needed');
          if (typeof amount !== 'number' || !Number.isInteger(amount) || amount < 0)
            throw new PaymentRuleError('An amount must be a whole number of cents >= 0');
          if (state.status === 'authorised' && state.amount === amount) return [];
          if (state.status !== 'none')
            throw new PaymentRuleError(`Cannot authorise a payment that is ${state.status}`);
          const reason = decline(command.data);
          if (reason !== undefined)
            return [{ type: 'payment.declined', data: { orderId, amount, reason } }];
          return [{ type: 'payment.authorised', data: { orderId, amount } }];
        }
        case 'payment.capture': {
          if (state.status === 'captured') return [];
          if (state.status !== 'authorised' || state.orderId === null)
            throw new PaymentRuleError(`Cannot capture a payment that is ${state.status}`);
          return [
            { type: 'payment.captured', data: { orderId: state.orderId, amount: state.amount } },
          ];
        }
        case 'payment.void': {
          if (state.status === 'voided' || state.status === 'declined') return [];
          if (state.status === 'captured')
            throw new PaymentRuleError('Cannot void a captured payment');
          return [
            {
              type: 'payment.voided',
              data: {
                orderId: state.orderId ?? command.data.orderId,
                amount: state.amount,
                reason: command.data.reason,
              },
            },
          ];
        }
        default:
          throw new UnknownCommandError((command as { type: string }).type);
      }
    },

    evolve(state, event) {
      switch (event.type) {
        case 'payment.authorised':
          return { status: 'authorised', orderId: event.data.orderId, amount: event.data.amount };
        case 'payment.declined':
          return { status: 'declined', orderId: event.data.orderId, amount: event.data.amount };
        case 'payment.captured':
          return { ...state, status: 'captured' };
        case 'payment.voided':
          return { ...state, status: 'voided', orderId: event.data.orderId };
        default:
          return state;
      }
    },
  };
}

/** The payment decider with the {@link defaultDeclinePolicy}. */
export const paymentDecider = createPaymentDecider();
