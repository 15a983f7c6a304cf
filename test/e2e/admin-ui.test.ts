/**
 * The admin UI end to end: headless Chromium (Debian's `chromium`, driven by playwright-core)
 * against a real server on a temporary SQLite store, seeded with streams, a causation chain,
 * an async projection with a parked event, aggregates for time travel, saga instances
 * (in the store's saga tables) and parked saga commands (in the store's saga outbox).
 * Every wait is on a condition of the page (locators), never a fixed sleep.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import {
  SqliteEventStore,
  type SqliteTransaction,
  sqliteProjectionStore,
  sqliteSagaStore,
  type SqliteReadModel,
} from '@causewayjs/sqlite';
import {
  type RecordedEvent,
  defineProjection,
  Projector,
  newId,
  ParkedSagaCommands,
  type NewOutboxEntry,
  type SagaInstanceRecord,
  type SagaStore,
  generateApiKey,
  createAccessGuard,
  nack,
} from '@causewayjs/core';
import { createServer, type CausewayServer } from '@causewayjs/server';
import { chromiumAvailable, launchChromium, openPage } from '../support/browser.js';

const available = chromiumAvailable('admin UI browser tests');

interface OrderState {
  status: string;
  total: number;
  lines: string[];
}

/** The order aggregate the server folds for time travel. */
const orderFold = {
  initialState: { status: 'none', total: 0, lines: [] } as OrderState,
  evolve(state: OrderState, event: RecordedEvent): OrderState {
    const data = event.data as { total?: number; sku?: string };
    switch (event.type) {
      case 'order.placed':
        return { ...state, status: 'placed', total: data.total ?? 0 };
      case 'order.line-added':
        return { ...state, lines: [...state.lines, data.sku ?? '?'] };
      case 'order.paid':
        return { ...state, status: 'paid' };
      default:
        return state;
    }
  },
};

/** A saga instance as the saga runtime stores it. */
const SAGA: SagaInstanceRecord = {
  saga: 'order-fulfilment',
  id: 'order-1',
  status: 'running',
  step: 'awaiting-shipment',
  state: { orderId: 'order-1', paid: true },
  trail: ['awaiting-payment', 'awaiting-shipment'],
  lastPosition: 0,
  newHistory: [
    {
      at: '2026-01-01T10:00:00.000Z',
      kind: 'received',
      type: 'order.placed',
      id: 'e1',
      step: 'awaiting-payment',
    },
    { at: '2026-01-01T10:00:01.000Z', kind: 'sent', type: 'payment.request', id: 'c1' },
    { at: '2026-01-01T10:00:02.000Z', kind: 'scheduled', type: 'payment.timeout', id: 't1' },
    {
      at: '2026-01-01T10:00:05.000Z',
      kind: 'received',
      type: 'payment.captured',
      id: 'e2',
      step: 'awaiting-shipment',
    },
  ],
  pendingCompensations: 0,
  failedCompensations: 0,
  startedAt: Date.parse('2026-01-01T10:00:00.000Z'),
  updatedAt: Date.parse('2026-01-01T10:00:05.000Z'),
};

describe.skipIf(!available)('admin UI in Chromium', () => {
  let dir: string;
  let store: SqliteEventStore;
  let projector: Projector<SqliteTransaction, SqliteReadModel>;
  let sagas: SagaStore<SqliteTransaction>;
  /** Parked saga commands, by command type. */
  const parkedIds: Record<string, string> = {};
  let server: CausewayServer;
  let url: string;
  /** A second server on the same store, with access control. */
  let guarded: CausewayServer;
  let guardedUrl: string;
  const apiKey = generateApiKey('admin-ui');
  let browser: BrowserContext;
  let page: Page;
  /** Set while the projection refuses "poison" orders (so one gets parked). */
  let refusePoison = true;
  const pageErrors: string[] = [];
  /** Event ids, for the causation chain. */
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-admin-ui-'));
    store = SqliteEventStore.open(join(dir, 'events.db'), { pollIntervalMs: 10 });

    const placed = await store.append('order-1', [
      { type: 'order.placed', data: { total: 42 } },
      { type: 'order.line-added', data: { sku: 'apple' } },
      { type: 'order.line-added', data: { sku: 'pear' } },
      { type: 'order.paid', data: {} },
    ]);
    expect(placed.position).toBeGreaterThan(0);
    const orderEvents: RecordedEvent[] = [];
    for await (const e of store.readStream('order-1')) orderEvents.push(e);
    ids.placed = orderEvents[0]!.id;
    await store.append('payment-1', [
      {
        type: 'payment.requested',
        data: { amount: 42 },
        metadata: { causationId: ids.placed, correlationId: 'order-1' },
      },
    ]);
    const requested: RecordedEvent[] = [];
    for await (const e of store.readStream('payment-1')) requested.push(e);
    ids.requested = requested[0]!.id;
    await store.append('payment-1', [
      {
        type: 'payment.captured',
        data: { amount: 42 },
        metadata: { causationId: ids.requested, correlationId: 'order-1' },
      },
    ]);
    await store.append('customer-1', [{ type: 'customer.registered', data: { name: 'Ada' } }]);
    await store.append('customer-2', [
      // Markup in data and names must show as text, never become elements.
      { type: 'customer.registered', data: { name: '<img src=x id=injected onerror=alert(1)>' } },
    ]);
    await store.append('order-poison', [
      { type: 'order.placed', data: { total: 1, poison: true } },
    ]);

    const projection = defineProjection<SqliteReadModel>({
      name: 'order-totals',
      version: 1,
      handles: ['order.placed'],
      setup: (rm) =>
        rm.database.exec(
          `CREATE TABLE ${rm.table()} (id TEXT PRIMARY KEY, total INTEGER NOT NULL)`,
        ),
      apply: (event, rm) => {
        const data = event.data as { total: number; poison?: boolean };
        if (data.poison && refusePoison) return nack.park('poison order refused');
        rm.database
          .prepare(`INSERT INTO ${rm.table()} (id, total) VALUES (?, ?)`)
          .run(event.stream, data.total);
      },
    });
    projector = new Projector({
      store: await sqliteProjectionStore(store),
      projections: [projection],
      pollIntervalMs: 10,
    });
    await projector.start();

    // Saga instances in the store's own saga tables, as the saga runtime writes them.
    sagas = await sqliteSagaStore(store);
    await store.transaction(async (tx) => {
      await sagas.saveInstance(SAGA, tx);
      await sagas.saveInstance(
        { ...SAGA, id: 'order-2', status: 'completed', step: 'done', newHistory: [] },
        tx,
      );
      await sagas.addTimer(
        {
          id: 'timer-1',
          saga: SAGA.saga,
          instanceId: SAGA.id,
          type: 'shipment.timeout',
          dueAt: Date.parse('2026-01-02T10:00:00.000Z'),
          data: {},
        },
        tx,
      );
    });

    // Parked saga commands, as the saga runtime leaves them after its last failed try: two
    // compensations of a failed instance, and a forward command of a compensated one.
    const outbox = (type: string, instanceId: string, compensation: boolean): NewOutboxEntry => ({
      command: { id: newId(), type, data: { orderId: instanceId }, metadata: {} },
      source: SAGA.saga,
      instanceId,
      compensation,
      createdAt: Date.parse('2026-01-01T11:00:00.000Z'),
    });
    const parkedEntries = [
      outbox('stock.release', 'order-7', true),
      outbox('payment.refund', 'order-7', true),
      outbox('shipment.book', 'order-8', false),
    ];
    await store.transaction(async (tx) => {
      await sagas.saveInstance(
        {
          ...SAGA,
          id: 'order-7',
          status: 'failed',
          step: 'awaiting-shipment',
          newHistory: [],
          failedCompensations: 2,
        },
        tx,
      );
      await sagas.saveInstance(
        { ...SAGA, id: 'order-8', status: 'compensated', step: 'awaiting-payment', newHistory: [] },
        tx,
      );
      await sagas.enqueue(parkedEntries, tx);
    });
    for (const entry of parkedEntries) {
      parkedIds[entry.command.type] = entry.command.id;
      await sagas.settleCommand(entry.command.id, {
        status: 'parked',
        attempts: 5,
        lastError: `${entry.command.type} service down`,
        nextAttemptAt: Date.parse('2026-01-01T11:05:00.000Z'),
        settledAt: Date.parse('2026-01-01T11:05:00.000Z'),
        reply: null,
      });
    }

    server = await createServer({
      store,
      projectors: [projector],
      sagas,
      sagaCommands: new ParkedSagaCommands({ store, sagaStore: sagas }),
      aggregates: { order: orderFold },
      statsSampleMs: 200,
    });
    url = (await server.listen({ host: '127.0.0.1', port: 0 })).url;
    guarded = await createServer({
      store,
      guard: createAccessGuard({
        apiKeys: [{ id: apiKey.id, hash: apiKey.hash, roles: ['admin'] }],
        rules: [{ roles: ['admin'], prefix: '', allow: ['read', 'write', 'delete', 'admin'] }],
      }),
    });
    guardedUrl = (await guarded.listen({ host: '127.0.0.1', port: 0 })).url;

    browser = await launchChromium(dir);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await guarded?.close();
    await projector?.stop();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    page = await openPage(browser, pageErrors);
  });

  afterEach(async () => {
    await page.close();
    const errors = pageErrors.splice(0);
    expect(errors).toEqual([]);
  });

  /** Opens a page of the UI and waits for its heading. */
  async function open(route: string, heading: string | RegExp): Promise<void> {
    await page.goto(`${url}/#${route}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  }

  it('serves the UI at / with its own CSP, and the overview shows the head and charts', async () => {
    const response = await page.goto(`${url}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    const head = await store.headPosition();
    await page.locator('.tile', { hasText: 'Head position' }).getByText(String(head)).waitFor();
    await page.locator('#throughput-chart svg').waitFor();
    await page.locator('#lag-chart li', { hasText: 'order-totals' }).waitFor();
    await page.locator('#health.health-ok').waitFor();
  });

  it('browses and searches streams, then opens a stream', async () => {
    await open('/streams', 'Streams');
    await page
      .locator('#streams-table')
      .getByRole('link', { name: 'customer-1', exact: true })
      .waitFor();

    await page.getByLabel('Stream name starts with').fill('order-');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#streams-table caption', { hasText: 'starting with “order-”' }).waitFor();
    const names = await page.locator('#streams-table tbody tr td:first-child').allTextContents();
    expect(names).toEqual(['order-1', 'order-poison']);

    await page.getByRole('link', { name: 'order-1', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'order-1' }).waitFor();
    await page.locator('#events-table tbody tr').nth(3).waitFor();
    const types = await page.locator('#events-table tbody tr td:nth-child(3)').allTextContents();
    expect(types).toEqual(['order.placed', 'order.line-added', 'order.line-added', 'order.paid']);
  });

  it('shows event data as text, never as markup', async () => {
    await open('/streams/customer-2', 'customer-2');
    await page
      .locator('#events-table')
      .getByText('<img src=x id=injected', { exact: false })
      .waitFor();
    expect(await page.locator('#injected').count()).toBe(0);
  });

  it('opens an event with its data, metadata and causation graph, and follows the graph', async () => {
    await open('/streams/order-1', 'order-1');
    await page
      .locator('#events-table')
      .getByRole('link', { name: 'order.placed', exact: true })
      .click();
    await page.getByRole('heading', { level: 1, name: 'order.placed' }).waitFor();
    await page
      .locator('section', { hasText: 'Data' })
      .locator('.j-key', { hasText: '"total"' })
      .waitFor();

    // Its consequences, two levels down, are nodes of the graph.
    const graph = page.locator('#causation-graph');
    await graph.locator('a.graph-node.current').waitFor();
    expect(await graph.locator('a.graph-node').count()).toBe(3);
    await graph.locator('a.graph-node', { hasText: 'payment.captured' }).click();

    await page.getByRole('heading', { level: 1, name: 'payment.captured' }).waitFor();
    await page.locator('.dl dd', { hasText: 'payment.requested #' }).waitFor();
    expect(await page.locator('#causation-graph a.graph-node').count()).toBe(3);
    expect(await page.locator('#causation-graph a.graph-node.current').textContent()).toContain(
      'payment.captured',
    );
  });

  it('retries a parked event, which then leaves the list', async () => {
    await open('/parked', 'Parked events');
    const row = page.locator('#parked-table tbody tr', { hasText: 'order-poison' });
    await row.getByText('poison order refused').waitFor();
    expect(await projector.listParked('order-totals')).toHaveLength(1);

    refusePoison = false;
    await row.getByRole('button', { name: /^Retry event/ }).click();
    await page.getByText('No parked events').waitFor();
    expect(await row.count()).toBe(0);
    expect(await projector.listParked('order-totals')).toHaveLength(0);
    const { data } = await projector.query('order-totals', (rm: SqliteReadModel) =>
      rm.database.prepare(`SELECT total FROM ${rm.table()} WHERE id = ?`).get('order-poison'),
    );
    expect(data).toEqual({ total: 1 });
  });

  it('time-travels through a stream with the slider', async () => {
    await open('/time-travel/order-1', 'Time travel');
    const state = page.locator('#tt-state');
    await page.locator('#tt-state[data-revision="3"]').waitFor();
    await state.getByText('"paid"').waitFor();

    const slider = page.getByRole('slider', { name: 'Revision' });
    await slider.focus();
    await page.keyboard.press('Home');
    await page.locator('#tt-state[data-revision="0"]').waitFor();
    await state.getByText('"placed"').waitFor();
    expect(await state.locator('.json').textContent()).toContain('"lines": []');

    await page.keyboard.press('ArrowRight');
    await page.locator('#tt-state[data-revision="1"]').waitFor();
    expect(await state.locator('.json').textContent()).toContain('"apple"');
    expect(await state.locator('.json').textContent()).not.toContain('"pear"');
    await state.locator('.badge', { hasText: 'lines' }).waitFor();

    await page.getByRole('button', { name: 'Next revision' }).click();
    await page.locator('#tt-state[data-revision="2"]').waitFor();
    expect(await state.locator('.json').textContent()).toContain('"pear"');
    expect(page.url()).toContain('revision=2');
  });

  it('shows newly appended events in the live tail, and resumes after a pause without gap or duplicate', async () => {
    await open('/tail', 'Live tail');
    await page.locator('#tail-status', { hasText: 'live' }).waitFor();

    const first = await store.append('order-3', [{ type: 'order.placed', data: { total: 3 } }]);
    await page.locator(`#tail-list li[data-position="${first.position}"]`).waitFor();
    expect(await page.locator('#tail-list li').count()).toBe(1);

    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('#tail-status', { hasText: 'paused' }).waitFor();
    const second = await store.append('order-3', [{ type: 'order.paid', data: {} }]);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator(`#tail-list li[data-position="${second.position}"]`).waitFor();
    const items = await page.locator('#tail-list li').all();
    const positions = await Promise.all(items.map((li) => li.getAttribute('data-position')));
    expect(positions).toEqual([String(second.position), String(first.position)]);

    // The connection drops: the browser reconnects with Last-Event-ID, and an event appended
    // meanwhile arrives once.
    server.app.server.closeAllConnections();
    await page.locator('#tail-status', { hasText: 'reconnecting' }).waitFor();
    const third = await store.append('order-3', [{ type: 'order.shipped', data: {} }]);
    await page.locator(`#tail-list li[data-position="${third.position}"]`).waitFor();
    await page.locator('#tail-status', { hasText: 'live' }).waitFor();
    const after = await Promise.all(
      (await page.locator('#tail-list li').all()).map((li) => li.getAttribute('data-position')),
    );
    expect(after).toEqual([third, second, first].map((r) => String(r.position)));
  });

  it('lists projections with their lag and rebuilds one after confirmation', async () => {
    await open('/projections', 'Projections');
    const row = page.locator('#projections-table tr[data-projection="order-totals"]');
    await row.locator('.badge', { hasText: 'running' }).waitFor();
    await row.getByText(/events$/).waitFor();

    await row.getByRole('button', { name: 'Rebuild order-totals' }).click();
    await row.getByRole('button', { name: 'Confirm rebuild of order-totals' }).click();
    await page.getByText('Rebuild of order-totals started.').waitFor();
    // The new build catches up and switches in: build 2 serves.
    await expect.poll(async () => (await projector.status('order-totals')).build).toBe(2);
  });

  it('lists saga instances and shows one step timeline', async () => {
    await open('/sagas', 'Sagas');
    await page.locator('#sagas-table').getByRole('link', { name: 'order-2' }).waitFor();
    await page.getByLabel('Status').selectOption('running');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('#sagas-table caption', { hasText: '1 instance' }).waitFor();

    await page.locator('#sagas-table').getByRole('link', { name: 'order-1' }).click();
    await page.getByRole('heading', { level: 1, name: /order-fulfilment/ }).waitFor();
    const steps = page.locator('#saga-timeline li');
    await steps.nth(3).waitFor();
    expect(await steps.count()).toBe(SAGA.newHistory.length);
    expect(await steps.nth(3).textContent()).toContain('payment.captured');
    await page.getByText('shipment.timeout').waitFor();
  });

  it('retries and skips parked saga commands, showing a refused retry', async () => {
    await open('/sagas', 'Sagas');
    const section = page.locator('#parked-commands[data-state="ready"]');
    await section.waitFor();
    await section
      .locator('#parked-commands-table caption', { hasText: '3 parked commands' })
      .waitFor();
    const row = (type: string) =>
      section.locator(`#parked-commands-table tr[data-command-id="${parkedIds[type]}"]`);
    await row('stock.release').getByText('stock.release service down').waitFor();
    expect(await row('stock.release').textContent()).toContain('compensation');

    // A forward command of an instance that no longer runs cannot be retried: 409, in place.
    await row('shipment.book')
      .getByRole('button', { name: /^Retry shipment\.book/ })
      .click();
    const refused = section.locator('#parked-commands-error').getByRole('alert');
    await refused.filter({ hasText: 'Error 409' }).waitFor();
    expect(await refused.textContent()).toContain('PARKED_COMMAND_NOT_RETRYABLE');
    const admin = new ParkedSagaCommands({ store, sagaStore: sagas });
    expect((await admin.listParked()).map((e) => e.command.type)).toContain('shipment.book');

    // Skip with a reason, from the keyboard: the reason lands in the instance's history.
    await row('stock.release')
      .getByRole('button', { name: /^Skip stock\.release/ })
      .click();
    const reason = row('stock.release').getByLabel('Reason (optional)');
    const reasonId = await reason.getAttribute('id');
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe(reasonId);
    await reason.fill('released by hand');
    await reason.press('Enter');
    await row('stock.release').waitFor({ state: 'detached' });
    await section
      .locator('#parked-commands-table caption', { hasText: '2 parked commands' })
      .waitFor();
    await page.getByRole('status').filter({ hasText: 'Skipped stock.release' }).first().waitFor();
    expect(await section.locator('#parked-commands-error').textContent()).toBe('');
    const skipped = await sagas.loadInstance(SAGA.saga, 'order-7');
    // One compensation is still parked: the instance stays failed.
    expect(skipped?.status).toBe('failed');
    expect((await sagas.getInstance(SAGA.saga, 'order-7'))?.history.at(-1)).toMatchObject({
      kind: 'compensation',
      type: 'stock.release',
      id: parkedIds['stock.release'],
      detail: { outcome: 'skipped', compensation: true, reason: 'released by hand' },
    });

    // On the instance's page, only its own parked command; a retry moves it to compensating.
    await page.locator('#sagas-table').getByRole('link', { name: 'order-7' }).click();
    await page.getByRole('heading', { level: 1, name: /order-7/ }).waitFor();
    const own = page.locator('#parked-commands[data-state="ready"] #parked-commands-table');
    await own.locator('caption', { hasText: '1 parked command' }).waitFor();
    await own.getByRole('button', { name: /^Retry payment\.refund/ }).click();
    await page.getByText('No parked command.').waitFor();
    await page.locator('h1 + .subtitle .badge', { hasText: 'compensating' }).waitFor();
    const retried = await sagas.loadInstance(SAGA.saga, 'order-7');
    expect(retried?.status).toBe('compensating');
    const [pending] = await sagas.listCommands({ instanceId: 'order-7', status: 'pending' });
    expect(pending).toMatchObject({
      command: { id: parkedIds['payment.refund'], type: 'payment.refund' },
      attempts: 0,
    });
    expect((await admin.listParked()).map((e) => e.command.type)).toEqual(['shipment.book']);
  });

  it('hides the parked saga commands on a server that does not manage them', async () => {
    const bare = await createServer({ store, sagas });
    try {
      const bareUrl = (await bare.listen({ host: '127.0.0.1', port: 0 })).url;
      await page.goto(`${bareUrl}/#/sagas`);
      await page.locator('#sagas-table').getByRole('link', { name: 'order-2' }).waitFor();
      const section = page.locator('#parked-commands[data-state="unavailable"]');
      await section.waitFor({ state: 'attached' });
      expect(await section.isVisible()).toBe(false);
      expect(await page.getByRole('alert').count()).toBe(0);
    } finally {
      await bare.close();
    }
  });

  it("shows the API's errors with their status, code and message", async () => {
    await open('/streams/order-404', 'order-404');
    const alert = page.getByRole('alert').filter({ hasText: 'Error 404' });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/STREAM_NOT_FOUND|NOT_FOUND/);

    await open('/time-travel/customer-1', 'Time travel');
    const missing = page.getByRole('alert').filter({ hasText: 'No aggregate is configured' });
    await missing.waitFor();
  });

  it('asks for credentials when the server requires them, then uses them, live tail included', async () => {
    await page.goto(`${guardedUrl}/#/streams`);
    const refused = page.getByRole('alert').filter({ hasText: 'Error 401' });
    await refused.waitFor();

    await refused.getByRole('button', { name: 'Enter credentials' }).click();
    await page.getByLabel('API key or token').fill(apiKey.key);
    await page.getByRole('button', { name: 'Save' }).click();
    await page
      .locator('#streams-table')
      .getByRole('link', { name: 'order-1', exact: true })
      .waitFor();
    await page.getByRole('button', { name: 'Credentials set' }).waitFor();

    // EventSource cannot send the credential: the tail reads the stream with fetch instead.
    await page.getByRole('link', { name: 'Live tail' }).click();
    await page.locator('#tail-status', { hasText: 'live' }).waitFor();
    const appended = await store.append('order-4', [{ type: 'order.placed', data: { total: 4 } }]);
    await page.locator(`#tail-list li[data-position="${appended.position}"]`).waitFor();

    // Dropped, it reconnects by hand with Last-Event-ID: the next event arrives once.
    guarded.app.server.closeAllConnections();
    await page.locator('#tail-status', { hasText: 'reconnecting' }).waitFor();
    const next = await store.append('order-4', [{ type: 'order.paid', data: {} }]);
    await page.locator(`#tail-list li[data-position="${next.position}"]`).waitFor();
    const shown = await Promise.all(
      (await page.locator('#tail-list li').all()).map((li) => li.getAttribute('data-position')),
    );
    expect(shown).toEqual([String(next.position), String(appended.position)]);

    // Forgetting the credential brings the refusal back.
    await page.getByRole('button', { name: 'Credentials set' }).click();
    await page.getByRole('button', { name: 'Forget' }).click();
    await page.locator('#tail-status', { hasText: 'disconnected' }).waitFor();
    await page.getByText(/The live tail stopped: .*401/).waitFor();
  });

  it('fits a phone screen, with the navigation behind a menu button', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await open('/streams', 'Streams');
    await page.locator('#streams-table').waitFor();
    // Wide tables scroll inside their frame; the page itself does not scroll sideways.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);

    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.isVisible()).toBe(false);
    const menu = page.getByRole('button', { name: 'Menu' });
    await menu.click();
    expect(await menu.getAttribute('aria-expanded')).toBe('true');
    await nav.getByRole('link', { name: 'Projections' }).click();
    await page.getByRole('heading', { level: 1, name: 'Projections' }).waitFor();
    await nav.waitFor({ state: 'hidden' });
  });
});
