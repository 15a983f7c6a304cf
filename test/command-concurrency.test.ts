import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresEventStore, PostgresSnapshotStore } from '@causewayjs/postgres';
import { SqliteEventStore, SqliteSnapshotStore } from '@causewayjs/sqlite';
import {
  CommandHandler,
  MemoryEventStore,
  MemorySnapshotStore,
  collect,
  everyNEvents,
  fold,
  type EventStore,
  type SnapshotStore,
} from '@causewayjs/core';
import {
  orderDecider,
  type OrderCommand,
  type OrderEvent,
} from '../examples/shop/order-decider.js';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from './support/postgres.js';

/**
 * One database, seen by two writers (two connections, as two processes would hold), each
 * with its snapshot store on the same database.
 */
interface Database {
  writers: { store: EventStore; snapshots: SnapshotStore }[];
  close(): Promise<void>;
}

const adapters: { name: string; available: boolean; open: () => Promise<Database> }[] = [
  {
    name: 'memory',
    available: true,
    open: () => {
      const store = new MemoryEventStore();
      const snapshots = new MemorySnapshotStore();
      return Promise.resolve({
        writers: [{ store, snapshots }],
        close: () => store.close(),
      });
    },
  },
  {
    name: 'sqlite',
    available: true,
    open: () => {
      const dir = mkdtempSync(join(tmpdir(), 'causeway-commands-'));
      const stores = [0, 1].map(() => SqliteEventStore.open(join(dir, 'events.db')));
      return Promise.resolve({
        writers: stores.map((store) => ({ store, snapshots: SqliteSnapshotStore.open(store) })),
        close: async () => {
          for (const store of stores) await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      });
    },
  },
  {
    name: 'postgres',
    available: await pgAvailable(),
    open: async () => {
      const schema = randomSchemaName();
      const options = { schema, maxConnections: 4 };
      const writers: Database['writers'] = [];
      const closers: (() => Promise<void>)[] = [];
      for (let i = 0; i < 2; i++) {
        const store = await PostgresEventStore.open(pgUrl, options);
        const snapshots = await PostgresSnapshotStore.open(pgUrl, options);
        writers.push({ store, snapshots });
        closers.push(
          () => store.close(),
          () => snapshots.close(),
        );
      }
      return {
        writers,
        close: async () => {
          for (const close of closers) await close();
          await dropSchema(schema);
        },
      };
    },
  },
];

const addLine = (i: number): OrderCommand => ({
  type: 'order.add-line',
  data: { sku: `sku-${i}`, quantity: 1, unitPrice: i + 1 },
});

for (const adapter of adapters) {
  describe.skipIf(!adapter.available)(`command handling on ${adapter.name}`, () => {
    let db: Database | undefined;

    afterEach(async () => {
      await db?.close();
      db = undefined;
    });

    for (const withSnapshots of [false, true]) {
      it(`20 concurrent commands against one aggregate all succeed through retries; the final state folds the log${withSnapshots ? ' (snapshots every 5 events)' : ''}`, async () => {
        db = await adapter.open();
        const handlers = db.writers.map(
          ({ store, snapshots }) =>
            new CommandHandler({
              store,
              decider: orderDecider,
              // Every round of contention lets at least one writer through, so 20 writers
              // need at most 20 tries each.
              retry: { attempts: 25, baseDelayMs: 1, maxDelayMs: 20 },
              ...(withSnapshots && {
                snapshots: { store: snapshots, stateVersion: 'order@1', policy: everyNEvents(5) },
              }),
            }),
        );
        await handlers[0]!.handle('order-1', {
          type: 'order.place',
          data: { customerId: 'c-1', lines: [{ sku: 'tea', quantity: 1, unitPrice: 100 }] },
        });
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            handlers[i % handlers.length]!.handle('order-1', addLine(i)),
          ),
        );
        expect(results.some((r) => r.attempts > 1)).toBe(true);
        expect(new Set(results.map((r) => r.revision))).toEqual(
          new Set(Array.from({ length: 20 }, (_, i) => i + 1)),
        );

        const log = (await collect(
          db.writers[0]!.store.readStream('order-1'),
        )) as unknown as (OrderEvent & { revision: number; position: number })[];
        expect(log.map((e) => e.revision)).toEqual(Array.from({ length: 21 }, (_, i) => i));
        // Each command decided on the state the log shows just before its own event.
        for (const result of results) {
          const upTo = log.slice(0, (result.revision ?? -1) + 1);
          expect(result.state).toEqual(fold(orderDecider, upTo));
          expect(result.position).toBe(upTo[upTo.length - 1]?.position);
        }
        const final = fold(orderDecider, log);
        expect(final.lines.map((l) => l.line)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
        expect(final.total).toBe(100 + (20 * 21) / 2);
        for (const handler of handlers) {
          const loaded = await handler.load('order-1');
          expect(loaded.state).toEqual(final);
          expect(loaded.revision).toBe(20);
          if (withSnapshots) expect(loaded.snapshotRevision).toBeGreaterThanOrEqual(15);
        }
      });
    }
  });
}
