import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { openStoreContext } from '@causewayjs/cli';
import { storeStats } from '@causewayjs/cli/internals';
import { SagaRuntime } from '@causewayjs/core';
import { startShop } from '../../examples/shop/start-shop.js';
import { FULFILMENT_SAGA } from '../../examples/shop/fulfilment-saga.js';

/** Every sample of `name` in a Prometheus text, by its label set (`a="x",b="y"`). */
function samples(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels = line.startsWith(`${name}{`)
      ? line.slice(name.length + 1, line.indexOf('}'))
      : '';
    found.set(labels, Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return found;
}

interface StatsComponent {
  name: string;
  state: string;
  position: number | null;
  lag: number | null;
}

describe("the running shop's operator figures", () => {
  it('report every runner at the store head with lag 0, and count every append, on /metrics, /stats and the CLI', async () => {
    const context = await openStoreContext('memory:');
    const shop = await startShop({
      context,
      port: 0,
      rate: 40,
      durationMs: 2_000,
      seed: 7,
      paymentFailureRate: 0.2,
    });
    try {
      await shop.traffic!.done();
      const placed = shop.trafficStats()!.placed;
      expect(placed).toBeGreaterThan(10);
      const saga = shop.sagas;
      if (!(saga instanceof SagaRuntime)) throw new Error('the shop runs its saga here');

      // Settled: every order done, and every runner of this process at the store's head
      // (read from the runners themselves, not from any figure under test).
      const livePositions = async () => {
        const positions = new Map<string, number>();
        for (const p of shop.notifier.status.partitions) positions.set(p.name, p.position);
        for (const [name, position] of Object.entries(saga.status.positions))
          positions.set(name, position);
        for (const s of await shop.projector.statuses()) positions.set(s.name, s.position);
        return positions;
      };
      let head = 0;
      await vi.waitFor(
        async () => {
          const counts = await shop.orderCounts();
          expect(counts.completed + counts.cancelled).toBe(placed);
          head = await context.store.headPosition();
          for (const [name, position] of await livePositions())
            expect({ name, position }).toEqual({ name, position: head });
          expect(await context.store.headPosition()).toBe(head);
        },
        { timeout: 60_000, interval: 100 },
      );
      const storage = await context.subscriptionStorage();
      const checkpoints = new Map(
        (await storage.checkpoints.list()).map((c) => [c.name, c.position]),
      );
      const partitions = shop.notifier.status.partitions.map((p) => p.name);
      expect(partitions).toHaveLength(4);
      const subscriptions = [`saga:${FULFILMENT_SAGA}`, ...partitions];

      // /metrics: lag of each subscription is head - its position, 0 now; appends counted.
      const metrics = await (await fetch(`${shop.url!}metrics`)).text();
      const lags = samples(metrics, 'causeway_subscription_lag_events');
      for (const name of subscriptions) {
        expect({ name, lag: lags.get(`subscription="${name}"`) }).toEqual({ name, lag: 0 });
        const checkpoint = checkpoints.get(name);
        expect(checkpoint, name).toBeDefined();
        expect(checkpoint!).toBeLessThanOrEqual(head);
      }
      const projectionLags = samples(metrics, 'causeway_projection_lag_events');
      for (const s of await shop.projector.statuses())
        expect(projectionLags.get(`projection="${s.name}"`)).toBe(0);
      expect(samples(metrics, 'causeway_head_position').get('')).toBe(head);
      // Every event of this fresh store was appended by the shop, through its store.
      expect(samples(metrics, 'causeway_events_appended_total').get('')).toBe(head);

      // /stats (what the admin UI charts): each subscription live, at the head, lag 0.
      const stats = (await (await fetch(`${shop.url!}stats`)).json()) as {
        head: number;
        appends: { events: number };
        subscriptions: StatsComponent[];
        projections: { name: string; lag: { events: number } }[];
        components: (StatsComponent & { kind: string })[];
      };
      expect(stats.head).toBe(head);
      expect(stats.appends.events).toBe(head);
      for (const name of subscriptions) {
        const s = stats.subscriptions.find((x) => x.name === name);
        expect(s, name).toMatchObject({ name, state: 'live', position: head, lag: 0 });
      }
      for (const p of stats.projections) expect(p.lag.events, p.name).toBe(0);
      // The analytics stream jobs: position and lag as each job reports its own position.
      const jobs = Object.values(shop.analytics.status());
      expect(jobs).toHaveLength(4);
      for (const job of jobs) {
        const c = stats.components.find((x) => x.kind === 'stream-job' && x.name === job.name);
        const position = typeof job.position === 'number' ? job.position : 0;
        expect(c, job.name).toMatchObject({
          state: job.state,
          position,
          lag: Math.max(0, head - position),
        });
      }

      // The CLI's stats: from the stored checkpoints, lag = head - checkpoint.
      const out = new PassThrough();
      const cli = await storeStats(
        context,
        {
          stdout: out,
          stderr: new PassThrough(),
          interactive: false,
          env: {},
          signal: new AbortController().signal,
        },
        { json: true },
      );
      expect(cli.headPosition).toBe(head);
      for (const name of subscriptions) {
        const s = cli.subscriptions.find((x) => x.name === name);
        expect(s, name).toEqual({
          name,
          position: checkpoints.get(name),
          lag: head - checkpoints.get(name)!,
          parked: 0,
        });
      }
    } finally {
      await shop.stop();
      await context.close();
    }
  }, 90_000);
});
