import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, NoCommandResponderError } from '@causewayjs/core';
import { openStoreContext } from '@causewayjs/cli';
import { startShop } from '../../examples/shop/start-shop.js';
import { waitForEvents } from '../../examples/shop/wait-for-events.js';
import { orderHistory } from '../../examples/shop/order-history-projection.js';
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
import { NatsCommandDispatcher } from '@causewayjs/nats';
import {
  SHOP_COMMAND_SUBJECT_ROOT,
  shopCommandNamespace,
  shopCommandPrefix,
} from '../../examples/shop/shop-bus.js';

/** A command request seen on the wire by the test's monitor subscription. */
interface SeenCommand {
  subject: string;
  id: string;
  type: string;
  data: Record<string, unknown> | null;
}

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
        orderHistory(rm).get(orderId),
      );
      expect(data).toMatchObject({
        order_id: orderId,
        status: 'completed',
        tracking_number: `TRK-${orderId}`,
      });
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
        'packages/cli/src/main.ts',
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
      version: 2,
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

  it.skipIf(!nats)(
    "with --bus, relays events to JetStream and sends the saga's commands over NATS, one namespace per store",
    async () => {
      // Two shops (two SQLite files) on one NATS server, with a monitor on every shop command.
      const nc = await connectNats();
      const seen: SeenCommand[] = [];
      const monitor = nc.subscribe(`${SHOP_COMMAND_SUBJECT_ROOT}.>`, {
        callback: (error, msg) => {
          if (error) return;
          const command = JSON.parse(msg.string()) as Omit<SeenCommand, 'subject'>;
          seen.push({ ...command, subject: msg.subject });
        },
      });
      await nc.flush();
      const streams = [randomNatsName('SHOP'), randomNatsName('SHOP')];
      const contexts = await Promise.all(
        ['bus-a.db', 'bus-b.db'].map((file) => openStoreContext(`sqlite:${join(dir, file)}`)),
      );
      const shops: Awaited<ReturnType<typeof startShop>>[] = [];
      try {
        for (const [i, context] of contexts.entries())
          shops.push(
            await startShop({
              context,
              bus: natsUrl,
              busStream: streams[i]!,
              busPrefix: streams[i]!.toLowerCase(),
              rate: 10,
              orders: 3,
              seed: 5 + i,
              paymentFailureRate: 0,
            }),
          );
        const prefixes = shops.map((shop) => shop.commandBus!.prefix);
        // The namespace comes from the store: the same derivation in any process, not shared.
        expect(prefixes).toEqual(contexts.map((c) => shopCommandPrefix(shopCommandNamespace(c))));
        expect(prefixes[0]).not.toBe(prefixes[1]);

        for (const [i, shop] of shops.entries()) {
          const { store } = contexts[i]!;
          expect(shop.parts).toMatchObject({ bus: 'running', commandBus: 'running' });
          await shop.traffic!.done();
          const placed = await waitForEvents(store, 'order.placed', 3, { timeoutMs: 30_000 });
          const ids = placed.map((e) => e.stream.slice('order-'.length));
          const settled = async () =>
            (
              await collect(
                store.readAll({ filter: { types: ['order.completed', 'order.cancelled'] } }),
              )
            ).length === 3;
          await until(settled, 'three orders to settle', 60_000);
          const completed = await collect(
            store.readAll({ filter: { types: ['order.completed'] } }),
          );
          expect(completed.length).toBeGreaterThan(0);

          // Every saga step went over NATS, on this shop's subjects only.
          const mine = seen.filter((c) => c.subject.startsWith(`${prefixes[i]}.`));
          const others = seen.filter((c) => !c.subject.startsWith(`${prefixes[i]}.`));
          for (const event of completed) {
            const orderId = event.stream.slice('order-'.length);
            const types = new Set(
              mine.filter((c) => c.data?.orderId === orderId).map((c) => c.type),
            );
            expect([...types]).toEqual(
              expect.arrayContaining([
                'inventory.reserve',
                'payment.authorise',
                'order.confirm',
                'payment.capture',
                'order.complete',
              ]),
            );
            expect(others.some((c) => c.data?.orderId === orderId)).toBe(false);
          }
          expect(mine.every((c) => c.subject === `${prefixes[i]}.${c.type}`)).toBe(true);
          expect(mine.every((c) => ids.includes(c.data?.orderId as string))).toBe(true);
          // This process answered them (there is no other responder on its subjects).
          expect(shop.commandBus!.responder.answered).toBeGreaterThanOrEqual(completed.length * 5);

          // And every committed event went to the shop's JetStream stream, once.
          const head = await store.headPosition();
          await shop.bus!.relay.waitForPosition(head, { timeoutMs: 30_000 });
          const jsm = await jetstreamManager(nc);
          const info = await jsm.streams.info(streams[i]!);
          expect(info.state.messages).toBeGreaterThanOrEqual(head);
          expect(info.state.messages).toBe(shop.bus!.relay.status().publishedThrough);
        }
      } finally {
        for (const shop of shops) await shop.stop();
        for (const context of contexts) await context.close();
        monitor.unsubscribe();
        for (const stream of streams) await deleteNatsStream(nc, stream);
        await nc.close();
      }
      // Stopping closed the shops' NATS connections: nothing answers their commands any more.
      expect(shops.map((shop) => shop.commandBus!.isClosed())).toEqual([true, true]);
      const probe = await connectNats();
      try {
        for (const shop of shops)
          await expect(
            new NatsCommandDispatcher({
              connection: probe,
              prefix: shop.commandBus!.prefix,
              timeoutMs: 2000,
            }).dispatch({ id: 'after-stop', type: 'order.complete', data: {}, metadata: {} }),
          ).rejects.toBeInstanceOf(NoCommandResponderError);
      } finally {
        await probe.close();
      }
    },
  );

  it("refuses command subjects the events' stream would capture, or a bad namespace, and stops what it started", async () => {
    const context = await openStoreContext(`sqlite:${join(dir, 'bus-bad.db')}`);
    try {
      // Validated before connecting: no NATS server is needed to see it refused.
      for (const bad of [
        { busPrefix: SHOP_COMMAND_SUBJECT_ROOT },
        { busPrefix: 'causeway-shop-commands.x', busCommandNamespace: 'x' },
        { busCommandNamespace: 'two.tokens' },
      ])
        await expect(
          startShop({ context, bus: 'nats://127.0.0.1:1', seedCatalog: false, ...bad }),
        ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      // The default event prefix (`causeway`) does not take in the command subjects.
      expect(shopCommandPrefix(shopCommandNamespace(context)).startsWith('causeway.')).toBe(false);
      // Nothing was left running: the store can be used and closed.
      expect(await context.store.headPosition()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it.skipIf(!nats || !pg)(
    'with --bus on one PostgreSQL, the handlers of both processes serve the one running saga',
    async () => {
      const schema = randomSchemaName();
      const url = `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=${schema}`;
      const stream = randomNatsName('SHOP');
      const bus = { bus: natsUrl, busStream: stream, busPrefix: stream.toLowerCase() };
      const a = await openStoreContext(url);
      const b = await openStoreContext(url);
      const nc = await connectNats();
      const prefix = shopCommandPrefix(shopCommandNamespace(a));
      const seen: SeenCommand[] = [];
      const monitor = nc.subscribe(`${prefix}.>`, {
        callback: (error, msg) => {
          if (!error)
            seen.push({ ...(JSON.parse(msg.string()) as SeenCommand), subject: msg.subject });
        },
      });
      await nc.flush();
      const shopA = await startShop({
        context: a,
        memberId: 'member-a',
        ...bus,
        paymentFailureRate: 0,
        rate: 10,
        orders: 8,
        seed: 11,
      });
      const shopB = await startShop({
        context: b,
        memberId: 'member-b',
        seedCatalog: false,
        ...bus,
        paymentFailureRate: 0,
      });
      try {
        // One shop, one namespace: the two processes share the command queue group.
        expect(shopA.commandBus!.prefix).toBe(prefix);
        expect(shopB.commandBus!.prefix).toBe(prefix);
        expect(shopB.commandBus!.queue).toBe(shopA.commandBus!.queue);
        await shopA.traffic!.done();
        const settled = async () =>
          (
            await collect(
              a.store.readAll({ filter: { types: ['order.completed', 'order.cancelled'] } }),
            )
          ).length === 8;
        await until(settled, 'eight orders to settle', 90_000);
        const completed = await collect(
          a.store.readAll({ filter: { types: ['order.completed'] } }),
        );
        expect(completed.length).toBeGreaterThan(0);
        for (const event of completed)
          expect(
            seen.some(
              (c) =>
                c.type === 'order.complete' &&
                c.data?.orderId === event.stream.slice('order-'.length),
            ),
          ).toBe(true);
        // The saga runs in one process at a time (a lease), and its commands (the traffic's
        // stay in process) were answered by both: NATS spread them over the queue group, so
        // the handlers of one process served the other's saga.
        const answered = [shopA, shopB].map((shop) => shop.commandBus!.responder.answered);
        expect(answered[0]).toBeGreaterThan(0);
        expect(answered[1]).toBeGreaterThan(0);
        expect(answered[0]! + answered[1]!).toBeGreaterThanOrEqual(completed.length * 5);
      } finally {
        await shopB.stop();
        await shopA.stop();
        await b.close();
        await a.close();
        await dropSchema(schema);
        monitor.unsubscribe();
        await deleteNatsStream(nc, stream);
        await nc.close();
      }
    },
  );
});
