// A row written around the store (raw SQL) that does not decode must not stop readers for
// good: reads throw a typed EventDecodeError at its place and go on past it, and subscriptions
// park it like a failing event (visible to `causeway parked`, retried or skipped from there).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeIdentifier } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventStore, sqliteSubscriptionStorage } from '@causewayjs/sqlite';
import { PostgresEventStore, postgresSubscriptionStorage } from '@causewayjs/postgres';
import { ExitCode } from '@causewayjs/cli/internals';
import {
  EventDecodeError,
  type RecordedEvent,
  type EventStore,
  Subscription,
  type ParkedEvent,
  type SubscriptionStorage,
} from '@causewayjs/core';
import { cli } from '../cli/cli-harness.js';
import { dropSchema, pgAvailable, pgExec, pgUrl, randomSchemaName } from '../support/postgres.js';

const pgUp = await pgAvailable();

/** One adapter, with raw SQL to spoil and mend stored rows behind the store's back. */
interface Harness {
  name: string;
  /** The store URL the CLI opens. */
  url: string;
  open(): Promise<{ store: EventStore; storage: SubscriptionStorage; close(): Promise<void> }>;
  /** Ways this adapter's columns can be spoilt: column name → SQL spoiling `position`. */
  spoilers: Record<string, (position: number) => Promise<unknown>>;
  /** The spoiler the subscription tests use, and how to mend what it did. */
  spoil(position: number): Promise<unknown>;
  mend(position: number, data: unknown): Promise<unknown>;
  cleanup(): Promise<void>;
}

function sqliteHarness(): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-undecodable-'));
  const file = join(dir, 'events.db');
  let raw: SqliteEventStore | undefined;
  const exec = async (sql: string, ...params: unknown[]) => {
    raw ??= SqliteEventStore.open(file);
    raw.database.prepare(sql).run(...params);
    return Promise.resolve();
  };
  return {
    name: 'sqlite',
    url: `sqlite:${file}`,
    open: async () => {
      const store = SqliteEventStore.open(file, { pollIntervalMs: 10 });
      return {
        store,
        storage: (await sqliteSubscriptionStorage(store)) as unknown as SubscriptionStorage,
        close: () => store.close(),
      };
    },
    spoilers: {
      data: (p) => exec("UPDATE causeway_events SET data = '{bad' WHERE position = ?", p),
      metadata: (p) => exec("UPDATE causeway_events SET metadata = '[1]' WHERE position = ?", p),
      recorded_at: (p) =>
        exec("UPDATE causeway_events SET recorded_at = 'yesterday' WHERE position = ?", p),
      type: (p) => exec("UPDATE causeway_events SET type = x'00ff' WHERE position = ?", p),
    },
    spoil: (p) => exec("UPDATE causeway_events SET data = '{bad' WHERE position = ?", p),
    mend: (p, data) =>
      exec('UPDATE causeway_events SET data = ? WHERE position = ?', JSON.stringify(data), p),
    cleanup: async () => {
      await raw?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresHarness(): Harness {
  const schema = randomSchemaName();
  const events = `${escapeIdentifier(schema)}.causeway_events`;
  return {
    name: 'postgres',
    url: `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=${schema}`,
    open: async () => {
      const store = await PostgresEventStore.open(pgUrl, {
        schema,
        maxConnections: 4,
        listen: { pollIntervalMs: 20, reconnectDelayMs: 20 },
      });
      return {
        store,
        storage: (await postgresSubscriptionStorage(store)) as unknown as SubscriptionStorage,
        close: () => store.close(),
      };
    },
    // `json` refuses invalid JSON at write; what raw SQL can still store is JSON of the wrong
    // shape, a time no Date can hold, or, once the column's constraints or type are changed,
    // NULL or text that is no JSON at all.
    spoilers: {
      metadata: (p) => pgExec(`UPDATE ${events} SET metadata = '[1]' WHERE position = $1`, [p]),
      recorded_at: (p) =>
        pgExec(`UPDATE ${events} SET recorded_at = 'infinity' WHERE position = $1`, [p]),
      data: async (p) => {
        await pgExec(`ALTER TABLE ${events} ALTER COLUMN data DROP NOT NULL`);
        await pgExec(`UPDATE ${events} SET data = NULL WHERE position = $1`, [p]);
      },
      'data (as text)': async (p) => {
        await pgExec(`ALTER TABLE ${events} ALTER COLUMN data TYPE text`);
        await pgExec(`UPDATE ${events} SET data = '{bad' WHERE position = $1`, [p]);
      },
    },
    spoil: (p) => pgExec(`UPDATE ${events} SET metadata = '"m"' WHERE position = $1`, [p]),
    mend: (p, data) =>
      pgExec(`UPDATE ${events} SET metadata = '{}', data = $2::json WHERE position = $1`, [
        p,
        JSON.stringify(data),
      ]),
    cleanup: () => dropSchema(schema),
  };
}

const harnesses: { make: () => Harness; skip: boolean; name: string }[] = [
  { name: 'sqlite', make: sqliteHarness, skip: false },
  { name: 'postgres', make: postgresHarness, skip: !pgUp },
];

/** Reads `events` until it ends or throws: what came before, and the error. */
async function readUntilError(
  events: AsyncIterable<RecordedEvent>,
): Promise<{ read: number[]; error: unknown }> {
  const read: number[] = [];
  try {
    for await (const event of events) read.push(event.position);
  } catch (error) {
    return { read, error };
  }
  return { read, error: undefined };
}

for (const { name, make, skip } of harnesses) {
  describe.skipIf(skip)(`a stored event that cannot be decoded (${name})`, () => {
    let h: Harness;
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
      await h.cleanup();
    });

    async function openStore() {
      const opened = await h.open();
      cleanups.push(() => opened.close());
      return opened;
    }

    it('reads throw EventDecodeError at its place, after the events before it, and go on past it', async () => {
      h = make();
      const { store } = await openStore();
      for (const [column, spoilIt] of Object.entries(h.spoilers)) {
        const stream = `s-${column.replace(/\W/g, '')}`;
        const { position } = await store.append(stream, [{ type: 'a', data: { n: 1 } }]);
        const bad = (await store.append(stream, [{ type: 'b', data: { n: 2 } }])).position;
        const after = (await store.append(stream, [{ type: 'c', data: { n: 3 } }])).position;
        await spoilIt(bad);

        const all = await readUntilError(store.readAll({ from: position }));
        expect(all.read, column).toEqual([position]);
        const error = all.error as EventDecodeError;
        expect(error, column).toBeInstanceOf(EventDecodeError);
        expect(error.code).toBe('EVENT_DECODE_FAILED');
        expect(error).toMatchObject({
          position: bad,
          stream,
          revision: 1,
          column: column.split(' ')[0],
        });
        expect(error.message).toContain(`position ${bad}`);
        // Reading on from the next position passes over it.
        expect(
          (await readUntilError(store.readAll({ from: bad + 1, filter: { streamPrefix: stream } })))
            .read,
        ).toEqual([after]);
        // And an iterator asked for more after the error goes on with the next event.
        const iterator = store.readStream(stream)[Symbol.asyncIterator]();
        expect((await iterator.next()).value).toMatchObject({ revision: 0, data: { n: 1 } });
        await expect(iterator.next()).rejects.toMatchObject({ code: 'EVENT_DECODE_FAILED' });
        expect((await iterator.next()).value).toMatchObject({ revision: 2, data: { n: 3 } });
        expect((await iterator.next()).done).toBe(true);
        // Backwards too.
        const back = await readUntilError(store.readStream(stream, { direction: 'backward' }));
        expect(back.read).toEqual([after]);
        expect(back.error).toBeInstanceOf(EventDecodeError);
      }
    });

    it('a subscription parks it like a failed event, delivers the rest, and `causeway parked` retries and skips it', async () => {
      h = make();
      const { store, storage } = await openStore();
      const delivered: RecordedEvent[] = [];
      const parkings: number[] = [];
      const subscription = new Subscription({
        name: 'undecodable',
        storage,
        handler: (event) => {
          delivered.push(event);
        },
        logger: {
          info: () => undefined,
          error: () => undefined,
          warn: (fields, message) => {
            if (message === 'event parked') parkings.push(fields.position as number);
          },
        },
        lease: false,
        idleCheckIntervalMs: 20,
        retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      });
      cleanups.push(() => subscription.stop());
      for (let n = 1; n <= 3; n++) await store.append(`order-${n}`, [{ type: 'x', data: { n } }]);
      await h.spoil(2);
      await subscription.start();
      await store.append('order-4', [{ type: 'x', data: { n: 4 } }]);
      await subscription.waitForPosition(4, { timeoutMs: 15_000 });

      expect(delivered.map((e) => e.position)).toEqual([1, 3, 4]);
      expect(subscription.status).toMatchObject({ running: true, error: undefined, position: 4 });
      const [parked] = await subscription.listParked();
      expect(parked).toMatchObject({
        position: 2,
        stream: 'order-2',
        type: 'x',
        reason: 'failed',
        attempts: 1,
        retryRequested: false,
        error: { name: 'EventDecodeError', code: 'EVENT_DECODE_FAILED' },
      });

      const listed = await cli(['parked', 'list', 'undecodable', '--store', h.url, '--json']);
      expect(listed.code, listed.stderr).toBe(ExitCode.OK);
      expect((JSON.parse(listed.stdout) as ParkedEvent[]).map((p) => p.position)).toEqual([2]);
      const table = await cli(['parked', 'list', 'undecodable', '--store', h.url]);
      expect(table.stdout).toContain('EVENT_DECODE_FAILED');

      // Retried while still undecodable: parked again, and the subscription carries on.
      expect(parkings).toEqual([2]);
      const retried = await cli(['parked', 'retry', 'undecodable', '2', '--store', h.url]);
      expect(retried.code, retried.stderr).toBe(ExitCode.OK);
      await expect.poll(() => parkings, { timeout: 15_000 }).toEqual([2, 2]);
      expect(await subscription.listParked()).toMatchObject([
        { position: 2, retryRequested: false, error: { code: 'EVENT_DECODE_FAILED' } },
      ]);
      expect(subscription.status.running).toBe(true);

      // Mended by hand, a retry delivers it.
      await h.mend(2, { n: 2, mended: true });
      const mended = await cli(['parked', 'retry', 'undecodable', '2', '--store', h.url]);
      expect(mended.code, mended.stderr).toBe(ExitCode.OK);
      await expect.poll(() => subscription.parkedCount(), { timeout: 15_000 }).toBe(0);
      expect(delivered.map((e) => e.position)).toEqual([1, 3, 4, 2]);
      expect(delivered[3]?.data).toEqual({ n: 2, mended: true });

      // Another one, met after a restart, skipped.
      await subscription.stop();
      await store.append('order-5', [{ type: 'x', data: { n: 5 } }]);
      await h.spoil(5);
      await store.append('order-6', [{ type: 'x', data: { n: 6 } }]);
      await subscription.start();
      await subscription.waitForPosition(6, { timeoutMs: 15_000 });
      expect(delivered.map((e) => e.position)).toEqual([1, 3, 4, 2, 6]);
      expect((await subscription.listParked()).map((p) => p.position)).toEqual([5]);
      const skipped = await cli(['parked', 'skip', 'undecodable', '5', '--store', h.url]);
      expect(skipped.code, skipped.stderr).toBe(ExitCode.OK);
      expect(await subscription.parkedCount()).toBe(0);
      await store.append('order-7', [{ type: 'x', data: { n: 7 } }]);
      await subscription.waitForPosition(7, { timeoutMs: 15_000 });
      expect(delivered.map((e) => e.position)).toEqual([1, 3, 4, 2, 6, 7]);
      expect(subscription.status).toMatchObject({ running: true, error: undefined });
    });

    it('`where` that rejects the stand-in passes it over unparked; a failing `where` parks it', async () => {
      h = make();
      const { store, storage } = await openStore();
      for (let n = 1; n <= 3; n++) await store.append(`order-${n}`, [{ type: 'x', data: { n } }]);
      await h.spoil(2);
      const seen: number[] = [];
      const mine = new Subscription({
        name: 'not-mine',
        storage,
        where: (event) => event.stream !== 'order-2',
        handler: (event) => {
          seen.push(event.position);
        },
        lease: false,
      });
      const curious = new Subscription({
        name: 'curious',
        storage,
        where: (event) => (event.data as { n: number }).n > 0,
        handler: () => undefined,
        lease: false,
      });
      cleanups.push(
        () => mine.stop(),
        () => curious.stop(),
      );
      await mine.start();
      await curious.start();
      await mine.waitForPosition(3, { timeoutMs: 15_000 });
      await curious.waitForPosition(3, { timeoutMs: 15_000 });
      expect(seen).toEqual([1, 3]);
      expect(await mine.parkedCount()).toBe(0);
      expect((await curious.listParked()).map((p) => p.position)).toEqual([2]);
    });
  });
}
