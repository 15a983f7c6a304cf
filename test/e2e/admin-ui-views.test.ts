/**
 * The admin UI's views against a store the shop's own saga has written to, in headless
 * Chromium (Debian's `chromium`, driven by playwright-core): stream totals beyond one page,
 * a compensated saga's timeline, the causation graph through saga commands, a rebuild's
 * progress and finish, and every page on a phone-sized screen. One browser for the file;
 * every wait is on a condition of the page (locators), never a fixed sleep.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFulfilmentSaga, createShopDispatcher } from '../../examples/shop/fulfilment-saga.js';
import { orderDecider, orderStream } from '../../examples/shop/order-decider.js';
import {
  type RecordedEvent,
  newId,
  openBackend,
  type DocumentReadModel,
  memoryProjectionStore,
  defineProjection,
  Projector,
  SagaRuntime,
  type StoreTransaction,
  type TransactionalEventStore,
  MemoryEventStore,
} from '@causewayjs/core';
import { createServer, type CausewayServer } from '@causewayjs/server';
import { chromiumAvailable, launchChromium, openPage } from '../support/browser.js';

const available = chromiumAvailable('admin UI view tests');

/** A stream whose name alone is wider than a phone. */
const WIDE_STREAM = `customer-${'0123456789'.repeat(8)}`;

/** More streams than one page of the streams browser (50). */
const BULK_STREAMS = 60;
/** More saga instances than one page of the sagas list (50). */
const BULK_SAGAS = 55;

/** A gate the rebuilt projection waits on past a position, so its progress can be seen. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/**
 * What a phone user could not reach: elements past the viewport's right edge that no
 * ancestor scrolls (`overflow-x: auto | scroll`), and elements whose content `overflow-x:
 * hidden` cuts off (a deliberate ellipsis aside). A short description of each; empty when
 * the page fits.
 */
const UNREACHABLE = `(() => {
  const width = document.documentElement.clientWidth;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ').join('.') : '');
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const rect = el.getBoundingClientRect();
    // Text for screen readers only is clipped on purpose.
    if (rect.width === 0 || rect.height === 0 || el.closest('.visually-hidden')) continue;
    const style = getComputedStyle(el);
    if (['hidden', 'clip'].includes(style.overflowX) && style.textOverflow !== 'ellipsis' && el.scrollWidth > el.clientWidth + 1)
      out.push(name(el) + ' cuts off ' + (el.scrollWidth - el.clientWidth) + 'px');
    if (rect.right <= width + 1) continue;
    let scrolled = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX) && p.getBoundingClientRect().right <= width + 1) {
        scrolled = true;
        break;
      }
    }
    if (!scrolled) out.push(name(el) + ' ends at ' + Math.round(rect.right) + 'px');
  }
  if (document.documentElement.scrollWidth > width) out.push('document is ' + document.documentElement.scrollWidth + 'px wide');
  return out.slice(0, 12);
})()`;

describe.skipIf(!available)('admin UI views in Chromium', () => {
  let dir: string;
  let close: () => Promise<void>;
  let store: TransactionalEventStore;
  let server: CausewayServer;
  let url: string;
  /** A second server, on an in-memory store, whose projection is rebuilt. */
  let memory: MemoryEventStore;
  let projector: Projector<StoreTransaction, DocumentReadModel>;
  let rebuildServer: CausewayServer;
  let rebuildUrl: string;
  let rebuildGate = gate();
  /** While set, the projection waits on the gate from this position on. */
  let holdFrom: number | undefined;
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  /** The declined order's events, by type. */
  const declined: Record<string, RecordedEvent> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-admin-views-'));
    const backend = await openBackend(`sqlite:${join(dir, 'events.db')}`, { pollIntervalMs: 10 });
    close = () => backend.close();
    store = backend.store;
    await store.appendMany(
      Array.from({ length: BULK_STREAMS }, (_, i) => ({
        stream: `bulk-${String(i).padStart(3, '0')}`,
        events: [{ type: 'bulk.created', data: { i, note: 'x'.repeat(i) } }],
      })),
    );

    // Wide content: a long stream name, long unbroken values and a deep document.
    await store.append(WIDE_STREAM, [
      {
        type: 'customer.address-changed-to-a-place-with-a-rather-long-event-type-name',
        data: {
          line: 'x'.repeat(240),
          deep: {
            deeper: { deepest: { list: Array.from({ length: 12 }, (_, i) => `item-${i}`) } },
          },
        },
        metadata: { correlationId: 'c'.repeat(120), channel: 'y'.repeat(90) },
      },
    ]);

    // The showcase case: an order placed with a card that is declined; the shop's saga asks
    // for payment, hears the decline and compensates (cancels the order, releases stock).
    const sagaStore = await backend.sagaStore();
    const runtime = new SagaRuntime({
      storage: await backend.subscriptionStorage(),
      sagaStore,
      sagas: [createFulfilmentSaga({ paymentTimeoutMs: 60_000 })],
      dispatcher: createShopDispatcher(store),
      lease: false,
    });
    await runtime.start();
    const dispatcher = createShopDispatcher(store);
    const restock = await dispatcher.dispatch({
      id: newId(),
      type: 'inventory.restock',
      data: { sku: 'tea', quantity: 3 },
      metadata: {},
    });
    expect(restock.status).toBe('accepted');
    const placed = await dispatcher.dispatch({
      id: newId(),
      type: 'order.place',
      data: {
        orderId: 'o-declined',
        customerId: 'c-1',
        lines: [{ sku: 'tea', quantity: 2, unitPrice: 450 }],
        paymentMethod: 'declined-card',
      },
      metadata: {},
    });
    expect(placed.status).toBe('accepted');
    await runtime.runUntilIdle();
    expect((await runtime.getInstance('order-fulfilment', 'o-declined'))?.status).toBe(
      'compensated',
    );
    await runtime.stop();
    for await (const e of store.readAll()) {
      if (e.stream === orderStream('o-declined') || e.type === 'payment.declined')
        declined[e.type] = e;
    }
    expect(Object.keys(declined)).toEqual(
      expect.arrayContaining(['order.placed', 'payment.declined', 'order.cancelled']),
    );

    // More instances than one page of the sagas list (50).
    await store.transaction(async (tx) => {
      for (let i = 0; i < BULK_SAGAS; i++)
        await sagaStore.saveInstance(
          {
            saga: 'bulk-saga',
            id: `bulk-${String(i).padStart(3, '0')}`,
            status: 'running',
            step: 'waiting',
            state: {},
            trail: ['waiting'],
            lastPosition: 0,
            newHistory: [],
            pendingCompensations: 0,
            failedCompensations: 0,
            startedAt: Date.parse('2026-01-01T10:00:00.000Z'),
            updatedAt: Date.parse('2026-01-01T10:00:00.000Z'),
          },
          tx,
        );
    });

    const initial = orderDecider.initialState;
    server = await createServer({
      store,
      sagas: sagaStore,
      // Time travel through the shop's orders.
      aggregates: {
        order: {
          initialState: typeof initial === 'function' ? initial() : initial,
          evolve: (state: never, event: never) => orderDecider.evolve(state, event),
        },
      },
    });
    url = (await server.listen({ host: '127.0.0.1', port: 0 })).url;

    memory = new MemoryEventStore();
    await memory.appendMany(
      Array.from({ length: 20 }, (_, i) => ({
        stream: `tally-${i}`,
        events: [{ type: 'tally.counted', data: { n: i } }],
      })),
    );
    projector = new Projector({
      store: memoryProjectionStore(memory),
      projections: [
        defineProjection<DocumentReadModel>({
          name: 'tallies',
          version: 1,
          handles: ['tally.counted'],
          setup: () => {},
          // Only the rebuild meets the gate: the first build has read the log by then.
          apply: async (event) => {
            if (holdFrom !== undefined && event.position >= holdFrom) await rebuildGate.wait;
          },
        }),
      ],
      // Small batches: a build's position moves (and is seen to move) every five events.
      subscription: { batchSize: 5 },
      pollIntervalMs: 10,
    });
    await projector.start();
    rebuildServer = await createServer({ store: memory, projectors: [projector] });
    rebuildUrl = (await rebuildServer.listen({ host: '127.0.0.1', port: 0 })).url;

    browser = await launchChromium(dir);
  });

  afterAll(async () => {
    rebuildGate.open();
    await browser?.close();
    await server?.close();
    await rebuildServer?.close();
    await projector?.stop();
    await memory?.close();
    await close?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    page = await openPage(browser, pageErrors);
  });

  afterEach(async () => {
    await page.close();
    expect(pageErrors.splice(0)).toEqual([]);
  });

  /** Opens a page of the UI and waits for its heading. */
  async function open(base: string, route: string, heading: string | RegExp): Promise<void> {
    await page.goto(`${base}/#${route}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  }

  it("shows the store's total of streams, not the page size", async () => {
    const total = await store.countStreams?.();
    expect(total).toBeGreaterThan(BULK_STREAMS);
    await open(url, '/streams', 'Streams');
    const caption = page.locator('#streams-table caption');
    await caption.waitFor();
    expect(await page.locator('#streams-table tbody tr').count()).toBe(50);
    expect(await caption.textContent()).toBe(`${total} streams · showing 50`);

    await page.getByLabel('Stream name starts with').fill('bulk-');
    await page.getByRole('button', { name: 'Search' }).click();
    await caption.filter({ hasText: 'starting with “bulk-”' }).waitFor();
    expect(await caption.textContent()).toBe(
      `${BULK_STREAMS} streams starting with “bulk-” · showing 50`,
    );
  });

  it('shows the total of saga instances, not the page size', async () => {
    await open(url, '/sagas', 'Sagas');
    const caption = page.locator('#sagas-table caption');
    await caption.waitFor();
    expect(await page.locator('#sagas-table tbody tr').count()).toBe(50);
    // The bulk instances and the declined order's.
    expect(await caption.textContent()).toBe(`${BULK_SAGAS + 1} instances · showing 50`);

    await page.getByLabel('Status').selectOption('compensated');
    await page.getByRole('button', { name: 'Filter' }).click();
    await caption.filter({ hasText: /^1 instance$/ }).waitFor();
  });

  it("labels a compensation command's sending and its settling differently", async () => {
    await open(url, '/sagas/order-fulfilment/o-declined', /order-fulfilment/);
    const steps = page.locator('#saga-timeline li');
    await steps.first().waitFor();
    const labels = (await steps.locator('.what').allTextContents())
      .map((t) => t.trim())
      .filter((t) => t.endsWith(': order.cancel'));
    expect(labels).toEqual([
      'Compensation sent: order.cancel',
      'Compensation settled (accepted): order.cancel',
    ]);
    await steps.filter({ hasText: 'Compensated: compensation.compensated' }).waitFor();
  });

  it('follows the causation chain through the saga commands, both ways', async () => {
    const cancelled = declined['order.cancelled'];
    const decline = declined['payment.declined'];
    const start = declined['order.placed'];
    if (!cancelled || !decline || !start) throw new Error('the declined order is missing');
    await open(url, `/events/${cancelled.position}`, 'order.cancelled');
    const graph = page.locator('#causation-graph');
    await graph.locator('a.graph-node.current').waitFor();
    // order.cancelled ← (order.cancel) ← payment.declined ← (payment.authorise) ←
    // stock.reserved ← (inventory.reserve) ← order.placed: the commands are not in the log.
    await page.getByText(/^3 causes above this event/).waitFor();
    await graph.locator('a.graph-node', { hasText: 'stock.reserved' }).waitFor();
    await graph.locator('a.graph-node', { hasText: 'payment.declined' }).waitFor();
    await graph.locator('a.graph-node', { hasText: 'order.placed' }).waitFor();

    // From the start of the chain, the decline and the cancellation are its consequences.
    await graph.locator('a.graph-node', { hasText: 'order.placed' }).click();
    await page.getByRole('heading', { level: 1, name: 'order.placed' }).waitFor();
    await page.locator('#causation-graph a.graph-node', { hasText: 'order.cancelled' }).waitFor();
    await page.locator('#causation-graph a.graph-node', { hasText: 'payment.declined' }).waitFor();
  });

  it("shows a rebuild's progress, then the finished build", async () => {
    await expect.poll(async () => (await projector.status('tallies')).position).toBe(20);
    holdFrom = 11;
    rebuildGate = gate();
    await open(rebuildUrl, '/projections', 'Projections');
    const row = page.locator('#projections-table tr[data-projection="tallies"]');
    await row.locator('.badge', { hasText: 'running' }).waitFor();
    await row.getByRole('button', { name: 'Rebuild tallies' }).click();
    await row.getByRole('button', { name: 'Confirm rebuild of tallies' }).click();

    // The new build holds at position 10 of 20: half way, shown as such.
    const progress = row.getByRole('progressbar', { name: /Rebuild of tallies/ });
    await expect.poll(() => progress.getAttribute('value')).toBe('10');
    expect(await progress.getAttribute('max')).toBe('20');
    await row.getByText('Rebuilding v1, build 2: 10 of 20 (50%)').waitFor();
    expect((await projector.status('tallies')).build).toBe(1);

    rebuildGate.open();
    await row.getByText('Rebuild finished: build 2 serves').waitFor();
    expect(await progress.count()).toBe(0);
    expect((await projector.status('tallies')).build).toBe(2);
  });

  it('fits every view on a phone screen: wide tables and JSON scroll inside their frames', async () => {
    await page.setViewportSize({ width: 375, height: 667 });
    const cancelled = declined['order.cancelled'];
    if (!cancelled) throw new Error('the declined order is missing');
    let wide: RecordedEvent | undefined;
    for await (const e of store.readStream(WIDE_STREAM)) wide = e;
    if (!wide) throw new Error('the wide stream is missing');
    const views: Array<[string, string, string | RegExp, string]> = [
      [url, '/streams', 'Streams', '#streams-table'],
      [url, `/events/${cancelled.position}`, 'order.cancelled', '#causation-graph svg'],
      [url, '/sagas/order-fulfilment/o-declined', /order-fulfilment/, '#saga-timeline'],
      [url, `/streams/${orderStream('o-declined')}`, orderStream('o-declined'), '#events-table'],
      [url, `/streams/${WIDE_STREAM}`, WIDE_STREAM, '#events-table'],
      [url, `/events/${wide.position}`, /customer\.address-changed/, '#causation-graph svg'],
      [url, '/sagas', 'Sagas', '#sagas-table'],
      [url, '/', 'Overview', '#throughput-chart svg'],
      [url, '/tail', 'Live tail', '#tail-status'],
      [url, `/time-travel/${orderStream('o-declined')}`, 'Time travel', '#tt-state .json'],
      [rebuildUrl, '/projections', 'Projections', '#projections-table'],
      [rebuildUrl, '/parked', 'Parked events', 'text=No parked events'],
    ];
    const found: Record<string, string[]> = {};
    for (const [base, route, heading, shown] of views) {
      await open(base, route, heading);
      await page.locator(shown).waitFor();
      // Open every collapsed detail, so the JSON inside is measured too.
      await page.evaluate('document.querySelectorAll("details").forEach((d) => (d.open = true))');
      const unreachable = await page.evaluate<string[]>(UNREACHABLE);
      if (unreachable.length > 0) found[route] = unreachable;
    }
    expect(found).toEqual({});
  });
});
