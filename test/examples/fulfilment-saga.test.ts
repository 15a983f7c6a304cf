import { describe, expect, it } from 'vitest';
import { InvalidSagaReactionError, sagaSpecification, type SpecEvent } from '@causewayjs/core';
import {
  FulfilmentStep,
  PAYMENT_TIMED_OUT,
  createFulfilmentSaga,
} from '../../examples/shop/fulfilment-saga.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const given = sagaSpecification(createFulfilmentSaga({ paymentTimeoutMs: 5000 }), { now: NOW });

const placed: SpecEvent = {
  type: 'order.placed',
  stream: 'order-o1',
  data: {
    customerId: 'c-1',
    lines: [
      { line: 1, sku: 'tea', quantity: 2, unitPrice: 450 },
      { line: 2, sku: 'cup', quantity: 1, unitPrice: 1200 },
      { line: 3, sku: 'tea', quantity: 1, unitPrice: 450 },
    ],
  },
};
const reservedTea: SpecEvent = {
  type: 'stock.reserved',
  stream: 'inventory-tea',
  data: { sku: 'tea', quantity: 3, orderId: 'o1' },
};
const reservedCup: SpecEvent = {
  type: 'stock.reserved',
  stream: 'inventory-cup',
  data: { sku: 'cup', quantity: 1, orderId: 'o1' },
};
const authorised: SpecEvent = {
  type: 'payment.authorised',
  stream: 'payment-o1',
  data: { orderId: 'o1', amount: 2550 },
};
const shipped: SpecEvent = {
  type: 'shipment.created',
  stream: 'shipment-o1',
  data: { orderId: 'o1', trackingNumber: 'TRK-o1', lines: [] },
};
const release = (sku: string) => ({ type: 'inventory.release', data: { sku, orderId: 'o1' } });
const cancelOrder = (reason: string) => ({ type: 'order.cancel', data: { orderId: 'o1', reason } });

describe('fulfilment saga (given/when/then)', () => {
  it('starts on order.placed by reserving each product once', async () => {
    await given([])
      .when(placed)
      .then({
        status: 'running',
        step: FulfilmentStep.reserving,
        sent: [
          { type: 'inventory.reserve', data: { sku: 'tea', quantity: 3, orderId: 'o1' } },
          { type: 'inventory.reserve', data: { sku: 'cup', quantity: 1, orderId: 'o1' } },
        ],
      });
  });

  it('waits for every reservation, then authorises the payment with a timeout', async () => {
    await given([placed]).when(reservedTea).then({ step: FulfilmentStep.reserving, sent: [] });
    await given([placed, reservedTea])
      .when(reservedCup)
      .then({
        step: FulfilmentStep.authorising,
        sent: [{ type: 'payment.authorise', data: { orderId: 'o1', amount: 2550 } }],
        scheduled: [{ type: PAYMENT_TIMED_OUT, at: NOW + 5000 }],
      });
  });

  it('on authorisation cancels the timeout, confirms the order and ships it', async () => {
    await given([placed, reservedTea, reservedCup])
      .when(authorised)
      .then({
        step: FulfilmentStep.shipping,
        cancelled: [PAYMENT_TIMED_OUT],
        sent: [
          { type: 'order.confirm', data: { orderId: 'o1' } },
          {
            type: 'shipping.create-shipment',
            data: {
              orderId: 'o1',
              lines: [
                { sku: 'tea', quantity: 3 },
                { sku: 'cup', quantity: 1 },
              ],
            },
          },
        ],
      });
  });

  it('completes once the order is completed', async () => {
    await given([placed, reservedTea, reservedCup, authorised])
      .when(shipped)
      .then({
        step: FulfilmentStep.completing,
        sent: [
          { type: 'payment.capture', data: { orderId: 'o1' } },
          { type: 'inventory.commit', data: { sku: 'tea', orderId: 'o1' } },
          { type: 'inventory.commit', data: { sku: 'cup', orderId: 'o1' } },
          { type: 'order.complete', data: { orderId: 'o1', trackingNumber: 'TRK-o1' } },
        ],
      });
    await given([placed, reservedTea, reservedCup, authorised, shipped])
      .when({ type: 'order.completed', stream: 'order-o1', data: {} })
      .then({ status: 'completed', sent: [], compensations: [] });
  });

  it('compensates a stock shortage: releases stock, then cancels the order', async () => {
    const reason = 'stock of cup is short: 1 asked, 0 available';
    await given([placed, reservedTea])
      .when({
        type: 'stock.shortage',
        stream: 'inventory-cup',
        data: { sku: 'cup', orderId: 'o1', requested: 1, available: 0 },
      })
      .then({
        status: 'compensating',
        sent: [],
        compensations: [release('cup'), release('tea'), cancelOrder(reason)],
      });
  });

  it('compensates a declined payment in reverse order, without voiding it', async () => {
    const reason = 'payment declined: card declined';
    await given([placed, reservedTea, reservedCup])
      .when({
        type: 'payment.declined',
        stream: 'payment-o1',
        data: { orderId: 'o1', amount: 2550, reason: 'card declined' },
      })
      .then({
        status: 'compensating',
        cancelled: [PAYMENT_TIMED_OUT],
        compensations: [release('cup'), release('tea'), cancelOrder(reason)],
      });
  });

  it('compensates when the payment does not answer in time: voids it first', async () => {
    const reason = 'no payment answer within 5000 ms';
    await given([placed, reservedTea, reservedCup])
      .when({ timer: PAYMENT_TIMED_OUT })
      .then({
        status: 'compensating',
        compensations: [
          { type: 'payment.void', data: { orderId: 'o1', reason } },
          release('cup'),
          release('tea'),
          cancelOrder(reason),
        ],
      });
  });

  it('compensates a rejected command, including the shipment', async () => {
    const instance = await given([placed, reservedTea, reservedCup, authorised])
      .when({ rejected: { command: 'shipping.create-shipment', code: 'X', message: 'no courier' } })
      .instance();
    expect(instance?.status).toBe('compensating');
    const compensations = instance?.history
      .filter((h) => h.kind === 'compensation' && !h.type.startsWith('compensation.'))
      .map((h) => h.type);
    expect(compensations).toEqual([
      'shipping.cancel-shipment',
      'payment.void',
      'inventory.release',
      'inventory.release',
      'order.cancel',
    ]);
  });

  it('ignores out-of-order and unexpected events, and records them', async () => {
    // An authorisation before the stock is reserved is not expected in that step.
    await given([placed])
      .when(authorised)
      .then({ outcome: 'ignored', step: FulfilmentStep.reserving, sent: [] });
    // A reservation of a product the order does not need.
    await given([placed])
      .when({
        type: 'stock.reserved',
        stream: 'inventory-pot',
        data: { sku: 'pot', quantity: 1, orderId: 'o1' },
      })
      .then({ outcome: 'ignored', sent: [] });
  });

  it('records a duplicate delivery without acting on it', async () => {
    const withId = { ...reservedTea, id: '0193f0a0-0000-7000-8000-000000000001' };
    await given([placed, withId])
      .when(withId)
      .then({ outcome: 'duplicate', sent: [], step: FulfilmentStep.reserving });
  });

  it('ignores events for an instance that is compensating', async () => {
    const shortage: SpecEvent = {
      type: 'stock.shortage',
      stream: 'inventory-cup',
      data: { sku: 'cup', orderId: 'o1', requested: 1, available: 0 },
    };
    await given([placed, shortage])
      .when(reservedTea)
      .then({ outcome: 'ignored', sent: [], compensations: [] });
  });

  it('passes over a non-starting event for an unknown order', async () => {
    const instance = await given([]).when(reservedTea).instance();
    expect(instance).toBeUndefined();
  });

  it('rejects a timer that is not pending', async () => {
    await given([placed])
      .when({ timer: PAYMENT_TIMED_OUT })
      .thenThrows((e) => /no pending timer/.test(String(e)));
  });

  it('refuses a saga that returns an invalid reaction', async () => {
    const saga = createFulfilmentSaga();
    const broken = {
      ...saga,
      start: () => ({ state: {}, send: [{ data: 1 }] }),
    } as unknown as typeof saga;
    await sagaSpecification(broken)([])
      .when(placed)
      .thenThrows((e) => e instanceof InvalidSagaReactionError);
  });
});
