import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { openStoreContext } from '@causewayjs/cli';
import { serveStore } from '@causewayjs/cli/internals';

describe('causeway serve: subscriptions run elsewhere', () => {
  it('reports their lag from their stored checkpoints on /stats and /metrics', async () => {
    const context = await openStoreContext('memory:');
    const controller = new AbortController();
    const stdout = new PassThrough();
    let printed = '';
    stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    try {
      await context.store.append(
        'order-1',
        [1, 2, 3, 4, 5].map((n) => ({ type: 'order.noted', data: { n } })),
      );
      const storage = await context.subscriptionStorage();
      await storage.checkpoints.save('mailer', 2);
      const served = serveStore(
        context,
        {
          stdout,
          stderr: new PassThrough(),
          interactive: false,
          env: {},
          signal: controller.signal,
        },
        { port: 0, host: '127.0.0.1', json: true, logLevel: 'silent' },
      );
      let url = '';
      await vi.waitFor(
        () => {
          const line = printed.split('\n').find((l) => l.includes('"listening"'));
          expect(line).toBeDefined();
          url = (JSON.parse(line!) as { url: string }).url;
        },
        { timeout: 10_000, interval: 20 },
      );
      const stats = (await (await fetch(`${url}stats`)).json()) as {
        head: number;
        subscriptions: {
          name: string;
          state: string;
          position: number | null;
          lag: number | null;
        }[];
      };
      expect(stats.head).toBe(5);
      expect(stats.subscriptions).toEqual([
        expect.objectContaining({ name: 'mailer', state: 'checkpointed', position: 2, lag: 3 }),
      ]);
      const metrics = await (await fetch(`${url}metrics`)).text();
      expect(metrics).toContain('causeway_subscription_lag_events{subscription="mailer"} 3');
      controller.abort();
      await served;
    } finally {
      controller.abort();
      await context.close();
    }
  });
});
