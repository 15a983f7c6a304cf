import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresEventStore, PostgresKeyStore } from '@causewayjs/postgres';
import { SqliteEventStore, SqliteKeyStore } from '@causewayjs/sqlite';
import {
  collect,
  encryptedEventStore,
  GENESIS_HASH,
  generateMasterKey,
  integrityEventStore,
  InvalidArgumentError,
  MemoryEventStore,
  REDACTED,
  SecurityConfigError,
  verifyStore,
  WrongExpectedRevisionError,
  type DataKeyStore,
  type EventStore,
  type TransactionalEventStore,
} from '@causewayjs/core';
import { dropSchema, pgAvailable, pgExec, pgUrl, randomSchemaName } from '../support/postgres.js';

const event = (n: number, extra: Record<string, unknown> = {}) => ({
  type: 'order.line-added',
  data: { n, sku: `sku-${n}`, ...extra },
});

const signing = generateKeyPairSync('ed25519');

describe('integrityEventStore and verifyStore (memory)', () => {
  const stores: EventStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });
  const open = () => {
    const raw = new MemoryEventStore();
    stores.push(raw);
    return raw;
  };

  it('chains each stream from genesis, one link per event, and verifies', async () => {
    const raw = open();
    const store = integrityEventStore(raw);
    await store.append('order-1', [event(1), event(2)]);
    await store.append('order-2', [event(3)]);
    await store.append('order-1', [event(4)], { expectedRevision: 1 });
    const chain = (await collect(raw.readStream('order-1'))).map(
      (e) => e.metadata.integrity as { hash: string; prev: string },
    );
    expect(chain[0]?.prev).toBe(GENESIS_HASH);
    expect(chain[1]?.prev).toBe(chain[0]?.hash);
    expect(chain[2]?.prev).toBe(chain[1]?.hash);
    expect(await verifyStore(raw)).toEqual({ ok: true, streams: 2, events: 4, lastPosition: 4 });
    expect(await verifyStore(raw, { stream: 'order-2' })).toMatchObject({ ok: true, events: 1 });
  });

  it('keeps expected-revision semantics and never writes a broken link', async () => {
    const raw = open();
    const store = integrityEventStore(raw);
    await store.append('order-1', [event(1)], { expectedRevision: 'no_stream' });
    await expect(
      store.append('order-1', [event(2)], { expectedRevision: 'no_stream' }),
    ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    await expect(
      store.append('order-1', [event(2)], { expectedRevision: 5 }),
    ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    await expect(
      store.append('order-2', [event(2)], { expectedRevision: 'stream_exists' }),
    ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    await expect(
      store.append('order-1', [event(2)], { expectedRevision: -1 }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await raw.headPosition()).toBe(1);
    // A caller cannot smuggle its own integrity metadata in.
    await store.append('order-1', [
      { ...event(2), metadata: { integrity: { v: 1, hash: 'x', prev: 'y' } } },
    ]);
    expect((await verifyStore(raw)).ok).toBe(true);
  });

  it('chains correctly when writers race: losers re-read the head and retry', async () => {
    const raw = open();
    // Two decorators, as two processes would have, each with its own head cache.
    const a = integrityEventStore(raw);
    const b = integrityEventStore(raw);
    await a.append('order-1', [event(0)]);
    await b.append('order-1', [event(1)]);
    await a.append('order-1', [event(2)]); // a's cached head is stale: conflict, retry
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).append('order-1', [event(10 + i)])),
    );
    const report = await verifyStore(raw);
    expect(report).toMatchObject({ ok: true, events: 23 });
  });

  it('keeps a retried append with the same event ids idempotent', async () => {
    const raw = open();
    const store = integrityEventStore(raw);
    const once = [
      { ...event(1), id: '0190a4c3-6b1e-7cc0-8e5f-4c2b0c6f1a21' },
      { ...event(2), id: '0190a4c3-6b1e-7cc0-8e5f-4c2b0c6f1a22' },
    ];
    const first = await store.append('order-1', once);
    expect(await integrityEventStore(raw).append('order-1', once)).toEqual(first);
    expect(await store.append('order-1', once)).toEqual(first);
    expect(await raw.headPosition()).toBe(2);
    // The same ids anywhere else are still a conflict.
    await expect(store.append('order-2', once)).rejects.toMatchObject({
      code: 'DUPLICATE_EVENT_ID',
    });
    expect((await verifyStore(raw)).ok).toBe(true);
  });

  it('chains appendMany and transactions', async () => {
    const raw = open();
    const store = integrityEventStore(raw);
    await store.appendMany([
      { stream: 'order-1', events: [event(1)] },
      { stream: 'order-2', events: [event(2)] },
    ]);
    await store.transaction?.(async (tx) => {
      await tx.append('order-1', [event(3)]);
      await tx.append('order-1', [event(4)]);
    });
    expect(await verifyStore(raw)).toMatchObject({ ok: true, events: 4 });
  });

  it('reports the first broken link: unchained writes, removals, signatures', async () => {
    const raw = open();
    const store = integrityEventStore(raw, { signingKey: signing.privateKey, keyId: 'k1' });
    await store.append('order-1', [event(1), event(2)]);
    expect(await verifyStore(raw, { publicKey: signing.publicKey })).toMatchObject({ ok: true });
    const other = generateKeyPairSync('ed25519');
    expect(await verifyStore(raw, { publicKey: other.publicKey })).toMatchObject({
      ok: false,
      broken: { stream: 'order-1', revision: 0, position: 1, reason: 'bad-signature' },
    });
    await raw.append('order-1', [event(3)]); // written around the decorator
    expect(await verifyStore(raw)).toMatchObject({
      ok: false,
      events: 2,
      broken: { stream: 'order-1', revision: 2, position: 3, reason: 'missing-integrity' },
    });
    // Unsigned links fail when a public key is required.
    const unsigned = open();
    await integrityEventStore(unsigned).append('order-1', [event(1)]);
    expect((await verifyStore(unsigned, { publicKey: signing.publicKey })).broken?.reason).toBe(
      'unsigned',
    );
    expect(() => integrityEventStore(raw, { signingKey: signing.publicKey })).toThrow(
      SecurityConfigError,
    );
  });

  it('continues the chain across a soft delete', async () => {
    const raw = open();
    const store = integrityEventStore(raw);
    await store.append('order-1', [event(1)]);
    await raw.deleteStream('order-1');
    await integrityEventStore(raw).append('order-1', [event(2)]);
    expect(await verifyStore(raw)).toMatchObject({ ok: true, events: 2 });
  });
});

/** Opens one durable backend: its raw store, key store, a direct SQL edit, and cleanup. */
interface Backend {
  raw: TransactionalEventStore;
  keys: DataKeyStore;
  /** Sets `data.sku` of the event at (stream, revision) directly in the database. */
  tamper(stream: string, revision: number, sku: string): Promise<void>;
  /** Deletes the row at (stream, revision) directly in the database. */
  remove(stream: string, revision: number): Promise<void>;
  close(): Promise<void>;
}

const pg = await pgAvailable();

const backends: [string, boolean, () => Promise<Backend>][] = [
  [
    'sqlite',
    true,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'causeway-integrity-'));
      const file = join(dir, 'events.db');
      const raw = SqliteEventStore.open(file);
      const keys = SqliteKeyStore.open(raw);
      // A separate connection, as an attacker with file access would use.
      const edit = (sql: string, ...args: unknown[]) => {
        const db = new Database(file);
        try {
          db.prepare(sql).run(...args);
        } finally {
          db.close();
        }
        return Promise.resolve();
      };
      return Promise.resolve({
        raw,
        keys,
        tamper: (stream, revision, sku) =>
          edit(
            `UPDATE causeway_events SET data = json_set(data, '$.sku', ?) WHERE stream = ? AND revision = ?`,
            sku,
            stream,
            revision,
          ),
        remove: (stream, revision) =>
          edit('DELETE FROM causeway_events WHERE stream = ? AND revision = ?', stream, revision),
        close: async () => {
          await raw.close();
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
      const raw = await PostgresEventStore.open(pgUrl, { schema });
      const keys = await PostgresKeyStore.open(raw);
      return {
        raw,
        keys,
        tamper: async (stream, revision, sku) => {
          await pgExec(
            `UPDATE "${schema}".causeway_events SET data = jsonb_set(data::jsonb, '{sku}', to_jsonb($1::text))::json
             WHERE stream = $2 AND revision = $3`,
            [sku, stream, revision],
          );
        },
        remove: async (stream, revision) => {
          await pgExec(
            `DELETE FROM "${schema}".causeway_events WHERE stream = $1 AND revision = $2`,
            [stream, revision],
          );
        },
        close: async () => {
          await keys.close();
          await raw.close();
          await dropSchema(schema);
        },
      };
    },
  ],
];

for (const [name, available, openBackend] of backends) {
  describe.skipIf(!available)(`tamper evidence on ${name}`, () => {
    let backend: Backend | undefined;
    afterEach(async () => {
      await backend?.close();
      backend = undefined;
    });

    it('finds a row edited directly in the database', async () => {
      backend = await openBackend();
      const store = integrityEventStore(backend.raw);
      await store.append('order-1', [event(1), event(2), event(3)]);
      await store.append('order-2', [event(4)]);
      expect((await verifyStore(backend.raw)).ok).toBe(true);
      await backend.tamper('order-1', 1, 'stolen');
      const report = await verifyStore(backend.raw);
      expect(report).toMatchObject({
        ok: false,
        broken: { stream: 'order-1', revision: 1, position: 2, reason: 'hash-mismatch' },
      });
      expect((await verifyStore(backend.raw, { stream: 'order-2' })).ok).toBe(true);
    });

    it('finds a row deleted directly in the database', async () => {
      backend = await openBackend();
      const store = integrityEventStore(backend.raw);
      await store.append('order-1', [event(1), event(2), event(3)]);
      await backend.remove('order-1', 1);
      expect((await verifyStore(backend.raw)).broken).toMatchObject({
        stream: 'order-1',
        revision: 2,
        reason: 'revision-gap',
      });
    });

    it('verifies after a subject is forgotten: hashes cover the ciphertext', async () => {
      backend = await openBackend();
      const store = await encryptedEventStore(integrityEventStore(backend.raw), {
        keyStore: backend.keys,
        masterKey: generateMasterKey('m1'),
        personal: { 'customer.registered': { subject: '$.id', fields: ['$.email'] } },
      });
      await store.append('customer-1', [
        { type: 'customer.registered', data: { id: 'c-1', email: 'ada@example.com' } },
      ]);
      await store.append('customer-1', [{ type: 'customer.renamed', data: { id: 'c-1' } }]);
      await store.forgetSubject('c-1');
      expect((await collect(store.readStream('customer-1')))[0]?.data).toEqual({
        id: 'c-1',
        email: REDACTED,
      });
      expect(await verifyStore(backend.raw)).toMatchObject({ ok: true, streams: 2, events: 3 });
    });
  });
}
