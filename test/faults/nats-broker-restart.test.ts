import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { NatsMessageBus } from '@causewayjs/nats';
import {
  BusUnavailableError,
  OutboxRelay,
  type OutboxRelayStatus,
  type RecordedEvent,
  MemoryEventStore,
  memorySubscriptionStorage,
} from '@causewayjs/core';
import { busEvent, eventually } from '@causewayjs/testing';
import { OwnNatsServer, natsServerInstalled } from '../nats/own-nats-server.js';

const dir = mkdtempSync(join(tmpdir(), 'causeway-nats-restart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!natsServerInstalled)('a broker that goes down and restarts mid-run', () => {
  it('publish retries then fails typed; the relay waits, reports its lag and loses nothing', async () => {
    const server = await OwnNatsServer.create(join(dir, 'store'));
    await server.start();
    const nc = await connect({
      servers: server.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 50,
    });
    const store = new MemoryEventStore();
    const storage = memorySubscriptionStorage(store);
    const bus = await NatsMessageBus.open({
      connection: nc,
      stream: 'RESTART',
      prefix: 'restart',
      publishTimeoutMs: 300,
      publishRetry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 50 },
    });
    const relay = new OutboxRelay({
      storage,
      bus,
      batchSize: 20,
      maxInFlight: 10,
      retry: { baseDelayMs: 20, maxDelayMs: 100 },
    });
    const seen = new Map<string, RecordedEvent>();
    try {
      const append = async (from: number, count: number) => {
        for (let i = from; i < from + count; i++)
          await store.append(`order-${i}`, [{ type: 'order.placed', data: { i } }]);
      };
      await append(0, 100);
      await relay.start();
      await relay.waitForPosition(100);

      await server.kill();
      // A direct publish retries, then fails with a typed error.
      const error = await bus.publish(busEvent('x-1', 'x.lost')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BusUnavailableError);

      const states: OutboxRelayStatus['state'][] = [];
      relay.onStatus((s) => states.push(s.state));
      await append(100, 100);
      // The status reports the head as of the relay's last read: it reads again each retry.
      await eventually(
        () => relay.status().state === 'waiting-for-broker' && relay.status().lag === 100,
        'the relay to wait, 100 behind',
      );
      expect(relay.status().position).toBe(100);
      expect(await relay.lag()).toBe(100);

      await server.start();
      await relay.waitForPosition(200, { timeoutMs: 30_000 });
      expect(relay.status()).toMatchObject({ state: 'running', lag: 0, lastError: undefined });
      expect(states).toContain('waiting-for-broker');

      const member = await bus.subscribe({
        group: 'after',
        handler: (e) => void seen.set(e.id, e),
      });
      await eventually(() => seen.size === 200, 'all 200 events from the restarted broker', 30_000);
      await member.stop();
      const positions = [...seen.values()].map((e) => e.position).sort((a, b) => a - b);
      expect(positions).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      const info = await (await jetstreamManager(nc)).streams.info('RESTART');
      expect(info.state.messages).toBe(200);
    } finally {
      await relay.stop();
      await bus.close();
      await nc.close();
      await store.close();
      await server.kill();
    }
  }, 90_000);
});
