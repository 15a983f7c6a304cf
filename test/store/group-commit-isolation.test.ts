// Group commit shares a transaction, not a fate: when the database refuses one append of a
// batch (a trigger, a constraint), only that append fails; the others are written, in order,
// with gap-free positions.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DatabaseError, escapeIdentifier } from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SqliteEventStore } from '@causewayjs/sqlite';
import { PostgresEventStore } from '@causewayjs/postgres';
import {
  WriteRejectedError,
  WrongExpectedRevisionError,
  collect,
  type AppendResult,
  type EventStore,
} from '@causewayjs/core';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

const pgUp = await pgAvailable();

interface Target {
  /** A store whose database refuses every insert of an event into stream `poison`. */
  open(): Promise<EventStore>;
  /** The driver's error class and the code the refusal comes with. */
  cause: { type: new (...args: never[]) => Error; code: string };
  cleanup(): Promise<void>;
}

const targets: { name: string; skip: boolean; make: () => Target }[] = [
  {
    name: 'sqlite',
    skip: false,
    make: () => {
      const dir = mkdtempSync(join(tmpdir(), 'causeway-isolation-'));
      return {
        open: () => {
          const store = SqliteEventStore.open(join(dir, 'events.db'));
          store.database.exec(`CREATE TRIGGER refuse_poison BEFORE INSERT ON causeway_events
            WHEN NEW.stream = 'poison' BEGIN SELECT RAISE(ABORT, 'poison is refused'); END`);
          return Promise.resolve(store);
        },
        cause: { type: Database.SqliteError, code: 'SQLITE_CONSTRAINT_TRIGGER' },
        cleanup: () => {
          rmSync(dir, { recursive: true, force: true });
          return Promise.resolve();
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: !pgUp,
    make: () => {
      const schema = randomSchemaName();
      const s = escapeIdentifier(schema);
      return {
        open: async () => {
          const store = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 4 });
          await store.pool.query(`CREATE FUNCTION ${s}.refuse_poison() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.stream = 'poison' THEN RAISE EXCEPTION 'poison is refused'; END IF;
              RETURN NEW;
            END $$`);
          await store.pool.query(`CREATE TRIGGER refuse_poison BEFORE INSERT
            ON ${s}.causeway_events FOR EACH ROW EXECUTE FUNCTION ${s}.refuse_poison()`);
          return store;
        },
        cause: { type: DatabaseError, code: 'P0001' },
        cleanup: () => dropSchema(schema),
      };
    },
  },
];

for (const { name, skip, make } of targets) {
  describe.skipIf(skip)(`group commit isolates a refused append (${name})`, () => {
    let target: Target;
    const stores: EventStore[] = [];
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
      await target.cleanup();
    });

    it('only the refused append fails; the rest of its batch is stored in order, gap-free', async () => {
      target = make();
      const store = await target.open();
      stores.push(store);
      await store.append('seed', [{ type: 'seeded', data: 0 }]);
      const writeBatch = vi.spyOn(
        store as unknown as { writeBatch: (...args: unknown[]) => unknown },
        'writeBatch',
      );

      // Issued in one tick: one batch, one transaction, for all of them.
      const names = Array.from({ length: 40 }, (_, i) => (i === 23 ? 'poison' : `ok-${i}`));
      const appends: Promise<AppendResult | AppendResult[]>[] = names.map((stream, i) =>
        store.append(stream, [
          { type: 'first', data: { i } },
          { type: 'second', data: { i } },
        ]),
      );
      // An appendMany is atomic: its part for a good stream fails with its poisoned part.
      appends.push(
        store.appendMany([
          { stream: 'beside-poison', events: [{ type: 'first', data: {} }] },
          { stream: 'poison', events: [{ type: 'first', data: {} }] },
        ]),
      );
      // Appends that depend on each other keep their order through the retries.
      appends.push(
        store.append('chain', [{ type: 'first', data: {} }], { expectedRevision: 'no_stream' }),
        store.append('chain', [{ type: 'second', data: {} }], { expectedRevision: 0 }),
      );
      // A conflict is still its own append's alone.
      appends.push(store.append('seed', [{ type: 'late', data: {} }], { expectedRevision: 5 }));
      const settled = await Promise.allSettled(appends);

      expect(writeBatch.mock.calls[0]?.[0]).toHaveLength(appends.length);
      const rejected = settled.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
      expect(rejected).toEqual([23, 40, 43]);
      for (const i of [23, 40]) {
        const error = (settled[i] as PromiseRejectedResult).reason as WriteRejectedError;
        expect(error).toBeInstanceOf(WriteRejectedError);
        expect(error.code).toBe('WRITE_REJECTED');
        expect(error.streams).toContain('poison');
        expect(error.cause).toBeInstanceOf(target.cause.type);
        expect((error.cause as { code: string }).code).toBe(target.cause.code);
        expect(error.message).toContain('poison is refused');
      }
      expect((settled[43] as PromiseRejectedResult).reason).toBeInstanceOf(
        WrongExpectedRevisionError,
      );

      const stored = await collect(store.readAll());
      // Gap-free, in order, and every acknowledged append is where its result says.
      expect(stored.map((e) => e.position)).toEqual(stored.map((_, i) => i + 1));
      expect(stored).toHaveLength(1 + 39 * 2 + 2);
      for (const [i, r] of settled.entries()) {
        if (r.status !== 'fulfilled') continue;
        const result = r.value as AppendResult;
        const event = stored[result.position - 1];
        expect(event, `append ${i}`).toMatchObject({
          stream: result.stream,
          revision: result.revision,
        });
      }
      expect(stored.some((e) => e.stream === 'poison' || e.stream === 'beside-poison')).toBe(false);
      expect(stored.filter((e) => e.stream === 'chain').map((e) => e.type)).toEqual([
        'first',
        'second',
      ]);
      expect((await store.streamInfo('poison')).exists).toBe(false);
      // And the store goes on as before.
      expect(await store.append('after', [{ type: 'x', data: {} }])).toMatchObject({
        position: stored.length + 1,
      });
    });

    it('a lone refused append fails with the same typed error', async () => {
      target = make();
      const store = await target.open();
      stores.push(store);
      const error = await store
        .append('poison', [{ type: 'x', data: {} }])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WriteRejectedError);
      expect((error as WriteRejectedError).streams).toEqual(['poison']);
      expect(await store.headPosition()).toBe(0);
    });
  });
}
