import { afterEach, describe, expect, it } from 'vitest';
import { startShopAnalytics, type ShopAnalytics } from '../../examples/shop/analytics.js';
import { ManualClock, MemoryEventStore, collect, memoryStreamStateStore } from '@causewayjs/core';

const T0 = Date.parse('2026-01-01T10:00:00Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;

describe('shop analytics', () => {
  let analytics: ShopAnalytics | undefined;
  afterEach(async () => {
    await analytics?.stop();
    analytics = undefined;
  });

  /** Appends the shop's events at given times (the store's clock stamps `recordedAt`). */
  async function shopDay(store: MemoryEventStore, clock: ManualClock) {
    const at = async (offset: number, stream: string, type: string, data: unknown) => {
      clock.set(T0 + offset);
      await store.append(stream, [{ type, data }]);
    };
    await at(0, 'product-A', 'product.added', {
      sku: 'A',
      name: 'Atlas',
      price: 1000,
      category: 'books',
    });
    await at(0, 'product-B', 'product.added', {
      sku: 'B',
      name: 'Ball',
      price: 500,
      category: 'toys',
    });
    await at(0, 'product-C', 'product.added', {
      sku: 'C',
      name: 'Codex',
      price: 3000,
      category: 'books',
    });
    const line = (n: number, sku: string, quantity: number, unitPrice: number) => ({
      line: n,
      sku,
      quantity,
      unitPrice,
    });
    await at(5 * SECOND, 'order-o1', 'order.placed', {
      customerId: 'c1',
      lines: [line(1, 'A', 2, 1000), line(2, 'B', 1, 500)],
    });
    await at(10 * SECOND, 'payment-o1', 'payment.authorised', { orderId: 'o1', amount: 2500 });
    await at(20 * SECOND, 'order-o2', 'order.placed', {
      customerId: 'c1',
      lines: [line(1, 'C', 1, 3000)],
    });
    for (const s of [25, 30, 40])
      await at(s * SECOND, 'payment-o2', 'payment.declined', {
        orderId: 'o2',
        amount: 3000,
        reason: 'card declined',
      });
    await at(70 * SECOND, 'order-o3', 'order.placed', {
      customerId: 'c2',
      lines: [line(1, 'B', 3, 500)],
    });
    await at(80 * SECOND, 'order-o3', 'order.paid', { amount: 1500 });
    await at(90 * SECOND, 'order-o4', 'order.placed', {
      customerId: 'c3',
      lines: [line(1, 'A', 1, 1000)],
    });
    return store.headPosition();
  }

  it('computes sales, the top-products board, sessions and fraud alerts', async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryEventStore({ clock });
    const head = await shopDay(store, clock);
    analytics = await startShopAnalytics({
      store,
      clock,
      paymentTimeoutMs: 5 * MINUTE,
      writeAlerts: true,
    });
    await analytics.waitForPosition(head);
    // Event time has not passed the minute yet (the last event is at 90 s): nothing closed.
    expect(analytics.salesPerCategory().filter((s) => s.window.start === T0 + MINUTE)).toEqual([]);
    // Three declines within a minute: the pattern completes once the watermark passes the
    // third (the last event is 50 s later); the unpaid orders still wait for their timeout.
    expect(analytics.alerts().map((a) => a.rule)).toEqual(['repeated-declines']);

    // The shop goes quiet: after the idle timeout, event time follows the clock.
    clock.set(T0 + 90 * SECOND + 2 * 60 * MINUTE);
    await analytics.tick();

    expect(
      analytics.salesPerCategory().map((s) => [s.category, s.window.start - T0, s.revenue]),
    ).toEqual([
      ['books', 0, 2 * 1000 + 3000],
      ['toys', 0, 500],
      ['books', MINUTE, 1000],
      ['toys', MINUTE, 1500],
    ]);
    expect(analytics.topProducts()).toEqual({
      window: { start: T0 + MINUTE, end: T0 + 11 * MINUTE },
      products: [
        { sku: 'B', units: 3 },
        { sku: 'A', units: 1 },
      ],
    });
    expect(
      analytics
        .sessions()
        .map((s) => [s.customerId, s.window.start - T0, s.window.end - T0, s.orders]),
    ).toEqual([
      ['c1', 5 * SECOND, 20 * SECOND + 30 * MINUTE, 2],
      ['c2', 70 * SECOND, 70 * SECOND + 30 * MINUTE, 1],
      ['c3', 90 * SECOND, 90 * SECOND + 30 * MINUTE, 1],
    ]);
    const alerts = analytics.alerts();
    expect(alerts.filter((a) => a.rule === 'repeated-declines')).toEqual([
      {
        rule: 'repeated-declines',
        customerId: 'c1',
        orderIds: ['o2', 'o2', 'o2'],
        at: T0 + 40 * SECOND,
      },
    ]);
    expect(
      alerts
        .filter((a) => a.rule === 'unpaid-order')
        .map((a) => (a.rule === 'unpaid-order' ? [a.orderId, a.customerId, a.at - T0] : []))
        .sort(),
    ).toEqual([
      ['o2', 'c1', 20 * SECOND + 5 * MINUTE],
      ['o4', 'c3', 90 * SECOND + 5 * MINUTE],
    ]);
    const written = await collect(store.readStream('fraud-alerts'));
    expect(written.map((e) => (e.data as { rule: string }).rule).sort()).toEqual([
      'repeated-declines',
      'unpaid-order',
      'unpaid-order',
    ]);

    const status = analytics.status();
    expect(status.fraud.state).toBe('running');
    expect(status.fraud.late).toBe(0);
    expect(status.sessions.stateSize).toBe(0);
  });

  it('two declines are not fraud, and a paid order raises nothing', async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryEventStore({ clock });
    clock.set(T0 + SECOND);
    await store.append('order-x', [
      { type: 'order.placed', data: { customerId: 'c9', lines: [] } },
    ]);
    clock.set(T0 + 2 * SECOND);
    await store.append('payment-x', [
      { type: 'payment.declined', data: { orderId: 'x', amount: 1, reason: 'no' } },
    ]);
    clock.set(T0 + 3 * SECOND);
    await store.append('payment-x', [
      { type: 'payment.declined', data: { orderId: 'x', amount: 1, reason: 'no' } },
    ]);
    clock.set(T0 + 4 * SECOND);
    await store.append('payment-x', [
      { type: 'payment.authorised', data: { orderId: 'x', amount: 1 } },
    ]);
    analytics = await startShopAnalytics({
      store,
      clock,
      paymentTimeoutMs: MINUTE,
      checkpoints: memoryStreamStateStore(store),
    });
    await analytics.waitForPosition(await store.headPosition());
    clock.advance(60 * MINUTE);
    await analytics.tick();
    expect(analytics.alerts()).toEqual([]);
    expect(analytics.status().fraud.watermark).toBeGreaterThan(T0 + 2 * MINUTE);
  });
});
