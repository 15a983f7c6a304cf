import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStoreContext } from '@causewayjs/cli';
import { startShop } from '../../examples/shop/start-shop.js';
import { FULFILMENT_SAGA } from '../../examples/shop/fulfilment-saga.js';
import { until } from '../cli/cli-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'causeway-shop-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The value of the sample `name{labels}` in a Prometheus text, or undefined. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe("the shop server's metrics", () => {
  it('show the fulfilment saga runtime after a completed order (SQLite)', async () => {
    const context = await openStoreContext(`sqlite:${join(dir, 'shop.db')}`);
    const shop = await startShop({ context, port: 0, paymentFailureRate: 0 });
    try {
      const reply = await shop.commands.send('order.place', {
        orderId: 'm-1',
        customerId: 'c-1',
        lines: [{ sku: 'tea-sencha', quantity: 1, unitPrice: 890 }],
      });
      expect(reply.status).toBe('accepted');
      await until(
        async () => (await shop.sagas!.getInstance(FULFILMENT_SAGA, 'm-1'))?.status === 'completed',
        'the order saga to complete',
      );
      const sagaStore = await context.sagaStore();
      const sent = (await sagaStore.listCommands({ instanceId: 'm-1', status: 'sent' })).length;
      expect(sent).toBeGreaterThan(0);
      // The outbox settles a command after its dispatch; wait until every sent one is counted.
      let text = '';
      await until(async () => {
        text = await (await fetch(`${shop.url!}metrics`)).text();
        return sample(text, 'causeway_saga_commands_total', 'outcome="sent"') === sent;
      }, 'the sent commands in the metrics');
      expect(sample(text, 'causeway_saga_events_total', 'outcome="started"')).toBe(1);
      expect(sample(text, 'causeway_saga_commands_total', 'outcome="parked"')).toBe(0);
      expect(sample(text, 'causeway_saga_outbox_commands', 'status="pending"')).toBe(0);
      expect(
        sample(text, 'causeway_saga_instances', `saga="${FULFILMENT_SAGA}",status="completed"`),
      ).toBe(1);
      // No relay without --bus: its metrics have no samples.
      expect(text).not.toMatch(/^causeway_relay_published_total\{/m);
      const parked = await fetch(`${shop.url!}saga-commands/parked`);
      expect(parked.status).toBe(200);
      expect(await parked.json()).toEqual({ commands: [], next: null });
    } finally {
      await shop.stop();
      await context.close();
    }
  });
});
