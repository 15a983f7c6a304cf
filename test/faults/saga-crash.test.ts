import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, newId } from '@causewayjs/core';
import { FULFILMENT_SAGA, createShopDispatcher } from '../../examples/shop/fulfilment-saga.js';
import { runWorkerUntil } from '../support/crash.js';
import { dropSchema, pgAvailable, randomSchemaName } from '../support/postgres.js';
import { openSagaBackend } from '../sagas/saga-backend.js';

const worker = fileURLToPath(new URL('../sagas/saga-crash-worker.ts', import.meta.url));
const T0 = Date.parse('2026-01-01T00:00:00Z');

type Kind = 'normal' | 'declined' | 'slow';
const kindOf = (i: number): Kind => (i % 5 === 3 ? 'declined' : i % 5 === 4 ? 'slow' : 'normal');
const ORDERS = 30;

/**
 * Places orders, runs the saga in a child process killed twice mid-run, then to the end, and
 * checks every order's outcome and effects.
 */
async function crashAndCheck(backend: 'sqlite' | 'postgres', location: string): Promise<void> {
  const { store, sagaStore } = await openSagaBackend(backend, location);
  try {
    const shop = createShopDispatcher(store);
    for (const sku of ['tea', 'cup', 'pot'])
      await shop.dispatch({
        id: newId(),
        type: 'inventory.restock',
        data: { sku, quantity: 1000 },
        metadata: {},
      });
    for (let i = 0; i < ORDERS; i++) {
      const kind = kindOf(i);
      const reply = await shop.dispatch({
        id: newId(),
        type: 'order.place',
        data: {
          orderId: `o${i}`,
          customerId: `c${i}`,
          lines: [
            { sku: 'tea', quantity: 1 + (i % 3), unitPrice: 450 },
            { sku: ['cup', 'pot'][i % 2] as string, quantity: 1, unitPrice: 1200 },
          ],
          ...(kind === 'declined'
            ? { paymentMethod: 'declined-card' }
            : kind === 'slow'
              ? { paymentMethod: 'slow' }
              : {}),
        },
        metadata: {},
      });
      expect(reply.status).toBe('accepted');
    }

    // Killed twice mid-run (the counts are per process, so each run gets further).
    await runWorkerUntil(worker, [backend, location, String(T0)], 'dispatched', 25);
    await runWorkerUntil(worker, [backend, location, String(T0 + 1000)], 'dispatched', 40);
    // Caught up before any deadline passes: every answered payment cancels its timeout.
    await runWorkerUntil(worker, [backend, location, String(T0 + 2000)], 'dispatched');
    const waiting = await sagaStore.listInstances({ status: 'running', limit: 1000 });
    expect(waiting.map((v) => v.id).sort()).toEqual(
      Array.from({ length: ORDERS }, (_, i) => i)
        .filter((i) => kindOf(i) === 'slow')
        .map((i) => `o${i}`)
        .sort(),
    );
    expect(waiting.every((v) => v.timers.length === 1)).toBe(true);
    // A later process, past the deadlines, fires the timers the killed ones set.
    await runWorkerUntil(worker, [backend, location, String(T0 + 60_000)], 'dispatched');

    expect(await sagaStore.pendingCommands(10)).toEqual([]);
    const commands = await sagaStore.listCommands({ limit: 1000 });
    expect(commands.every((c) => c.status === 'sent')).toBe(true);
    const events = await collect(store.readAll());
    const ofStream = (stream: string) =>
      events.filter((e) => e.stream === stream).map((e) => e.type);

    for (let i = 0; i < ORDERS; i++) {
      const id = `o${i}`;
      const kind = kindOf(i);
      const view = await sagaStore.getInstance(FULFILMENT_SAGA, id);
      expect(view?.timers, id).toEqual([]);
      // Each reservation of the order happened once, and was released or committed once.
      const mine = events.filter((e) => (e.data as { orderId?: string }).orderId === id);
      const count = (type: string) => mine.filter((e) => e.type === type).length;
      expect(count('stock.reserved'), id).toBe(2);
      if (kind === 'normal') {
        expect(view?.status, id).toBe('completed');
        expect(ofStream(`order-${id}`), id).toEqual([
          'order.placed',
          'order.confirmed',
          'order.completed',
        ]);
        expect(ofStream(`payment-${id}`), id).toEqual(['payment.authorised', 'payment.captured']);
        expect(ofStream(`shipment-${id}`), id).toEqual(['shipment.created']);
        expect(count('stock.committed'), id).toBe(2);
        expect(count('stock.released'), id).toBe(0);
      } else {
        expect(view?.status, id).toBe('compensated');
        expect(ofStream(`order-${id}`), id).toEqual(['order.placed', 'order.cancelled']);
        expect(ofStream(`payment-${id}`), id).toEqual(
          kind === 'declined' ? ['payment.declined'] : ['payment.voided'],
        );
        expect(count('stock.released'), id).toBe(2);
        expect(count('stock.committed'), id).toBe(0);
        // Compensations in reverse order of the steps.
        const undo = commands
          .filter((c) => c.instanceId === id && c.compensation)
          .map((c) => c.command.type);
        expect(undo, id).toEqual(
          kind === 'slow'
            ? ['payment.void', 'inventory.release', 'inventory.release', 'order.cancel']
            : ['inventory.release', 'inventory.release', 'order.cancel'],
        );
        if (kind === 'slow')
          expect(
            view?.history.some((h) => h.kind === 'timer-fired'),
            id,
          ).toBe(true);
      }
    }
    // Stock adds up: what was committed left, nothing else is held.
    for (const sku of ['tea', 'cup', 'pot']) {
      const stream = events.filter((e) => e.stream === `inventory-${sku}`);
      const committed = stream
        .filter((e) => e.type === 'stock.committed')
        .reduce((n, e) => n + (e.data as { quantity: number }).quantity, 0);
      const reserved = stream.filter((e) => e.type === 'stock.reserved').length;
      const settled = stream.filter(
        (e) => e.type === 'stock.committed' || e.type === 'stock.released',
      ).length;
      expect(settled, sku).toBe(reserved);
      expect(committed, sku).toBeGreaterThan(0);
    }
  } finally {
    await store.close();
  }
}

describe('saga crash safety (SIGKILL)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-saga-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('SQLite: resumes after kills between steps: every order ends right, every effect happens once, timeouts fire after restart', async () => {
    await crashAndCheck('sqlite', join(dir, 'events.db'));
  }, 120_000);

  it('PostgreSQL: the same', async (ctx) => {
    if (!(await pgAvailable())) ctx.skip();
    const schema = randomSchemaName();
    try {
      await crashAndCheck('postgres', schema);
    } finally {
      await dropSchema(schema);
    }
  }, 120_000);
});
