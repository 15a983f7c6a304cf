import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { collect } from '../../src/index.js';
import { openStoreContext } from '../../src/cli/store-context.js';
import { startShop } from '../../examples/shop/start-shop.js';
import { waitForEvents } from '../../examples/shop/wait-for-events.js';
import { shopSql } from '../../examples/shop/shop-read-model.js';
import type { OrderHistoryRow } from '../../examples/shop/order-history-projection.js';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import {
  connectNats,
  deleteNatsStream,
  natsAvailable,
  natsUrl,
  randomNatsName,
} from '../support/nats.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { cli, until } from '../cli/cli-harness.js';

const execFileAsync = promisify(execFile);
const repo = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'causeway-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pg = await pgAvailable();
const nats = await natsAvailable();

describe('the shop demo', () => {
  it('serves the admin UI and completes its first order end to end (SQLite, in process)', async () => {
    const context = await openStoreContext(`sqlite:${join(dir, 'in-process.db')}`);
    const shop = await startShop({ context, port: 0, rate: 5, seed: 7, paymentFailureRate: 0 });
    try {
      expect(shop.parts).toMatchObject({
        projections: 'running',
        fulfilment: 'running',
        server: 'running',
        traffic: 'running',
      });
      const page = await fetch(shop.url!);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);

      const [completed] = await waitForEvents(context.store, 'order.completed', 1, {
        timeoutMs: 30_000,
      });
      const orderId = completed!.stream.slice('order-'.length);
      // The read side catches up: the order history shows it completed, with its tracking number.
      await shop.projector.waitFor('order-history', completed!.position, { timeoutMs: 10_000 });
      const { data } = await shop.projector.query('order-history', (rm) =>
        shopSql(rm).all<OrderHistoryRow>(`SELECT * FROM ${rm.table()} WHERE order_id = ?`, [
          orderId,
        ]),
      );
      expect(data).toMatchObject([
        { order_id: orderId, status: 'completed', tracking_number: `TRK-${orderId}` },
      ]);
      // The saga itself completes when its subscription has received the order's completion.
      await until(
        async () =>
          (await shop.sagas!.getInstance('order-fulfilment', orderId))?.status === 'completed',
        'the saga instance to complete',
      );
      // And over HTTP.
      const stream = await fetch(`${shop.url!}streams/${completed!.stream}`);
      expect(stream.status).toBe(200);
    } finally {
      await shop.stop();
      await context.close();
    }
  });

  it('runs as `causeway demo` (what npm start runs) until its orders have settled', async () => {
    const store = `sqlite:${join(dir, 'child.db')}`;
    const { stdout } = await execFileAsync(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'demo',
        '--store',
        store,
        '--port',
        '0',
        '--orders',
        '4',
        '--rate',
        '10',
        '--payment-failure-rate',
        '0.5',
        '--status-every',
        '0',
        '--json',
      ],
      { cwd: repo, timeout: 120_000 },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]?.event).toBe('started');
    expect(lines[0]?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const last = lines[lines.length - 1] as {
      counts: { completed: number; cancelled: number; total: number };
    };
    expect(last.counts.total).toBe(4);
    expect(last.counts.completed + last.counts.cancelled).toBe(4);

    // What the demo wrote is in the store for the CLI to look at.
    const context = await openStoreContext(store);
    let head: number;
    try {
      const placed = await collect(context.store.readAll({ filter: { types: ['order.placed'] } }));
      expect(placed).toHaveLength(4);
      head = await context.store.headPosition();
    } finally {
      await context.close();
    }
    const sagas = await cli(['sagas', 'list', '--store', store, '--json']);
    expect(sagas.code).toBe(0);
    const instances = JSON.parse(sagas.stdout) as { id: string; status: string }[];
    expect(instances).toHaveLength(4);
    expect(instances.every((i) => i.status === 'completed' || i.status === 'compensated')).toBe(
      true,
    );
    const shown = await cli([
      'sagas',
      'show',
      'order-fulfilment',
      instances[0]!.id,
      '--store',
      store,
    ]);
    expect(shown.stdout).toMatch(/received\s+order\.placed/);
    expect((await cli(['sagas', 'show', 'order-fulfilment', 'nope', '--store', store])).code).toBe(
      2,
    );

    // A rebuild by hand makes build 2 of the order history, caught up with the log.
    const rebuilt = await cli([
      'projections',
      'rebuild',
      'order-history',
      '--store',
      store,
      '--json',
    ]);
    expect(rebuilt.stderr).toBe('');
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({
      name: 'order-history',
      version: 1,
      build: 2,
      position: head,
    });
    const list = await cli(['projections', 'list', '--store', store, '--json']);
    const builds = JSON.parse(list.stdout) as {
      name: string;
      build: number;
      status: string;
      lag: number;
    }[];
    expect(builds.filter((b) => b.name === 'order-history')).toMatchObject([
      { build: 2, status: 'serving', lag: 0 },
    ]);
    expect((await cli(['projections', 'rebuild', 'no-such', '--store', store])).code).toBe(2);
  });

  it.skipIf(!pg)(
    'shares the work of two processes on one PostgreSQL through the consumer group',
    async () => {
      const schema = randomSchemaName();
      const url = `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=${schema}`;
      const a = await openStoreContext(url);
      const b = await openStoreContext(url);
      const shopA = await startShop({
        context: a,
        memberId: 'member-a',
        rate: 10,
        orders: 12,
        seed: 3,
      });
      const shopB = await startShop({ context: b, memberId: 'member-b', seedCatalog: false });
      try {
        // Both members join; the partitions are split between them.
        const joined = () =>
          shopA.notifier.status.members.length === 2 && shopB.notifier.status.members.length === 2;
        const deadline = Date.now() + 30_000;
        while (!joined() && Date.now() < deadline)
          await new Promise((resolve) => {
            const off = shopA.notifier.onStatus(() => {
              off();
              resolve(undefined);
            });
          });
        expect(joined()).toBe(true);
        const assignedA = shopA.notifier.status.assigned;
        const assignedB = shopB.notifier.status.assigned;
        expect(assignedA.length).toBeGreaterThan(0);
        expect(assignedB.length).toBeGreaterThan(0);
        expect([...assignedA, ...assignedB].sort((x, y) => x - y)).toEqual([0, 1, 2, 3]);

        await shopA.traffic!.done();
        // Every order settles, and every placed/completed/cancelled order event gets exactly one notification.
        const settled = await waitForEvents(a.store, 'order.placed', 12, { timeoutMs: 30_000 });
        expect(settled).toHaveLength(12);
        const completed = await collect(
          a.store.readAll({ filter: { types: ['order.completed'] } }),
        );
        const cancelled = await collect(
          a.store.readAll({ filter: { types: ['order.cancelled'] } }),
        );
        const expected = 12 + completed.length + cancelled.length;
        const notified = await waitForEvents(a.store, 'customer.notified', expected, {
          timeoutMs: 30_000,
        });
        const causes = notified.map((e) => e.metadata.causationId);
        expect(new Set(causes).size).toBe(causes.length);
      } finally {
        await shopB.stop();
        await shopA.stop();
        await b.close();
        await a.close();
        await dropSchema(schema);
      }
    },
  );

  it.skipIf(!nats)('publishes every committed event to NATS JetStream with --bus', async () => {
    const stream = randomNatsName('SHOP');
    const context = await openStoreContext(`sqlite:${join(dir, 'bus.db')}`);
    const nc = await connectNats();
    const shop = await startShop({
      context,
      bus: natsUrl,
      busStream: stream,
      busPrefix: stream.toLowerCase(),
      rate: 5,
      orders: 2,
      seed: 5,
    });
    try {
      expect(shop.parts.bus).toBe('running');
      await shop.traffic!.done();
      await waitForEvents(context.store, 'order.placed', 2, { timeoutMs: 30_000 });
      const head = await context.store.headPosition();
      await shop.bus!.relay.waitForPosition(head, { timeoutMs: 30_000 });
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(stream);
      // Each event once (more may have been committed and relayed since `head`).
      expect(info.state.messages).toBeGreaterThanOrEqual(head);
      expect(info.state.messages).toBe(shop.bus!.relay.status().publishedThrough);
    } finally {
      await shop.stop();
      await context.close();
      await deleteNatsStream(nc, stream);
      await nc.close();
    }
  });
});
