import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { escapeIdentifier } from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  postgresBackendOf,
  PostgresEventStore,
  type PostgresReadModel,
  type PostgresTransaction,
} from '@causewayjs/postgres';
import {
  sqliteBackendOf,
  SqliteEventStore,
  type SqliteReadModel,
  type SqliteTransaction,
} from '@causewayjs/sqlite';
import {
  Projector,
  SchemaRegistry,
  collect,
  defineProjection,
  openMemoryBackend,
  stackBackend,
  upcaster,
  verifyStore,
  type Backend,
  type BackendLayers,
  type DocumentReadModel,
  type DocumentsHandle,
  type EventStore,
  type RecordedEvent,
  type StoreTransaction,
  type TransactionalEventStore,
  undecorated,
  Subscription,
} from '@causewayjs/core';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import {
  describeSagaStoreConformance,
  describeSubscriptionConformance,
  type EffectSink,
} from '@causewayjs/testing';
import { describeFulfilmentSagaConformance } from './saga-fulfilment.suite.js';
import { signingKeys, TENANT } from './store-layers.js';

// Subscriptions, sagas and projections whose source is a decorated store: a stackBackend view
// (schemas, encryption, hash chain, tenant scope, tracing), whose storage ports read and write
// through the stack. The subscription suite and the saga store suite (the fulfilment saga end
// to end included) run on the view; then handlers and projections are shown to see events
// decrypted and upcast, and what a handler appends with tx.append to be validated, encrypted
// and chained.

const tracerProvider = new NodeTracerProvider();
tracerProvider.register();
afterAll(() => tracerProvider.shutdown());

/** One fresh database of an adapter, opened as often as a suite asks. */
interface FreshBackend<Tx extends StoreTransaction, RM extends DocumentsHandle> {
  durable: boolean;
  open(): Promise<Backend<Tx, RM>>;
  /** The subscription suite's table of effects, in this database. */
  sink: EffectSink<Tx>;
  cleanup(): Promise<void>;
}

/** How these tests reach one adapter, typed by its transaction and read model. */
interface StackedTarget<Tx extends StoreTransaction, RM extends DocumentsHandle> {
  unavailable(): Promise<string | undefined>;
  fresh(): FreshBackend<Tx, RM>;
}

const memoryTarget: StackedTarget<StoreTransaction, DocumentReadModel> = {
  unavailable: () => Promise.resolve(undefined),
  fresh: () => {
    // The memory adapter's "table": rows applied when the transaction commits.
    const rows = new Map<string, number>();
    const pending = new WeakMap<StoreTransaction, Set<string>>();
    return {
      durable: false,
      open: () => Promise.resolve(openMemoryBackend()),
      sink: {
        setup: () => Promise.resolve(),
        write: (tx, key, value) =>
          new Promise<void>((resolve) => {
            let keys = pending.get(tx);
            if (!keys) pending.set(tx, (keys = new Set()));
            if (rows.has(key) || keys.has(key)) throw new Error(`duplicate key ${key}`);
            keys.add(key);
            tx.onCommit(() => rows.set(key, value));
            resolve();
          }),
        read: () => Promise.resolve(new Map(rows)),
      },
      cleanup: () => Promise.resolve(),
    };
  },
};

const sqliteTarget: StackedTarget<SqliteTransaction, SqliteReadModel> = {
  unavailable: () => Promise.resolve(undefined),
  fresh: () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-stacked-'));
    const file = join(dir, 'events.db');
    return {
      durable: true,
      open: () =>
        Promise.resolve(sqliteBackendOf(SqliteEventStore.open(file, { pollIntervalMs: 10 }))),
      sink: {
        setup: (store) =>
          store.transaction((tx) => {
            tx.database.exec(
              'CREATE TABLE IF NOT EXISTS test_effects (key TEXT PRIMARY KEY, value INTEGER NOT NULL)',
            );
            return Promise.resolve();
          }),
        write: (tx, key, value) =>
          new Promise<void>((resolve) => {
            tx.database
              .prepare('INSERT INTO test_effects (key, value) VALUES (?, ?)')
              .run(key, value);
            resolve();
          }),
        read: (store) =>
          Promise.resolve(
            new Map(
              (undecorated(store) as SqliteEventStore).database
                .prepare<[], { key: string; value: number }>('SELECT key, value FROM test_effects')
                .all()
                .map((r) => [r.key, r.value]),
            ),
          ),
      },
      cleanup: () => {
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    };
  },
};

const postgresTarget: StackedTarget<PostgresTransaction, PostgresReadModel> = {
  unavailable: async () =>
    (await pgAvailable()) ? undefined : 'PostgreSQL at CAUSEWAY_PG_URL is unreachable',
  fresh: () => {
    const schema = randomSchemaName();
    const table = `${escapeIdentifier(schema)}.test_effects`;
    const pool = (store: TransactionalEventStore<PostgresTransaction>) =>
      (undecorated(store) as PostgresEventStore).pool;
    return {
      durable: true,
      open: async () =>
        postgresBackendOf(
          await PostgresEventStore.open(pgUrl, {
            schema,
            maxConnections: 4,
            listen: { pollIntervalMs: 50, reconnectDelayMs: 50 },
          }),
        ),
      sink: {
        setup: async (store) => {
          await pool(store).query(
            `CREATE TABLE IF NOT EXISTS ${table} (key text PRIMARY KEY, value bigint NOT NULL)`,
          );
        },
        write: async (tx, key, value) => {
          await tx.client.query(`INSERT INTO ${table} (key, value) VALUES ($1, $2)`, [key, value]);
        },
        read: async (store) => {
          const { rows } = await pool(store).query<{ key: string; value: string }>(
            `SELECT key, value FROM ${table}`,
          );
          return new Map(rows.map((r) => [r.key, Number(r.value)]));
        },
      },
      cleanup: () => dropSchema(schema),
    };
  },
};

const tenantStream = (name: string) => `${TENANT}:${name}`;
const MASTER_KEY = { id: 'consumers-1', key: Buffer.alloc(32, 7).toString('base64') };

/**
 * The full production stack for the subscription suite's events: their `n` is personal, each
 * type has a schema, streams belong to the tenant.
 */
async function subscriptionLayers(): Promise<BackendLayers> {
  const registry = await SchemaRegistry.open({ defaultCompatibility: 'none' });
  const counted = z.object({ n: z.number() });
  const types = ['t.happened', 't.live', 't.remote', 'x.even', 'x.odd', 'x.y'];
  for (const type of [...types, 'order.placed', 'shipment.requested'])
    await registry.register(type, counted, { version: 1 });
  const personal = { subject: () => 'subject-1', fields: ['$.n'] };
  return {
    tracing: true,
    tenant: TENANT,
    schemas: { registry, strict: true },
    encryption: {
      masterKey: MASTER_KEY,
      personal: Object.fromEntries(
        ['t.happened', 'x.even', 'x.odd', 'shipment.requested'].map((t) => [t, personal]),
      ),
    },
    integrity: { signingKey: signingKeys.privateKey },
  };
}

/**
 * The stack the shop's fulfilment saga runs on: an order's lines are personal, so its
 * deciders and the saga only work on them decrypted. (No tenant: the shop names its streams
 * without one.)
 */
function sagaLayers(): BackendLayers {
  return {
    tracing: true,
    encryption: {
      masterKey: MASTER_KEY,
      personal: { 'order.placed': { subject: '$.customerId', fields: ['$.lines'] } },
    },
    integrity: { signingKey: signingKeys.privateKey },
  };
}

interface Customer {
  customerId: string;
  name: string;
}

/**
 * `customer.registered`, two versions: v2 adds `tier`, which the upcaster from v1 fills in.
 * `welcome.sent` is what a handler appends.
 */
async function customerSchemas(version: 1 | 2): Promise<SchemaRegistry> {
  const registry = await SchemaRegistry.open({ defaultCompatibility: 'none' });
  const v1 = z.object({ customerId: z.string(), name: z.string() });
  await registry.register('customer.registered', v1, { version: 1 });
  if (version === 2)
    await registry.register('customer.registered', v1.extend({ tier: z.string() }), {
      version: 2,
    });
  await registry.register(
    'welcome.sent',
    z.object({ customerId: z.string(), name: z.string(), tier: z.string() }),
    { version: 1 },
  );
  return registry;
}

/** The customer stack of an application at `version` of its schemas. */
async function customerLayers(version: 1 | 2): Promise<BackendLayers> {
  return {
    tracing: true,
    tenant: TENANT,
    schemas: {
      registry: await customerSchemas(version),
      upcasters: [upcaster('customer.registered', 1, (d: Customer) => ({ ...d, tier: 'basic' }))],
    },
    encryption: {
      masterKey: MASTER_KEY,
      personal: {
        'customer.registered': { subject: '$.customerId', fields: ['$.name'] },
        'welcome.sent': { subject: '$.customerId', fields: ['$.name'] },
      },
    },
    integrity: { signingKey: signingKeys.privateKey },
  };
}

/** The stored copy of every event of `stream`. */
const stored = (raw: EventStore, stream: string) => collect(raw.readStream(stream));

/**
 * Registers a customer as the previous version of the application did (schema v1), so that
 * it is stored encrypted at v1 and reads upcast through the current stack.
 */
async function registerWithV1<Tx extends StoreTransaction, RM extends DocumentsHandle>(
  backend: Backend<Tx, RM>,
): Promise<void> {
  const old = await stackBackend(backend, await customerLayers(1));
  await old.store.append(tenantStream('customer-1'), [
    { type: 'customer.registered', data: { customerId: 'c-1', name: 'Ada' } },
  ]);
}

const SEEN = { customerId: 'c-1', name: 'Ada', tier: 'basic' };

function describeStacked<Tx extends StoreTransaction, RM extends DocumentsHandle>(
  name: string,
  target: StackedTarget<Tx, RM>,
): void {
  describe(`${name} through the full stack`, () => {
    describeSubscriptionConformance<Tx>(`${name} through the full stack`, async () => {
      const db = target.fresh();
      const layers = await subscriptionLayers();
      const backends: Backend<Tx, RM>[] = [];
      return {
        durable: db.durable,
        stream: tenantStream,
        sink: db.sink,
        open: async () => {
          const backend = await db.open();
          backends.push(backend);
          const view = await stackBackend(backend, layers);
          return { store: view.store, storage: await view.subscriptionStorage() };
        },
        cleanup: async () => {
          for (const backend of backends.splice(0)) await backend.close();
          await db.cleanup();
        },
      };
    });

    const sagaHarness = async () => {
      const db = target.fresh();
      const backends: Backend<Tx, RM>[] = [];
      return Promise.resolve({
        durable: db.durable,
        open: async () => {
          const backend = await db.open();
          backends.push(backend);
          const view = await stackBackend(backend, sagaLayers());
          return {
            store: view.store,
            sagaStore: await view.sagaStore(),
            storage: await view.subscriptionStorage(),
          };
        },
        cleanup: async () => {
          for (const backend of backends.splice(0)) await backend.close();
          await db.cleanup();
        },
      });
    };
    describeSagaStoreConformance(`${name} through the stack`, sagaHarness);
    describeFulfilmentSagaConformance(`${name} through the stack`, sagaHarness);

    describe('what consumers see of the stack', () => {
      let db: FreshBackend<Tx, RM>;
      let backend: Backend<Tx, RM>;
      let view: Backend<Tx, RM>;
      const stopping: { stop(): Promise<void> }[] = [];

      beforeEach(async () => {
        db = target.fresh();
        backend = await db.open();
        await registerWithV1(backend);
        view = await stackBackend(backend, await customerLayers(2));
      });

      afterEach(async () => {
        for (const s of stopping.splice(0)) await s.stop();
        await backend.close();
        await db.cleanup();
      });

      it('a subscription handler sees events decrypted and upcast; its tx.append is validated, encrypted and chained', async () => {
        const storage = await view.subscriptionStorage();
        const seen: RecordedEvent[] = [];
        const welcome = new Subscription<Tx>({
          name: 'welcome',
          storage,
          filter: { types: ['customer.registered'] },
          handler: async (event, { tx }) => {
            seen.push(event);
            await tx.append(tenantStream('welcome-1'), [
              { type: 'welcome.sent', data: event.data },
            ]);
          },
        });
        const careless = new Subscription<Tx>({
          name: 'careless',
          storage,
          retry: { attempts: 1 },
          filter: { types: ['customer.registered'] },
          handler: async (_event, { tx }) => {
            await tx.append(tenantStream('welcome-2'), [
              { type: 'welcome.sent', data: { customerId: 'c-1', name: 'Ada', tier: 3 } },
            ]);
          },
        });
        stopping.push(welcome, careless);
        await welcome.start();
        await careless.start();
        await welcome.waitForPosition(1);
        await careless.waitForPosition(1);

        expect(seen.map((e) => [e.schemaVersion, e.data])).toEqual([[2, SEEN]]);
        const [parked, ...others] = await careless.listParked();
        expect(others).toEqual([]);
        expect(parked?.error.code).toBe('SCHEMA_VALIDATION_FAILED');
        expect(await stored(backend.store, tenantStream('welcome-2'))).toEqual([]);

        const [sent] = await stored(backend.store, tenantStream('welcome-1'));
        expect(sent?.data).toMatchObject({ name: expect.stringMatching(/^cw1:/) as unknown });
        expect(sent?.metadata).toMatchObject({
          tenant: TENANT,
          integrity: { sig: expect.any(String) as unknown },
        });
        expect((await collect(view.store.readStream(tenantStream('welcome-1'))))[0]?.data).toEqual(
          SEEN,
        );
        const report = await verifyStore(backend.store, { publicKey: signingKeys.publicKey });
        expect(report).toMatchObject({ ok: true, events: 2 });
      });

      it('inline and async projections see events decrypted and upcast', async () => {
        const applied = { inline: [] as unknown[], async: [] as unknown[] };
        const projection = (mode: 'inline' | 'async') =>
          defineProjection<RM>({
            name: `customers-${mode}`,
            version: 1,
            mode,
            handles: ['customer.registered'],
            setup: () => undefined,
            apply: (event) => {
              applied[mode].push([event.schemaVersion, event.data]);
            },
          });
        const projector = new Projector({
          store: await view.projectionStore(),
          projections: [projection('inline'), projection('async')],
        });
        stopping.push(projector);
        await projector.start();
        // Both are built from the log first, through the stack: the v1 event comes upcast.
        for (const name of ['customers-inline', 'customers-async'])
          await projector.query(name, () => undefined, { minPosition: 1 });
        expect(applied.inline).toEqual([[2, SEEN]]);
        // Registered now, at v2: the inline projection applies it in the append's transaction,
        // from what the projection store reads back of it (encrypted in the table).
        const { position } = await projector.store.append(tenantStream('customer-2'), [
          {
            type: 'customer.registered',
            data: { customerId: 'c-2', name: 'Grace', tier: 'gold' },
          },
        ]);
        expect(applied.inline).toEqual([
          [2, SEEN],
          [2, { customerId: 'c-2', name: 'Grace', tier: 'gold' }],
        ]);
        const [raw] = await stored(backend.store, tenantStream('customer-2'));
        expect(raw?.data).toMatchObject({ name: expect.stringMatching(/^cw1:/) as unknown });
        await projector.query('customers-async', () => undefined, { minPosition: position });
        expect(applied.async).toEqual([
          [2, SEEN],
          [2, { customerId: 'c-2', name: 'Grace', tier: 'gold' }],
        ]);
      });
    });
  });
}

describeStacked('memory', memoryTarget);
describeStacked('sqlite', sqliteTarget);
const pgDown = await postgresTarget.unavailable();
describe.skipIf(pgDown !== undefined)('postgres', () =>
  describeStacked('postgres', postgresTarget),
);
