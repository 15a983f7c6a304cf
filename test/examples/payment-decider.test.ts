import { describe, it } from 'vitest';
import { UnknownCommandError, deciderSpecification } from '@causewayjs/core';
import {
  DEFAULT_AUTHORISATION_LIMIT,
  PaymentRuleError,
  createPaymentDecider,
  paymentDecider,
  type PaymentCommand,
  type PaymentEvent,
} from '../../examples/shop/payment-decider.js';

const given = deciderSpecification(paymentDecider);
const authorise: PaymentCommand = {
  type: 'payment.authorise',
  data: { orderId: 'o1', amount: 900, method: 'card' },
};
const authorised: PaymentEvent = {
  type: 'payment.authorised',
  data: { orderId: 'o1', amount: 900 },
};

describe('payment decider', () => {
  it('authorises a payment the policy accepts', async () => {
    await given([]).when(authorise).then([authorised]);
  });

  it('declines by the default policy: a declined card, an amount above the limit', async () => {
    await given([])
      .when({
        type: 'payment.authorise',
        data: { orderId: 'o1', amount: 900, method: 'declined-card' },
      })
      .then([
        { type: 'payment.declined', data: { orderId: 'o1', amount: 900, reason: 'card declined' } },
      ]);
    await given([])
      .when({
        type: 'payment.authorise',
        data: { orderId: 'o1', amount: DEFAULT_AUTHORISATION_LIMIT + 1 },
      })
      .thenState({ status: 'declined', orderId: 'o1', amount: DEFAULT_AUTHORISATION_LIMIT + 1 });
  });

  it('declines by an injected policy', async () => {
    const strict = deciderSpecification(
      createPaymentDecider((request) => (request.amount > 500 ? 'over 500' : undefined)),
    );
    await strict([])
      .when(authorise)
      .then([
        { type: 'payment.declined', data: { orderId: 'o1', amount: 900, reason: 'over 500' } },
      ]);
  });

  it('treats the same authorisation again as a no-op; a declined payment stays declined', async () => {
    await given([authorised]).when(authorise).thenNothing();
    await given([
      { type: 'payment.declined', data: { orderId: 'o1', amount: 900, reason: 'card declined' } },
    ])
      .when(authorise)
      .thenThrows(PaymentRuleError);
  });

  it('captures an authorised payment, and not one that is not', async () => {
    await given([authorised])
      .when({ type: 'payment.capture', data: { orderId: 'o1' } })
      .then([{ type: 'payment.captured', data: { orderId: 'o1', amount: 900 } }]);
    await given([])
      .when({ type: 'payment.capture', data: { orderId: 'o1' } })
      .thenThrows(PaymentRuleError);
  });

  it('voids an authorisation; a void before any authorisation refuses a late one', async () => {
    const voided: PaymentEvent = {
      type: 'payment.voided',
      data: { orderId: 'o1', amount: 900, reason: 'order cancelled' },
    };
    await given([authorised])
      .when({ type: 'payment.void', data: { orderId: 'o1', reason: 'order cancelled' } })
      .then([voided]);
    const early: PaymentEvent = {
      type: 'payment.voided',
      data: { orderId: 'o1', amount: 0, reason: 'timed out' },
    };
    await given([])
      .when({ type: 'payment.void', data: { orderId: 'o1', reason: 'timed out' } })
      .then([early]);
    await given([early])
      .when(authorise)
      .thenThrows(PaymentRuleError, (e) => /voided/.test((e as Error).message));
    await given([voided])
      .when({ type: 'payment.void', data: { orderId: 'o1', reason: 'again' } })
      .thenNothing();
  });

  it('refuses to void a captured payment, bad amounts and unknown commands', async () => {
    await given([authorised, { type: 'payment.captured', data: { orderId: 'o1', amount: 900 } }])
      .when({ type: 'payment.void', data: { orderId: 'o1', reason: 'x' } })
      .thenThrows(PaymentRuleError);
    await given([])
      .when({ type: 'payment.authorise', data: { orderId: 'o1', amount: -5 } })
      .thenThrows(PaymentRuleError);
    await given([])
      .when({ type: 'payment.refund', data: {} } as unknown as PaymentCommand)
      .thenThrows(UnknownCommandError);
  });
});
