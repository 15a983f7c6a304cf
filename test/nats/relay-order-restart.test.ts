import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { NatsMessageBus } from '@causewayjs/nats';
import {
  OutboxRelay,
  decodeBusMessage,
  type RecordedEvent,
  MemoryEventStore,
  memorySubscriptionStorage,
} from '@causewayjs/core';
import { OwnNatsServer, natsServerInstalled } from './own-nats-server.js';

const dir = mkdtempSync(join(tmpdir(), 'causeway-nats-order-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every message of a JetStream stream, by sequence, decoded. */
async function streamContents(
  jsm: JetStreamManager,
  stream: string,
): Promise<{ sequence: number; event: RecordedEvent | undefined }[]> {
  const info = await jsm.streams.info(stream);
  const out: { sequence: number; event: RecordedEvent | undefined }[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq += 200) {
    const chunk = await Promise.all(
      Array.from({ length: Math.min(200, info.state.last_seq - seq + 1) }, (_, i) =>
        jsm.streams.getMessage(stream, { seq: seq + i }),
      ),
    );
    for (const [i, m] of chunk.entries())
      out.push({ sequence: seq + i, event: m ? decodeBusMessage(m.data) : undefined });
  }
  return out;
}

describe.skipIf(!natsServerInstalled)('outbox relay order across a broker failure', () => {
  it('keeps the stream in exact position order when the broker dies with hundreds in flight', async () => {
    const total = 4000;
    const server = await OwnNatsServer.create(join(dir, 'store'));
    await server.start();
    const nc = await connect({
      servers: server.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 50,
    });
    const store = new MemoryEventStore();
    const storage = memorySubscriptionStorage(store);
    // Publishes outlive the restart and are retried with jitter: the retries of one window
    // reach the restarted broker in any order, which is what used to reorder the stream.
    const bus = await NatsMessageBus.open({
      connection: nc,
      stream: 'ORDER',
      prefix: 'order',
      publishTimeoutMs: 500,
      publishRetry: { attempts: 200, baseDelayMs: 20, maxDelayMs: 250 },
    });
    const relay = new OutboxRelay({
      storage,
      bus,
      batchSize: 1000,
      maxInFlight: 256,
      retry: { baseDelayMs: 20, maxDelayMs: 100 },
    });
    let killed: Promise<void> | undefined;
    let positionAtKill = -1;
    try {
      for (let i = 0; i < total; i += 500)
        await store.appendMany(
          Array.from({ length: 500 }, (_, j) => ({
            stream: `order-${(i + j) % 97}`,
            events: [{ type: j % 3 === 0 ? 'order.placed' : 'order.paid', data: { n: i + j } }],
          })),
        );
      // Killed from the status listener, as soon as two windows are acknowledged: the
      // relay issues the next 256 publishes right after, so they meet a dying broker.
      const off = relay.onStatus((s) => {
        if (!killed && s.publishedThrough >= 512) {
          positionAtKill = s.publishedThrough;
          killed = server.kill();
        }
      });
      await relay.start();
      await expect.poll(() => killed !== undefined, { timeout: 30_000, interval: 5 }).toBe(true);
      off();
      await killed;
      await server.start();
      await relay.waitForPosition(total, { timeoutMs: 60_000 });

      expect(positionAtKill).toBeGreaterThanOrEqual(512);
      expect(positionAtKill).toBeLessThan(total);
      const jsm = await jetstreamManager(nc);
      const contents = await streamContents(jsm, 'ORDER');
      // None missing, none twice, none out of place: message n is the event at position n.
      expect(contents).toHaveLength(total);
      const positions = contents.map((m) => m.event?.position);
      expect(positions).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(new Set(contents.map((m) => m.event?.id)).size).toBe(total);
      expect(relay.status()).toMatchObject({ state: 'running', position: total, lag: 0 });
    } finally {
      await relay.stop();
      await bus.close();
      await nc.close();
      await store.close();
      await server.kill();
    }
  }, 120_000);
});
