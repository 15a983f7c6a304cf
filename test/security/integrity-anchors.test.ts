import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresBackend } from '@causewayjs/postgres';
import { openSqliteBackend } from '@causewayjs/sqlite';
import {
  collect,
  exportHeads,
  generateMasterKey,
  IntegrityEventStore,
  openMemoryBackend,
  stackBackend,
  verifyStore,
  type Backend,
  type ChainAnchorStore,
  type RecordedEvent,
  type Scavengeable,
  type TransactionalEventStore,
  type VerifyStoreOptions,
  undecorated,
} from '@causewayjs/core';
import { dropSchema, pgAvailable, pgExec, pgUrl, randomSchemaName } from '../support/postgres.js';

const signing = generateKeyPairSync('ed25519');
const event = (n: number) => ({ type: 'order.line-added', data: { n } });

/** A durable backend and direct SQL on its tables (`{t}` stands for a table's prefix). */
interface Target {
  backend: Backend;
  /** Runs `sql` on a connection of its own, as someone with database access would. */
  sql(statement: string, ...args: unknown[]): Promise<void>;
  close(): Promise<void>;
}

const pg = await pgAvailable();
if (!pg) console.warn('PostgreSQL unreachable: the PostgreSQL tamper tests are skipped');

const targets: [string, boolean, () => Promise<Target>][] = [
  [
    'sqlite',
    true,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'causeway-anchors-'));
      const file = join(dir, 'events.db');
      const backend = openSqliteBackend(file);
      return Promise.resolve({
        backend,
        sql: (statement, ...args) => {
          const db = new Database(file);
          try {
            db.prepare(statement.replaceAll('{t}', '')).run(...args);
          } finally {
            db.close();
          }
          return Promise.resolve();
        },
        close: async () => {
          await backend.close();
          rmSync(dir, { recursive: true, force: true });
        },
      });
    },
  ],
  [
    'postgres',
    pg,
    async () => {
      const schema = randomSchemaName();
      const backend = await openPostgresBackend(pgUrl, { schema });
      return {
        backend,
        sql: async (statement, ...args) => {
          let n = 0;
          const text = statement.replaceAll('{t}', `"${schema}".`).replaceAll('?', () => `$${++n}`);
          await pgExec(text, args);
        },
        close: async () => {
          await backend.close();
          await dropSchema(schema);
        },
      };
    },
  ],
];

/** The store as stored, and verify's options with the anchors and the public key. */
async function chained(backend: Backend, layers: { tenant?: string } = {}) {
  const view = await stackBackend(backend, {
    integrity: { signingKey: signing.privateKey, keyId: 'k1' },
    ...layers,
  });
  const anchors: ChainAnchorStore = await backend.chainAnchorStore();
  const options: VerifyStoreOptions = { anchors, publicKey: signing.publicKey };
  return { view, store: view.store, raw: backend.store, anchors, options };
}

/** Two streams: order-1 at revision 3, order-2 at revision 1, written every way an app can. */
async function fill(store: TransactionalEventStore): Promise<void> {
  await store.append('order-1', [event(0), event(1)]);
  await store.appendMany([
    { stream: 'order-1', events: [event(2)] },
    { stream: 'order-2', events: [event(3)] },
  ]);
  await store.transaction(async (tx) => {
    await tx.append('order-1', [event(4)]);
    await tx.append('order-2', [event(5)]);
  });
}

for (const [name, available, open] of targets) {
  describe.skipIf(!available)(`chain anchors on ${name}: tampering at the end of streams`, () => {
    let target: Target | undefined;
    afterEach(async () => {
      await target?.close();
      target = undefined;
    });

    it('anchors every append and passes an untampered store', async () => {
      target = await open();
      const { store, raw, anchors, options } = await chained(target.backend);
      await fill(store);
      expect(await verifyStore(raw, options)).toEqual({
        ok: true,
        streams: 2,
        events: 6,
        lastPosition: 6,
        anchored: 2,
        unanchored: 0,
      });
      expect(await anchors.load('order-1')).toMatchObject({
        head: { stream: 'order-1', revision: 3, kid: 'k1', sig: expect.any(String) as unknown },
      });
    });

    it('locates the last events deleted, even with the stream row moved back', async () => {
      target = await open();
      const { store, raw, options } = await chained(target.backend);
      await fill(store);
      await target.sql(
        'DELETE FROM {t}causeway_events WHERE stream = ? AND revision >= 2',
        'order-1',
      );
      expect((await verifyStore(raw, options)).broken).toEqual({
        stream: 'order-1',
        revision: 2,
        reason: 'truncated',
        storedRevision: 1,
        anchoredRevision: 3,
        missing: { from: 2, to: 3 },
      });
      await target.sql('UPDATE {t}causeway_streams SET revision = 1 WHERE name = ?', 'order-1');
      expect((await verifyStore(raw, options)).broken).toMatchObject({
        stream: 'order-1',
        reason: 'truncated',
        missing: { from: 2, to: 3 },
      });
    });

    it('locates a whole stream deleted, its stream row too', async () => {
      target = await open();
      const { store, raw, options } = await chained(target.backend);
      await fill(store);
      await target.sql('DELETE FROM {t}causeway_events WHERE stream = ?', 'order-2');
      expect((await verifyStore(raw, options)).broken).toEqual({
        stream: 'order-2',
        revision: 0,
        reason: 'stream-missing',
        storedRevision: null,
        anchoredRevision: 1,
        missing: { from: 0, to: 1 },
      });
      await target.sql('DELETE FROM {t}causeway_streams WHERE name = ?', 'order-2');
      expect((await verifyStore(raw, options)).broken).toMatchObject({
        stream: 'order-2',
        reason: 'stream-missing',
      });
      // One stream's verification does not look at the others.
      expect(await verifyStore(raw, { ...options, stream: 'order-1' })).toMatchObject({ ok: true });
    });

    it('finds the stream row and the last event disagreeing, with or without anchors', async () => {
      target = await open();
      const { store, raw, options } = await chained(target.backend);
      await fill(store);
      await target.sql('UPDATE {t}causeway_streams SET revision = 4 WHERE name = ?', 'order-1');
      const broken = {
        stream: 'order-1',
        revision: 3,
        reason: 'head-mismatch',
        storedRevision: 3,
        streamRevision: 4,
      };
      expect((await verifyStore(raw, options)).broken).toEqual(broken);
      expect((await verifyStore(raw)).broken).toEqual(broken);
    });

    it('refuses forged, unsigned and removed anchors', async () => {
      target = await open();
      const { store, raw, anchors, options } = await chained(target.backend);
      await fill(store);
      await target.sql(
        'DELETE FROM {t}causeway_events WHERE stream = ? AND revision = 3',
        'order-1',
      );
      await target.sql('UPDATE {t}causeway_streams SET revision = 2 WHERE name = ?', 'order-1');
      // The anchor moved back to the new end: its signature no longer holds.
      const head = (await anchors.load('order-1'))?.head;
      const [last] = await collect(raw.readStream('order-1', { direction: 'backward', limit: 1 }));
      const hash = (last?.metadata.integrity as { hash: string }).hash;
      const forged = JSON.stringify({ ...head, revision: 2, hash });
      await target.sql(
        'UPDATE {t}causeway_chain_anchors SET head = ? WHERE stream = ?',
        forged,
        'order-1',
      );
      expect((await verifyStore(raw, options)).broken).toMatchObject({
        stream: 'order-1',
        reason: 'anchor-bad-signature',
      });
      const unsigned = JSON.stringify({ stream: 'order-1', revision: 2, hash });
      await target.sql(
        'UPDATE {t}causeway_chain_anchors SET head = ? WHERE stream = ?',
        unsigned,
        'order-1',
      );
      expect((await verifyStore(raw, options)).broken).toMatchObject({
        stream: 'order-1',
        reason: 'anchor-unsigned',
      });
      await target.sql(
        'UPDATE {t}causeway_chain_anchors SET head = ? WHERE stream = ?',
        '{',
        'order-1',
      );
      expect((await verifyStore(raw, options)).broken).toMatchObject({
        stream: 'order-1',
        reason: 'anchor-malformed',
      });
      // Without its anchor row the stream is unanchored: counted, and a fault when required.
      await target.sql('DELETE FROM {t}causeway_chain_anchors WHERE stream = ?', 'order-1');
      expect(await verifyStore(raw, options)).toMatchObject({ ok: true, unanchored: 1 });
      expect((await verifyStore(raw, { ...options, requireAnchors: true })).broken).toMatchObject({
        stream: 'order-1',
        revision: 2,
        reason: 'unanchored',
      });
    });

    it('finds a rollback to an earlier consistent state against exported heads', async () => {
      target = await open();
      const { store, raw, anchors, options } = await chained(target.backend);
      await fill(store);
      const heads = await exportHeads(raw, { anchors });
      expect(heads.map((h) => [h.stream, h.revision])).toEqual([
        ['order-1', 3],
        ['order-2', 1],
      ]);
      expect(await verifyStore(raw, { ...options, expectHeads: heads })).toMatchObject({
        ok: true,
      });
      await store.append('order-1', [event(6)]); // later appends keep the exported heads
      expect(await verifyStore(raw, { ...options, expectHeads: heads })).toMatchObject({
        ok: true,
      });
      // A consistent rollback (events, stream row and an unsigned anchor put back together).
      const [kept] = await collect(raw.readStream('order-2', { limit: 1 }));
      const hash = (kept?.metadata.integrity as { hash: string }).hash;
      await target.sql(
        'DELETE FROM {t}causeway_events WHERE stream = ? AND revision = 1',
        'order-2',
      );
      await target.sql('UPDATE {t}causeway_streams SET revision = 0 WHERE name = ?', 'order-2');
      const rolled = JSON.stringify({ stream: 'order-2', revision: 0, hash });
      await target.sql(
        'UPDATE {t}causeway_chain_anchors SET head = ? WHERE stream = ?',
        rolled,
        'order-2',
      );
      expect(await verifyStore(raw, { anchors })).toMatchObject({ ok: true });
      expect((await verifyStore(raw, { anchors, expectHeads: heads })).broken).toEqual({
        stream: 'order-2',
        revision: 1,
        reason: 'expected-head-missing',
        anchoredRevision: 1,
        storedRevision: 0,
      });
    });

    it('passes after legitimate deletes, hidden events, tenants and encryption', async () => {
      target = await open();
      const { store, raw, options } = await chained(target.backend);
      await fill(store);
      await store.deleteStream('order-1'); // soft
      await store.append('order-1', [event(7)]); // revived, continuing its revisions
      await store.deleteStream('order-2', { hard: true });
      await store.append('order-3', [event(8), event(9), event(10)]);
      await store.setStreamMetadata('order-3', { maxCount: 1 });
      await store.append('order-4', [event(11), event(12)]);
      await store.setStreamMetadata('order-4', { truncateBefore: 1 });
      const tenant = await chained(target.backend, { tenant: 'acme' });
      await tenant.store.append('acme:order-5', [event(13)]);
      const secret = await stackBackend(target.backend, {
        integrity: { signingKey: signing.privateKey },
        encryption: {
          masterKey: generateMasterKey('m1'),
          personal: { 'customer.registered': { subject: '$.id', fields: ['$.email'] } },
        },
      });
      await secret.store.append('customer-1', [
        { type: 'customer.registered', data: { id: 'c-1', email: 'ada@example.com' } },
      ]);
      const report = await verifyStore(raw, options);
      expect(report.broken).toBeUndefined();
      // (A tombstoned stream's events may be hidden from `readAll`: streams seen are not counted.)
      expect(report).toMatchObject({
        ok: true,
        anchored: 6,
        unanchored: 0,
      });
    });

    it('passes after a scavenge that recorded the chain start; fails without it', async () => {
      target = await open();
      const { store, raw, options } = await chained(target.backend);
      await store.append('order-1', [event(0), event(1), event(2), event(3)]);
      await store.setStreamMetadata('order-1', { truncateBefore: 2 });
      const all = await collect(raw.readAll({ filter: { streamPrefix: 'order-1' } }));
      const lastRemoved = all.find((e) => e.revision === 1) as RecordedEvent;
      // Removed without a recorded start: the chain no longer starts at genesis.
      await target.sql(
        'DELETE FROM {t}causeway_events WHERE stream = ? AND revision = 0',
        'order-1',
      );
      expect((await verifyStore(raw, options)).broken).toMatchObject({
        stream: 'order-1',
        revision: 1,
        reason: 'revision-gap',
      });
      // What a scavenge does: record the start, then remove the rows (in batches).
      await raw.transaction(async (tx) => {
        await layerOf(store).recordChainStart(tx, lastRemoved);
      });
      expect(await verifyStore(raw, options)).toMatchObject({ ok: true }); // half way
      await target.sql(
        'DELETE FROM {t}causeway_events WHERE stream = ? AND revision < 2',
        'order-1',
      );
      expect(await verifyStore(raw, options)).toMatchObject({ ok: true, events: 2, anchored: 1 });
      await store.append('order-1', [event(4)]);
      expect(await verifyStore(raw, options)).toMatchObject({ ok: true, events: 3 });
      // Removing a kept event is still found.
      await target.sql(
        'DELETE FROM {t}causeway_events WHERE stream = ? AND revision = 2',
        'order-1',
      );
      expect((await verifyStore(raw, options)).broken).toMatchObject({
        stream: 'order-1',
        revision: 3,
        reason: 'revision-gap',
      });
    });

    it('passes after a scavenge through the stack, which moves the chain starts', async () => {
      target = await open();
      const { view, store, raw, options } = await chained(target.backend);
      const strict = { ...options, requireAnchors: true };
      const five = [event(0), event(1), event(2), event(3), event(4)];
      await store.append('order-1', five);
      await store.setStreamMetadata('order-1', { truncateBefore: 2 });
      await store.append('order-2', five);
      await store.setStreamMetadata('order-2', { maxCount: 1 });
      await store.append('order-3', [event(5), event(6)]);
      await store.deleteStream('order-3'); // soft
      await store.append('order-4', [event(7), event(8)]);
      await store.deleteStream('order-4', { hard: true });
      await store.append('order-5', [event(9)]);
      expect(await view.scavenge({ dryRun: true })).toMatchObject({ eventsRemoved: 10 });
      expect(await verifyStore(raw, strict)).toMatchObject({ ok: true, events: 13 });
      expect(await view.scavenge({ batchSize: 3 })).toMatchObject({ eventsRemoved: 10 });
      const report = await verifyStore(raw, strict);
      expect(report.broken).toBeUndefined();
      expect(report).toMatchObject({ ok: true, events: 5, anchored: 5 });
      await store.append('order-1', [event(10)]);
      await store.append('order-3', [event(11)]); // revived after its soft delete
      expect(await verifyStore(raw, strict)).toMatchObject({ ok: true, events: 7 });
      // Tampering after the scavenge is still found: a kept first event removed.
      await target.sql(
        'DELETE FROM {t}causeway_events WHERE stream = ? AND revision = 2',
        'order-1',
      );
      expect((await verifyStore(raw, strict)).broken).toMatchObject({
        stream: 'order-1',
        revision: 3,
        reason: 'revision-gap',
      });
    });

    it('fails after a scavenge that went around the integrity layer', async () => {
      target = await open();
      const { store, raw, options } = await chained(target.backend);
      await store.append('order-1', [event(0), event(1), event(2)]);
      await store.setStreamMetadata('order-1', { truncateBefore: 1 });
      const below = raw as TransactionalEventStore & Scavengeable;
      expect(await below.scavenge()).toMatchObject({ eventsRemoved: 1 });
      expect((await verifyStore(raw, options)).broken).toMatchObject({
        stream: 'order-1',
        revision: 1,
        reason: 'revision-gap',
      });
    });

    it('tells a tombstoned stream whose rows are gone from a deleted one', async () => {
      target = await open();
      const { store, raw, anchors, options } = await chained(target.backend);
      await store.append('order-1', [event(0), event(1)]);
      await store.append('order-2', [event(2)]);
      await store.deleteStream('order-1', { hard: true });
      expect((await anchors.load('order-1'))?.head).toMatchObject({ revision: 1, deleted: true });
      expect(await verifyStore(raw, options)).toMatchObject({ ok: true, anchored: 2 });
      await target.sql('DELETE FROM {t}causeway_events WHERE stream = ?', 'order-1'); // scavenged
      expect(await verifyStore(raw, options)).toMatchObject({ ok: true, anchored: 2 });
      // A tombstone set in the database, not through the integrity layer, is not a licence.
      await target.sql('UPDATE {t}causeway_streams SET deleted = 2 WHERE name = ?', 'order-2');
      await target.sql('DELETE FROM {t}causeway_events WHERE stream = ?', 'order-2');
      expect((await verifyStore(raw, options)).broken).toMatchObject({
        stream: 'order-2',
        reason: 'stream-missing',
        missing: { from: 0, to: 0 },
      });
    });
  });
}

describe('chain anchors on memory', () => {
  it('anchors heads in the append transaction and finds no fault untampered', async () => {
    const backend = openMemoryBackend();
    try {
      const { store, raw, anchors, options } = await chained(backend);
      await fill(store);
      expect(await verifyStore(raw, options)).toMatchObject({ ok: true, anchored: 2 });
      // A transaction that rolls back leaves the anchor where it was.
      await expect(
        store.transaction(async (tx) => {
          await tx.append('order-1', [event(9)]);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect((await anchors.load('order-1'))?.head?.revision).toBe(3);
      expect(await verifyStore(raw, options)).toMatchObject({ ok: true, events: 6 });
    } finally {
      await backend.close();
    }
  });
});

/** The integrity layer of a stacked store. */
function layerOf(store: TransactionalEventStore): IntegrityEventStore {
  let s: unknown = store;
  while (s !== undecorated(store)) {
    if (s instanceof IntegrityEventStore) return s as IntegrityEventStore;
    s = (s as { inner: unknown }).inner;
  }
  throw new Error('no integrity layer');
}
