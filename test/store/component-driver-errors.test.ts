// The storage components (checkpoints, parked events, leases, inbox, consumer groups, sagas
// and timers, stream-job state, snapshots, schemas, data keys, projections and documents)
// report driver failures as the event store does: a Causeway error with a stable code and the
// driver's error as `cause`, never a raw SqliteError or DatabaseError. Each failure here is a
// real one of the database: a write lock held by another connection, a full file, a trigger
// that refuses the row, a table gone from under a read, a lock held past `lock_timeout`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client, DatabaseError, escapeIdentifier } from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SqliteEventStore,
  SqliteKeyStore,
  SqliteSchemaStorage,
  SqliteSnapshotStore,
  sqliteGroupMembership,
  sqliteProjectionStore,
  sqliteSagaStore,
  sqliteStreamStateStore,
  sqliteSubscriptionStorage,
} from '@causewayjs/sqlite';
import {
  PostgresEventStore,
  PostgresKeyStore,
  PostgresSchemaStorage,
  PostgresSnapshotStore,
  postgresGroupMembership,
  postgresProjectionStore,
  postgresSagaStore,
  postgresStreamStateStore,
  postgresSubscriptionStorage,
} from '@causewayjs/postgres';
import {
  StorageFullError,
  StoreBusyError,
  StoreUnavailableError,
  WriteRejectedError,
  type ProjectionBuild,
  type ParkEntry,
  type SagaInstanceRecord,
  type SagaTimerRecord,
} from '@causewayjs/core';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

const pgUp = await pgAvailable();

type ErrorClass = typeof StoreBusyError;

/** What a call rejected with, named by what was called (fails the test if it resolved). */
async function failure(label: string, call: () => Promise<unknown>): Promise<[string, unknown]> {
  try {
    await call();
  } catch (error) {
    return [label, error];
  }
  return [label, new Error(`${label}: expected a rejection`)];
}

/**
 * Asserts that every failure is a `type` with `code`, whose cause is the driver's error with a
 * code matching `driverCode`: one summary line per call, so a miss names the component.
 */
function expectTyped(
  failures: [string, unknown][],
  expected: { type: ErrorClass; code: string; driver: ErrorConstructor; driverCode: RegExp },
): void {
  const seen = failures.map(([label, error]) => {
    const cause = error instanceof Error ? error.cause : undefined;
    return {
      label,
      type: error instanceof expected.type ? expected.type.name : show(error),
      code: (error as { code?: unknown }).code,
      cause: cause instanceof expected.driver ? expected.driver.name : show(cause),
      driverCode: String((cause as { code?: unknown } | undefined)?.code),
    };
  });
  expect(seen).toEqual(
    failures.map(([label]) => ({
      label,
      type: expected.type.name,
      code: expected.code,
      cause: expected.driver.name,
      driverCode: expect.stringMatching(expected.driverCode) as unknown,
    })),
  );
}

function show(value: unknown): string {
  return value instanceof Error ? `${value.constructor.name}: ${value.message}` : String(value);
}

const BUILD: ProjectionBuild = { name: 'totals', version: 1, build: 1 };

function parkEntry(stack = 'at somewhere'): ParkEntry {
  return {
    position: 1,
    eventId: '0190a0a0-0000-7000-8000-000000000001',
    stream: 's',
    type: 'a',
    reason: 'failed',
    error: { name: 'Error', message: 'boom', stack },
    attempts: 3,
    parkedAt: new Date(),
  };
}

function sagaInstance(state: unknown = { n: 1 }): SagaInstanceRecord {
  return {
    saga: 'orders',
    id: 'o-1',
    status: 'running',
    step: 'placed',
    state,
    trail: [],
    lastPosition: 0,
    newHistory: [],
    pendingCompensations: 0,
    failedCompensations: 0,
    startedAt: 1,
    updatedAt: 1,
  };
}

function sagaTimer(data: unknown = null): SagaTimerRecord {
  return { id: 't-1', saga: 'orders', instanceId: 'o-1', type: 'expire', dueAt: 1, data };
}

/** Every component of a backend on `store`, opened the way its backend opens them. */
async function sqliteComponents(store: SqliteEventStore) {
  const storage = await sqliteSubscriptionStorage(store);
  return {
    ...storage,
    groups: await sqliteGroupMembership(store),
    sagas: await sqliteSagaStore(store),
    streams: await sqliteStreamStateStore(store),
    snapshots: SqliteSnapshotStore.open(store),
    schemas: SqliteSchemaStorage.open(store),
    keys: SqliteKeyStore.open(store),
    projections: await sqliteProjectionStore(store, { storage }),
  };
}

async function postgresComponents(store: PostgresEventStore) {
  const storage = await postgresSubscriptionStorage(store);
  return {
    ...storage,
    groups: await postgresGroupMembership(store),
    sagas: await postgresSagaStore(store),
    streams: await postgresStreamStateStore(store),
    snapshots: await PostgresSnapshotStore.open(store),
    schemas: await PostgresSchemaStorage.open(store),
    keys: await PostgresKeyStore.open(store),
    projections: await postgresProjectionStore(store, { storage }),
  };
}

type SqliteComponents = Awaited<ReturnType<typeof sqliteComponents>>;
type PostgresComponents = Awaited<ReturnType<typeof postgresComponents>>;
/** Either backend's components: the helpers below call what both have. */
type AnyComponents = SqliteComponents | PostgresComponents;
/** A write joining a transaction of the store (typed `never`: each backend has its own). */
type WriteIn = (tx: never) => Promise<unknown>;

/** The tables the components write, which a test's trigger or lock makes fail. */
const COMPONENT_TABLES = [
  'causeway_checkpoints',
  'causeway_parked_events',
  'causeway_leases',
  'causeway_inbox',
  'causeway_consumer_groups',
  'causeway_group_members',
  'causeway_saga_instances',
  'causeway_saga_timers',
  'causeway_saga_outbox',
  'causeway_stream_checkpoints',
  'causeway_stream_fences',
  'causeway_snapshots',
  'causeway_event_schemas',
  'causeway_schema_compatibility',
  'causeway_data_keys',
  'causeway_key_checks',
  'causeway_projections',
];

/** Writes of every component that run on their own (each in its own transaction, if any). */
function ownWrites(c: AnyComponents, big = ''): [string, () => Promise<unknown>][] {
  const now = Date.now();
  return [
    ['checkpoints.save', () => c.checkpoints.save('c', 1)],
    ['parked.park', () => c.parked.park('sub', parkEntry(big || undefined))],
    ['leases.acquire', () => c.leases.acquire('lease', 'me', 60_000, now)],
    ['inbox.record', () => c.inbox.record('consumer', 'event-1')],
    ['groups.define', () => c.groups.define('group', { partitions: 2, startAfter: 0 }, now)],
    ['groups.heartbeat', () => c.groups.heartbeat('group', 'member', 'instance', 60_000, now)],
    ['streams.save', () => c.streams.save('job', { position: 1, watermark: null, state: big })],
    ['streams.claim', () => c.streams.claim('job', 'me')],
    [
      'snapshots.save',
      () =>
        c.snapshots.save('s', {
          revision: 1,
          stateVersion: 'v1',
          state: { big },
          takenAt: new Date(),
        }),
    ],
    [
      'schemas.insertSchema',
      () =>
        c.schemas.insertSchema({
          type: 'a',
          version: 1,
          schema: { type: 'object', description: big },
          registeredAt: new Date(),
        }),
    ],
    ['schemas.setCompatibility', () => c.schemas.setCompatibility('a', 'full')],
    [
      'keys.create',
      () =>
        c.keys.create({
          subject: 'alice',
          masterKeyId: 'm1',
          wrappedKey: new Uint8Array(big.length || 32),
          createdAt: new Date(),
        }),
    ],
    [
      'keys.addKeyCheck',
      () => c.keys.addKeyCheck({ masterKeyId: 'm1', value: new Uint8Array(big.length || 16) }),
    ],
  ];
}

/** Writes of every component that join a transaction of the store. */
function writesIn(c: AnyComponents, big = ''): [string, WriteIn][] {
  return [
    ['checkpoints.save', (t) => c.checkpoints.save('c', 1, t)],
    ['parked.park', (t) => c.parked.park('sub', parkEntry(big || undefined), t)],
    ['inbox.record', (t) => c.inbox.record('consumer', 'event-1', t)],
    ['sagas.saveInstance', (t) => c.sagas.saveInstance(sagaInstance({ big }), t)],
    ['sagas.addTimer', (t) => c.sagas.addTimer(sagaTimer({ big }), t)],
    ['streams.save', (t) => c.streams.save('job', { position: 1, watermark: null, state: big }, t)],
    ['streams.claim', (t) => c.streams.claim('job', 'me', t)],
    [
      'projections.putBuild',
      (t) =>
        c.projections.putBuild(t, {
          ...BUILD,
          mode: 'async',
          status: 'building',
          frozenAt: null,
          createdAt: new Date(),
          switchedAt: null,
        }),
    ],
    ['documents.put', (t) => c.projections.bind(t, BUILD).documents('orders').put('o-1', { big })],
  ];
}

/** Reads of every component, outside any transaction. */
function reads(c: AnyComponents) {
  const now = Date.now();
  const calls: [string, () => Promise<unknown>][] = [
    ['checkpoints.load', () => c.checkpoints.load('c')],
    ['checkpoints.list', () => c.checkpoints.list()],
    ['parked.list', () => c.parked.list('sub')],
    ['parked.count', () => c.parked.count('sub')],
    ['leases.get', () => c.leases.get('lease')],
    ['inbox.has', () => c.inbox.has('consumer', 'event-1')],
    ['groups.definition', () => c.groups.definition('group')],
    ['groups.members', () => c.groups.members('group', now)],
    ['sagas.loadInstance', () => c.sagas.loadInstance('orders', 'o-1')],
    ['sagas.timersOf', () => c.sagas.timersOf('orders', 'o-1')],
    ['sagas.dueTimers', () => c.sagas.dueTimers(now, 10)],
    ['sagas.pendingCommands', () => c.sagas.pendingCommands(10)],
    ['sagas.listCommands', () => c.sagas.listCommands()],
    ['sagas.listInstances', () => c.sagas.listInstances()],
    ['sagas.getInstance', () => c.sagas.getInstance('orders', 'o-1')],
    ['streams.load', () => c.streams.load('job')],
    ['streams.list', () => c.streams.list()],
    ['snapshots.load', () => c.snapshots.load('s', 'v1')],
    ['schemas.listSchemas', () => c.schemas.listSchemas()],
    ['schemas.listCompatibility', () => c.schemas.listCompatibility()],
    ['keys.get', () => c.keys.get('alice')],
    ['keys.list', () => c.keys.list()],
    ['keys.keyChecks', () => c.keys.keyChecks()],
    ['projections.listBuilds', () => c.projections.listBuilds()],
  ];
  return calls;
}

/** A synchronous call's outcome as a promise: its result, or what it threw as a rejection. */
function later<T>(call: () => T): Promise<T> {
  return new Promise((resolve) => resolve(call()));
}

async function all(calls: readonly (readonly [string, () => Promise<unknown>])[]) {
  const out: [string, unknown][] = [];
  for (const [label, call] of calls) out.push(await failure(label, call));
  return out;
}

describe('SQLite components: driver failures are typed', () => {
  const cleanups: (() => unknown)[] = [];
  let dir: string;
  let file: string;
  let store: SqliteEventStore;
  let c: SqliteComponents;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-component-errors-'));
    file = join(dir, 'events.db');
    store = SqliteEventStore.open(file, { busyTimeoutMs: 50 });
    cleanups.push(() => store.close());
    c = await sqliteComponents(store);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A second connection to the file, as another process would have. */
  function other(): Database.Database {
    const db = new Database(file);
    cleanups.push(() => db.close());
    return db;
  }

  it('SQLITE_BUSY: own writes while another connection holds the write lock are StoreBusyError', async () => {
    const blocker = other();
    blocker.exec('BEGIN IMMEDIATE');
    const failures = await all(ownWrites(c));
    blocker.exec('ROLLBACK');
    expectTyped(failures, {
      type: StoreBusyError,
      code: 'STORE_BUSY',
      driver: Database.SqliteError as unknown as ErrorConstructor,
      driverCode: /^SQLITE_BUSY/,
    });
    // Nothing is left broken: the same writes succeed once the lock is gone.
    for (const [, write] of ownWrites(c)) await write();
  });

  it('SQLITE_CONSTRAINT: writes a trigger refuses, alone or in a transaction, are WriteRejectedError', async () => {
    // Created before the triggers: a collection to write a document into.
    const documentsTable = await store.transaction(async (tx) => {
      const rm = c.projections.bind(tx, BUILD);
      await rm.documents('orders').put('o-0', { n: 0 });
      return rm.table('orders');
    });
    const db = other();
    for (const table of [...COMPONENT_TABLES, documentsTable])
      for (const event of ['INSERT', 'UPDATE'])
        db.exec(
          `CREATE TRIGGER "refuse_${event}_${table}" BEFORE ${event} ON "${table}"
           BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
        );

    const failures = await all(ownWrites(c));
    // A refused statement leaves a SQLite transaction open: every write in one.
    await store.transaction(async (tx) => {
      failures.push(
        ...(await all(
          writesIn(c).map(([label, write]) => [label, () => write(tx as never)] as const),
        )),
      );
    });
    expectTyped(failures, {
      type: WriteRejectedError,
      code: 'WRITE_REJECTED',
      driver: Database.SqliteError as unknown as ErrorConstructor,
      driverCode: /^SQLITE_CONSTRAINT/,
    });
  });

  it('SQLITE_FULL: writes to a database at max_page_count are StorageFullError', async () => {
    const big = 'x'.repeat(200_000);
    const pages = store.database.pragma('page_count', { simple: true }) as number;
    store.database.pragma(`max_page_count = ${pages}`);
    // Components writing on the store's own connection (under its write lock).
    const failures = await all(
      ownWrites(c, big).filter(([label]) => /snapshots|schemas\.insert|keys\.create/.test(label)),
    );
    store.database.pragma('max_page_count = 1073741823');
    expect(failures).toHaveLength(3);

    // Components writing in a transaction of the store, each in one of its own: SQLite may roll
    // a transaction back on SQLITE_FULL, and a failed transaction's connection is closed (so
    // the next one starts without the cap).
    const writes = writesIn(c, big).filter(([label]) =>
      /parked|sagas|streams\.save|documents/.test(label),
    );
    expect(writes).toHaveLength(5);
    const done = new Error('rolled back by the test');
    for (const [label, write] of writes) {
      let seen: [string, unknown] = [label, new Error('the transaction did not run')];
      const outcome = await store
        .transaction(async (tx) => {
          const used = tx.database.pragma('page_count', { simple: true }) as number;
          tx.database.pragma(`max_page_count = ${used}`);
          seen = await failure(label, () => write(tx as never));
          throw done;
        })
        .catch((error: unknown) => error);
      expect(outcome).toBe(done);
      failures.push(seen);
    }
    expectTyped(failures, {
      type: StorageFullError,
      code: 'STORAGE_FULL',
      driver: Database.SqliteError as unknown as ErrorConstructor,
      driverCode: /^SQLITE_FULL$/,
    });
  });

  it('SQLITE_BUSY: opening (migrating) a component while the write lock is held is StoreBusyError', async () => {
    const fresh = SqliteEventStore.open(join(dir, 'fresh.db'), { busyTimeoutMs: 50 });
    cleanups.push(() => fresh.close());
    const blocker = new Database(join(dir, 'fresh.db'));
    cleanups.push(() => blocker.close());
    blocker.exec('BEGIN IMMEDIATE');
    const failures = await all([
      ['sqliteSubscriptionStorage', () => sqliteSubscriptionStorage(fresh)],
      ['sqliteGroupMembership', () => sqliteGroupMembership(fresh)],
      ['sqliteSagaStore', () => sqliteSagaStore(fresh)],
      ['sqliteStreamStateStore', () => sqliteStreamStateStore(fresh)],
      ['sqliteProjectionStore', () => sqliteProjectionStore(fresh)],
      ['SqliteSnapshotStore.open', () => later(() => SqliteSnapshotStore.open(fresh))],
      ['SqliteSchemaStorage.open', () => later(() => SqliteSchemaStorage.open(fresh))],
      ['SqliteKeyStore.open', () => later(() => SqliteKeyStore.open(fresh))],
    ]);
    blocker.exec('ROLLBACK');
    expectTyped(failures, {
      type: StoreBusyError,
      code: 'STORE_BUSY',
      driver: Database.SqliteError as unknown as ErrorConstructor,
      driverCode: /^SQLITE_BUSY/,
    });
    expect(SqliteSnapshotStore.open(fresh)).toBeInstanceOf(SqliteSnapshotStore);
  });

  it('a table gone from under a read is StoreUnavailableError, on every read', async () => {
    const db = other();
    for (const table of COMPONENT_TABLES)
      db.exec(`ALTER TABLE "${table}" RENAME TO "${table}_gone"`);
    const failures = await all(reads(c));
    // A projection query's own SQL on the read model's connection.
    failures.push(
      await failure('projections.read', () =>
        c.projections.read(BUILD, (rm) => rm.prepare(`SELECT * FROM "${rm.table('gone')}"`).all()),
      ),
    );
    expectTyped(failures, {
      type: StoreUnavailableError,
      code: 'STORE_UNAVAILABLE',
      driver: Database.SqliteError as unknown as ErrorConstructor,
      driverCode: /^SQLITE_ERROR$/,
    });
  });
});

describe.skipIf(!pgUp)('PostgreSQL components: driver failures are typed', () => {
  const cleanups: (() => unknown)[] = [];
  let schema: string;
  let store: PostgresEventStore;
  let c: PostgresComponents;
  let s: string;

  beforeEach(async () => {
    schema = randomSchemaName();
    s = escapeIdentifier(schema);
    // A lock held by another session fails a statement after 100 ms instead of waiting.
    const url = `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}lock_timeout=100`;
    store = await PostgresEventStore.open(url, { schema, maxConnections: 3 });
    cleanups.push(() => store.close());
    c = await postgresComponents(store);
    cleanups.push(() => Promise.all([c.snapshots.close(), c.schemas.close(), c.keys.close()]));
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await dropSchema(schema);
  });

  async function admin(): Promise<Client> {
    const client = new Client({ connectionString: pgUrl });
    await client.connect();
    cleanups.push(() => client.end());
    return client;
  }

  it('a trigger raising an exception (P0001) makes every write WriteRejectedError', async () => {
    const documentsTable = await store.transaction(async (tx) => {
      const rm = c.projections.bind(tx, BUILD);
      await rm.documents('orders').put('o-0', { n: 0 });
      return rm.table('orders');
    });
    const client = await admin();
    await client.query(
      `CREATE FUNCTION ${s}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'refused by the test'; END $$`,
    );
    for (const table of [...COMPONENT_TABLES.map((t) => `${s}.${t}`), documentsTable])
      await client.query(
        `CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON ${table}
         FOR EACH ROW EXECUTE FUNCTION ${s}.refuse()`,
      );

    const failures = await all(ownWrites(c));
    // A failed statement aborts a PostgreSQL transaction: one transaction per write, and what
    // the port's caller saw inside it is what is checked.
    for (const [label, write] of writesIn(c)) {
      let seen: [string, unknown] = [label, new Error('the transaction did not run')];
      await store
        .transaction(async (tx) => {
          seen = await failure(label, () => write(tx as never));
        })
        .catch(() => undefined);
      failures.push(seen);
    }
    expectTyped(failures, {
      type: WriteRejectedError,
      code: 'WRITE_REJECTED',
      driver: DatabaseError as unknown as ErrorConstructor,
      driverCode: /^P0001$/,
    });
  });

  it('opening a component while its migration lock is held past lock_timeout is StoreBusyError', async () => {
    const blocker = await admin();
    await blocker.query('BEGIN');
    await blocker.query(
      "SELECT pg_advisory_xact_lock(hashtext('causeway.migrate'), hashtext($1))",
      [schema],
    );
    const opened: { close(): Promise<void> }[] = [];
    const open = async (component: Promise<{ close(): Promise<void> }>) =>
      opened.push(await component);
    const failures = await all([
      ['postgresSubscriptionStorage', () => postgresSubscriptionStorage(store)],
      ['postgresGroupMembership', () => postgresGroupMembership(store)],
      ['postgresSagaStore', () => postgresSagaStore(store)],
      ['postgresStreamStateStore', () => postgresStreamStateStore(store)],
      ['postgresProjectionStore', () => postgresProjectionStore(store)],
      ['PostgresSnapshotStore.open', () => open(PostgresSnapshotStore.open(store))],
      ['PostgresSchemaStorage.open', () => open(PostgresSchemaStorage.open(store))],
      ['PostgresKeyStore.open', () => open(PostgresKeyStore.open(store))],
    ]);
    await blocker.query('ROLLBACK');
    await Promise.all(opened.map((component) => component.close()));
    expectTyped(failures, {
      type: StoreBusyError,
      code: 'STORE_BUSY',
      driver: DatabaseError as unknown as ErrorConstructor,
      driverCode: /^55P03$/,
    });
  });

  it('a lock held past lock_timeout (55P03) makes reads and writes StoreBusyError', async () => {
    const documentsTable = await store.transaction(async (tx) => {
      const rm = c.projections.bind(tx, BUILD);
      await rm.documents('orders').put('o-0', { n: 0 });
      return rm.table('orders');
    });
    const blocker = await admin();
    await blocker.query('BEGIN');
    await blocker.query(
      `LOCK TABLE ${[...COMPONENT_TABLES.map((t) => `${s}.${t}`), documentsTable].join(', ')}
       IN ACCESS EXCLUSIVE MODE`,
    );
    const failures = [...(await all(reads(c))), ...(await all(ownWrites(c)))];
    failures.push(
      await failure('documents.get', () =>
        c.projections.read(BUILD, (rm) => rm.documents('orders').get('o-0')),
      ),
      await failure('documents.find', () =>
        c.projections.read(BUILD, (rm) => rm.documents('orders').find()),
      ),
      // A projection query's own SQL on the read model's connection.
      await failure('projections.read', () =>
        c.projections.read(BUILD, (rm) => rm.client.query(`SELECT * FROM ${documentsTable}`)),
      ),
    );
    let seen: [string, unknown] = ['documents.put', new Error('the transaction did not run')];
    await store
      .transaction(async (tx) => {
        seen = await failure('documents.put', () =>
          c.projections.bind(tx, BUILD).documents('orders').put('o-1', { n: 1 }),
        );
      })
      .catch(() => undefined);
    failures.push(seen);
    await blocker.query('ROLLBACK');
    expectTyped(failures, {
      type: StoreBusyError,
      code: 'STORE_BUSY',
      driver: DatabaseError as unknown as ErrorConstructor,
      driverCode: /^55P03$/,
    });
    expect(await c.checkpoints.load('c')).toBeUndefined();
  });
});
