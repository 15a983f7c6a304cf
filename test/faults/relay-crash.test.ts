import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { NatsMessageBus } from '@causewayjs/nats';
import {
  SqliteEventStore,
  type SqliteTransaction,
  sqliteSubscriptionStorage,
} from '@causewayjs/sqlite';
import { inboxHandler } from '@causewayjs/core';
import { eventually } from '@causewayjs/testing';
import { runWorkerUntil } from '../support/crash.js';
import {
  connectNats,
  deleteNatsStream,
  natsAvailable,
  natsUrl,
  randomNatsName,
} from '../support/nats.js';

const available = await natsAvailable();
const worker = fileURLToPath(new URL('../nats/relay-worker.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'causeway-relay-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!available)('outbox relay killed with SIGKILL mid-run (SQLite → NATS)', () => {
  it('delivers every event, and the inbox consumer applies none twice', async () => {
    const stream = randomNatsName('CRASH');
    const prefix = stream.toLowerCase();
    const outbox = SqliteEventStore.open(join(dir, 'outbox.db'));
    const consumerStore = SqliteEventStore.open(join(dir, 'consumer.db'));
    const consumer = await sqliteSubscriptionStorage(consumerStore);
    consumerStore.database.exec(
      'CREATE TABLE applied (event_id TEXT PRIMARY KEY, position INTEGER NOT NULL, times INTEGER NOT NULL)',
    );
    const nc = await connectNats();
    const bus = await NatsMessageBus.open({ connection: nc, stream, prefix });
    try {
      const total = 3000;
      for (let i = 0; i < total; i += 50)
        await outbox.appendMany(
          Array.from({ length: 50 }, (_, j) => ({
            stream: `account-${(i + j) % 37}`,
            events: [{ type: 'money.moved', data: { n: i + j } }],
          })),
        );
      const member = await bus.subscribe({
        group: 'applier',
        handler: inboxHandler<SqliteTransaction>(consumer, 'applier', (event, { tx }) => {
          tx.database
            .prepare(
              `INSERT INTO applied (event_id, position, times) VALUES (?, ?, 1)
               ON CONFLICT (event_id) DO UPDATE SET times = times + 1`,
            )
            .run(event.id, event.position);
        }),
      });

      const run = (killAt?: number) =>
        runWorkerUntil(
          worker,
          [join(dir, 'outbox.db'), natsUrl, stream, prefix],
          'published',
          killAt,
        );
      const first = await run(900);
      expect(first).toBeLessThan(total);
      const second = await run(2100);
      expect(second).toBeGreaterThanOrEqual(first);
      expect(second).toBeLessThan(total);
      expect(await run()).toBe(total);

      const count = () =>
        (consumerStore.database.prepare('SELECT count(*) AS n FROM applied').get() as { n: number })
          .n;
      await eventually(() => count() === total, `${total} applied events`, 60_000);
      const twice = consumerStore.database
        .prepare('SELECT count(*) AS n FROM applied WHERE times <> 1')
        .get() as { n: number };
      expect(twice.n).toBe(0);
      const positions = consumerStore.database
        .prepare('SELECT min(position) AS lo, max(position) AS hi FROM applied')
        .get() as { lo: number; hi: number };
      expect(positions).toEqual({ lo: 1, hi: total });
      // The broker kept each event once: republished ones were dropped by id.
      const info = await (await jetstreamManager(nc)).streams.info(stream);
      expect(info.state.messages).toBe(total);
      await member.stop();
    } finally {
      await bus.close();
      await deleteNatsStream(nc, stream);
      await nc.close();
      await consumerStore.close();
      await outbox.close();
    }
  }, 180_000);
});
