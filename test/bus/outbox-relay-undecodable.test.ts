// A stored event that cannot be decoded (a row spoilt by raw SQL, or a field that does not
// decrypt) must not stop the outbox relay for good: it is parked under the relay's name with
// its EventDecodeError, in the transaction that moves the checkpoint past it, and the events
// after it are published in position order.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeIdentifier } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresEventStore, postgresSubscriptionStorage } from '@causewayjs/postgres';
import { SqliteEventStore, sqliteSubscriptionStorage } from '@causewayjs/sqlite';
import {
  InProcessBus,
  OutboxRelay,
  type MessageBus,
  openBackend,
  stackBackend,
  generateMasterKey,
  type RecordedEvent,
  type EventStore,
  type SubscriptionStorage,
} from '@causewayjs/core';
import { dropSchema, pgAvailable, pgExec, pgUrl, randomSchemaName } from '../support/postgres.js';

const pgUp = await pgAvailable();

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A store on real storage, with raw SQL to spoil and mend a row's data behind its back. */
interface Target {
  store: EventStore;
  storage: SubscriptionStorage;
  spoil: (position: number) => Promise<unknown>;
  mend: (position: number, data: unknown) => Promise<unknown>;
}

async function sqliteTarget(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-relay-undecodable-'));
  const store = SqliteEventStore.open(join(dir, 'events.db'), { pollIntervalMs: 10 });
  cleanups.push(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const exec = (sql: string, ...params: unknown[]) =>
    Promise.resolve(store.database.prepare(sql).run(...params));
  return {
    store,
    storage: (await sqliteSubscriptionStorage(store)) as unknown as SubscriptionStorage,
    spoil: (p) => exec("UPDATE causeway_events SET data = '{bad' WHERE position = ?", p),
    mend: (p, data) =>
      exec('UPDATE causeway_events SET data = ? WHERE position = ?', JSON.stringify(data), p),
  };
}

async function postgresTarget(): Promise<Target> {
  const schema = randomSchemaName();
  const events = `${escapeIdentifier(schema)}.causeway_events`;
  const store = await PostgresEventStore.open(pgUrl, {
    schema,
    maxConnections: 4,
    listen: { pollIntervalMs: 20, reconnectDelayMs: 20 },
  });
  cleanups.push(async () => {
    await store.close();
    await dropSchema(schema);
  });
  return {
    store,
    storage: (await postgresSubscriptionStorage(store)) as unknown as SubscriptionStorage,
    // `json` refuses invalid JSON at write: the column is made text to hold some.
    spoil: async (p) => {
      await pgExec(`ALTER TABLE ${events} ALTER COLUMN data TYPE text`);
      await pgExec(`UPDATE ${events} SET data = '{bad' WHERE position = $1`, [p]);
    },
    mend: (p, data) =>
      pgExec(`UPDATE ${events} SET data = $2 WHERE position = $1`, [p, JSON.stringify(data)]),
  };
}

function relayOf(storage: SubscriptionStorage, bus: MessageBus, source?: EventStore) {
  const relay = new OutboxRelay({
    storage,
    bus,
    ...(source ? { source } : {}),
    lease: false,
    idleCheckIntervalMs: 20,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
  });
  cleanups.push(() => relay.stop());
  return relay;
}

async function collector(bus: MessageBus): Promise<RecordedEvent[]> {
  const seen: RecordedEvent[] = [];
  const member = await bus.subscribe({ group: 'collector', handler: (e) => void seen.push(e) });
  cleanups.push(() => member.stop());
  return seen;
}

function busOf(): InProcessBus {
  const bus = new InProcessBus({ prefix: 'shop' });
  cleanups.push(() => bus.close());
  return bus;
}

const targets = [
  { name: 'sqlite', make: sqliteTarget, skip: false },
  { name: 'postgres', make: postgresTarget, skip: !pgUp },
];

for (const { name, make, skip } of targets) {
  describe.skipIf(skip)(`the outbox relay and an event that cannot be decoded (${name})`, () => {
    it('parks it with its EventDecodeError and publishes the rest, in order', async () => {
      const { store, storage, spoil, mend } = await make();
      for (let n = 1; n <= 5; n++)
        await store.append(`order-${n}`, [{ type: 'order.placed', data: { n } }]);
      await spoil(3);
      const bus = busOf();
      const seen = await collector(bus);
      const relay = relayOf(storage, bus);
      await relay.start();
      await relay.waitForPosition(5, { timeoutMs: 15_000 });
      await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(4);

      expect(seen.map((e) => e.position)).toEqual([1, 2, 4, 5]);
      expect(relay.status()).toMatchObject({
        state: 'running',
        position: 5,
        parked: 1,
        error: undefined,
      });
      expect((await storage.checkpoints.load(relay.name))?.position).toBe(5);
      expect(await relay.listParked()).toMatchObject([
        {
          position: 3,
          stream: 'order-3',
          type: 'order.placed',
          reason: 'failed',
          error: { name: 'EventDecodeError', code: 'EVENT_DECODE_FAILED' },
        },
      ]);

      // Retried while still spoilt: parked again, with the error, an attempt more.
      expect(await relay.retryParked('all')).toEqual({ published: 0, failed: 1, missing: 0 });
      expect(await relay.listParked()).toMatchObject([
        { position: 3, attempts: 2, error: { code: 'EVENT_DECODE_FAILED' } },
      ]);
      // Mended, it is published from the parked list, and leaves it.
      await mend(3, { n: 3 });
      expect(await relay.retryParked('all')).toEqual({ published: 1, failed: 0, missing: 0 });
      expect(await relay.parkedCount()).toBe(0);
      await expect.poll(() => seen.map((e) => e.position), { timeout: 5_000 }).toContain(3);

      // Later events go on being published.
      await store.append('order-6', [{ type: 'order.placed', data: { n: 6 } }]);
      await relay.waitForPosition(6, { timeoutMs: 15_000 });
      await expect.poll(() => seen.map((e) => e.position), { timeout: 5_000 }).toContain(6);
      expect(relay.status().state).toBe('running');
    });

    it('parks an event spoilt at the start of a read, and one that can be skipped', async () => {
      const { store, storage, spoil } = await make();
      for (let n = 1; n <= 3; n++)
        await store.append(`order-${n}`, [{ type: 'order.placed', data: { n } }]);
      await spoil(1);
      const bus = busOf();
      const seen = await collector(bus);
      const relay = relayOf(storage, bus);
      await relay.start();
      await relay.waitForPosition(3, { timeoutMs: 15_000 });
      await expect.poll(() => seen.map((e) => e.position), { timeout: 5_000 }).toEqual([2, 3]);
      expect(await relay.listParked()).toMatchObject([
        { position: 1, error: { code: 'EVENT_DECODE_FAILED' } },
      ]);
      expect(await relay.skipParked([1])).toBe(1);
      expect(await relay.parkedCount()).toBe(0);
      expect(relay.status().state).toBe('running');
    });
  });
}

describe('the outbox relay and an event that does not decrypt (sqlite)', () => {
  it('parks it with DECRYPTION_FAILED and publishes the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-relay-decrypt-'));
    const backend = await openBackend(`sqlite:${join(dir, 'events.db')}`);
    cleanups.push(async () => {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const personal = { 'customer.registered': { subject: '$.id', fields: ['$.email'] } };
    const app = await stackBackend(backend, {
      encryption: { masterKey: generateMasterKey('m-1'), personal },
    });
    const register = (n: number) => ({
      type: 'customer.registered',
      data: { id: 'c-1', email: `${n}@example.test` },
    });
    await app.store.append('customer-1', [register(1)]);
    // Written around the layers: plaintext under a forged encryption record of a real subject.
    await backend.store.append('customer-2', [
      { ...register(2), metadata: { encryption: { v: 1, subject: 'c-1', fields: ['$.email'] } } },
    ]);
    await app.store.append('customer-3', [register(3)]);

    const bus = busOf();
    const seen = await collector(bus);
    const relay = relayOf(await app.subscriptionStorage(), bus, app.store);
    await relay.start();
    await relay.waitForPosition(3, { timeoutMs: 15_000 });
    await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(2);
    expect(seen.map((e) => [e.position, (e.data as { email: string }).email])).toEqual([
      [1, '1@example.test'],
      [3, '3@example.test'],
    ]);
    expect(relay.status()).toMatchObject({ state: 'running', parked: 1 });
    expect(await relay.listParked()).toMatchObject([
      { position: 2, error: { name: 'DecryptionError', code: 'DECRYPTION_FAILED' } },
    ]);
  });
});
