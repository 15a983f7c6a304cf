// Erasure made real: after forgetSubject, no plaintext of the subject survives anywhere
// Causeway writes. Personal data (an e-mail and a name, in encrypted fields) is spread over
// every kind of copy a backend keeps: snapshots, two document read models (one projection
// with a forget hook, one without), saga state, history and outbox, a parked event whose
// handler quoted the data in its error, stream-job state, and an export. The whole database
// is then scanned for the plaintext: found before the forget (so the scan can fail), gone
// after it. On SQLite every column of every table, and the raw bytes of the file and its
// write-ahead log after a checkpoint; on PostgreSQL every row of every table of the schema,
// cast to text.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { escapeIdentifier } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '@causewayjs/sqlite';
import { exportEvents } from '@causewayjs/cli/internals';
import {
  collect,
  CommandHandler,
  defineProjection,
  defineSaga,
  EncryptedEventStore,
  everyNEvents,
  generateMasterKey,
  openBackend,
  Projector,
  REDACTED,
  SagaRuntime,
  stackBackend,
  storeSource,
  StreamJob,
  StreamJobFencedError,
  verifyStore,
  type Backend,
  type CommandDispatcher,
  type Decider,
  type DocumentsHandle,
  type DomainEvent,
  type RecordedEvent,
  Subscription,
  undecorated,
} from '@causewayjs/core';
import { dropSchema, pgAvailable, pgExec, pgUrl, randomSchemaName } from '../support/postgres.js';

const EMAIL = 'ada.lovelace@example.com';
const NAME = 'Ada Lovelace';
const OTHER_EMAIL = 'grace.hopper@example.com';
const SECRETS = [EMAIL, NAME];

const master = generateMasterKey('erasure-1');
const personal = {
  'customer.registered': { subject: '$.customerId', fields: ['$.email', '$.name'] },
};

interface Customer {
  customerId: string;
  email: string;
  name: string;
}
type CustomerEvent =
  | DomainEvent<'customer.registered', Customer>
  | DomainEvent<'customer.plan-changed', { plan: string }>;
type CustomerCommand =
  { type: 'register'; data: Customer } | { type: 'change-plan'; data: { plan: string } };
interface CustomerState {
  email: string | null;
  name: string | null;
  plan: string;
}
const customers: Decider<CustomerCommand, CustomerEvent, CustomerState> = {
  initialState: () => ({ email: null, name: null, plan: 'free' }),
  decide: (command) =>
    command.type === 'register'
      ? [{ type: 'customer.registered', data: command.data }]
      : [{ type: 'customer.plan-changed', data: command.data }],
  evolve: (state, event) =>
    event.type === 'customer.registered'
      ? { ...state, email: event.data.email, name: event.data.name }
      : { ...state, plan: event.data.plan },
};

const customerOf = (event: RecordedEvent) => event.data as Customer;

/** A directory keyed by customer id, with a forget hook that drops the subject's document. */
const directory = defineProjection<DocumentsHandle>({
  name: 'customer-directory',
  version: 1,
  handles: ['customer.registered'],
  streamPrefix: 'customer-',
  setup: () => undefined,
  apply: async (event, rm) => {
    const c = customerOf(event);
    await rm.documents('customers').put(c.customerId, { email: c.email, name: c.name });
  },
  forget: async (subject, rm) => {
    await rm.documents('customers').delete(subject);
  },
});

/** A mailing list without a forget hook: the backend's eraser is what clears it. */
const mailingList = defineProjection<DocumentsHandle>({
  name: 'mailing-list',
  version: 1,
  handles: ['customer.registered'],
  setup: () => undefined,
  apply: async (event, rm) => {
    const c = customerOf(event);
    await rm
      .documents('recipients', { indexes: ['email'] })
      .put(c.customerId, { email: c.email, greeting: `Dear ${c.name}` });
  },
});

/** Keeps each customer's details in its state and asks for a welcome mail with them. */
const onboarding = defineSaga<{ email: string; name: string }>({
  name: 'onboarding',
  startsWith: ['customer.registered'],
  handles: [],
  correlate: (event) => customerOf(event).customerId,
  initialStep: 'welcoming',
  start: (event) => {
    const c = customerOf(event);
    return {
      state: { email: c.email, name: c.name },
      send: [{ type: 'mail.send-welcome', data: { to: c.email, name: c.name } }],
    };
  },
});

const refusingMailer: CommandDispatcher = {
  dispatch: () => Promise.reject(new Error('the mailer is down')),
};

interface Target {
  name: string;
  available: () => Promise<boolean>;
  open(): Promise<Backend>;
  /**
   * Runs SQL of the application's own in the backend's database (a table beside
   * Causeway's), returning the rows of a query.
   */
  sql(text: string): Promise<unknown[]>;
  /** Every place the plaintext could be in: what the scan reads, as one text per place. */
  scan(backend: Backend, files: readonly string[]): Promise<Map<string, string>>;
  cleanup(): Promise<void>;
}

function sqliteTarget(): Target {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-shredding-'));
  const file = join(dir, 'events.db');
  return {
    name: 'sqlite',
    available: () => Promise.resolve(true),
    open: () => openBackend(`sqlite:${file}`, { pollIntervalMs: 10 }),
    sql: (text) => {
      const db = new Database(file);
      try {
        const statement = db.prepare(text);
        return Promise.resolve(statement.reader ? statement.all() : (statement.run(), []));
      } finally {
        db.close();
      }
    },
    scan: (backend, files) => {
      const places = new Map<string, string>();
      // Every column of every table, read by a connection of its own.
      const db = new Database(file, { readonly: true });
      try {
        const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
          name: string;
        }[];
        for (const { name } of tables) {
          const rows = db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[];
          places.set(
            `table ${name}`,
            rows
              .flatMap((row) =>
                Object.values(row).map((v) =>
                  Buffer.isBuffer(v) ? v.toString('latin1') : String(v),
                ),
              )
              .join('\n'),
          );
        }
      } finally {
        db.close();
      }
      // The raw bytes, after a checkpoint: the file, its write-ahead log, the exports.
      const sqlite = undecorated(backend.store) as unknown as { database: Database.Database };
      sqlite.database.pragma('wal_checkpoint(TRUNCATE)');
      for (const path of [file, `${file}-wal`, ...files])
        if (existsSync(path)) places.set(`bytes of ${path}`, readFileSync(path).toString('latin1'));
      return Promise.resolve(places);
    },
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

function postgresTarget(): Target {
  const schema = randomSchemaName();
  const dir = mkdtempSync(join(tmpdir(), 'causeway-shredding-'));
  return {
    name: 'postgres',
    available: pgAvailable,
    open: () => openBackend(pgUrl, { schema, maxConnections: 6 }),
    sql: (text) =>
      pgExec(text.replaceAll('app_contacts', `${escapeIdentifier(schema)}.app_contacts`)),
    scan: async (_backend, files) => {
      const places = new Map<string, string>();
      const tables = (await pgExec(
        `SELECT table_name AS name FROM information_schema.tables
          WHERE table_schema = $1 AND table_type = 'BASE TABLE'`,
        [schema],
      )) as { name: string }[];
      expect(tables.length).toBeGreaterThan(5);
      for (const { name } of tables) {
        const rows = (await pgExec(
          `SELECT t::text AS row FROM ${escapeIdentifier(schema)}.${escapeIdentifier(name)} t`,
        )) as { row: string }[];
        places.set(`table ${name}`, rows.map((r) => r.row).join('\n'));
      }
      for (const path of files) places.set(`bytes of ${path}`, readFileSync(path, 'latin1'));
      return places;
    },
    cleanup: async () => {
      await dropSchema(schema);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Where each secret is found, as `place: secret`. */
function findings(places: Map<string, string>): string[] {
  const found: string[] = [];
  for (const [place, text] of places)
    for (const secret of SECRETS) if (text.includes(secret)) found.push(`${place}: ${secret}`);
  return found;
}

const io = () => ({
  stdout: new PassThrough(),
  stderr: new PassThrough(),
  interactive: false,
  env: {},
  signal: new AbortController().signal,
});

for (const make of [sqliteTarget, postgresTarget]) {
  const target = make();
  const available = await target.available();
  describe.skipIf(!available)(`forgetting a subject erases every copy (${target.name})`, () => {
    const cleanup: (() => unknown)[] = [];
    afterEach(async () => {
      for (const step of cleanup.splice(0).reverse()) await step();
    });

    it('leaves no plaintext of the subject in any table, file or export', async () => {
      cleanup.push(() => target.cleanup());
      const backend = await target.open();
      cleanup.push(() => backend.close());
      const app = await stackBackend(backend, {
        encryption: { masterKey: master, personal },
        integrity: true,
      });
      const store = app.store;
      expect(store).toBeInstanceOf(EncryptedEventStore);
      const encrypted = store as EncryptedEventStore;

      // Snapshots, folded from the decrypted events.
      const handler = new CommandHandler({
        store,
        decider: customers,
        snapshots: {
          store: await app.snapshotStore(),
          stateVersion: 'customer@1',
          policy: everyNEvents(2),
        },
      });
      await handler.handle('customer-1', {
        type: 'register',
        data: { customerId: 'c-1', email: EMAIL, name: NAME },
      });
      await handler.handle('customer-1', { type: 'change-plan', data: { plan: 'gold' } });
      await handler.handle('customer-2', {
        type: 'register',
        data: { customerId: 'c-2', email: OTHER_EMAIL, name: 'Grace Hopper' },
      });

      // Read models, saga state and outbox, a parked event, stream-job state.
      const projector = new Projector({
        store: await app.projectionStore(),
        projections: [directory, mailingList],
      });
      cleanup.push(() => projector.stop());
      await projector.start();
      const head = await store.headPosition();
      await projector.waitFor('customer-directory', head, { timeoutMs: 20_000 });
      await projector.waitFor('mailing-list', head, { timeoutMs: 20_000 });

      const sagas = new SagaRuntime({
        storage: await app.subscriptionStorage(),
        sagaStore: await app.sagaStore(),
        sagas: [onboarding],
        dispatcher: refusingMailer,
        lease: false,
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      });
      cleanup.push(() => sagas.stop());
      await sagas.start();
      await sagas.runUntilIdle({ timeoutMs: 20_000 });
      const instance = await (await app.sagaStore()).getInstance('onboarding', 'c-1');
      expect(instance?.state).toEqual({ email: EMAIL, name: NAME });

      const mailer = new Subscription({
        name: 'welcome-mailer',
        storage: await app.subscriptionStorage(),
        filter: { types: ['customer.registered'] },
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        // The worst case: a handler that quotes the data in its error.
        handler: (event) => {
          const { customerId, email, name } = customerOf(event);
          if (customerId === 'c-1') throw new Error(`no mailbox for ${email} (${name})`);
        },
      });
      cleanup.push(() => mailer.stop());
      await mailer.start();
      await expect
        .poll(() => mailer.listParked().then((p) => p.length), { timeout: 20_000 })
        .toBe(1);

      const checkpoints = await app.streamStateStore();
      const latestEmail = () => {
        const job = new StreamJob<RecordedEvent>({
          name: 'latest-email',
          source: storeSource(store, { live: false, filter: { types: ['customer.registered'] } }),
          timestamp: 'recordedAt',
          checkpoints,
        });
        job.input
          .keyBy((e) => customerOf(e).customerId)
          .process<{ email: string; name: string }, string>((_, e) => ({
            email: customerOf(e).email,
            name: customerOf(e).name,
          }));
        return job;
      };
      await latestEmail().run();
      expect((await checkpoints.load('latest-email'))?.state).toContain(EMAIL);

      // A table of the application's own, whose check refuses an erased row: the row goes.
      await target.sql(
        `CREATE TABLE app_contacts (
           email TEXT PRIMARY KEY,
           note TEXT CHECK (note NOT LIKE '%[redacted]%'),
           shout TEXT GENERATED ALWAYS AS (upper(email)) STORED
         )`,
      );
      await target.sql(`INSERT INTO app_contacts VALUES ('${EMAIL}', 'call ${NAME}')`);
      await target.sql(`INSERT INTO app_contacts VALUES ('${OTHER_EMAIL}', 'call Grace')`);

      const exportFile = join(mkdtempSync(join(tmpdir(), 'causeway-export-')), 'export.jsonl');
      cleanup.push(() => rmSync(join(exportFile, '..'), { recursive: true, force: true }));

      // The scan finds the plaintext where it was copied.
      const before = findings(await target.scan(backend, []));
      for (const table of [
        'causeway_saga_instances',
        'causeway_saga_outbox',
        'causeway_parked_events',
        'causeway_stream_checkpoints',
        'causeway_snapshots',
      ])
        expect(before.some((f) => f.startsWith(`table ${table}:`))).toBe(true);
      expect(before.some((f) => f.includes('customer_directory_v1'))).toBe(true);
      expect(before.some((f) => f.startsWith('table app_contacts:'))).toBe(true);
      expect(before.some((f) => f.includes('mailing_list_v1'))).toBe(true);
      if (target.name === 'sqlite')
        expect(before.some((f) => f.startsWith('bytes of '))).toBe(true);

      const forgotten = await encrypted.forgetSubject('c-1', { actor: 'dpo', reason: 'erasure' });
      expect(forgotten.keyDestroyed).toBe(true);
      expect(forgotten.snapshotsDeleted).toBeGreaterThan(0);
      expect(forgotten.copiesErased).toBeGreaterThan(0);
      // The forget hook ran in order, after the forget: the directory no longer has c-1.
      await projector.waitFor('customer-directory', forgotten.position, { timeoutMs: 20_000 });
      await projector.waitFor('mailing-list', forgotten.position, { timeoutMs: 20_000 });
      const { data: entries } = await projector.query('customer-directory', (rm) =>
        rm.documents<{ email: string }>('customers').find(),
      );
      expect(entries.items.map((d) => d.id)).toEqual(['c-2']);
      const { data: recipient } = await projector.query('mailing-list', (rm) =>
        rm.documents<{ email: string; greeting: string }>('recipients').get('c-1'),
      );
      expect(recipient).toEqual({ email: REDACTED, greeting: `Dear ${REDACTED}` });
      await exportEvents(backend, io(), { file: exportFile });
      // Another customer's data is untouched, and the hash chains still hold.
      expect((await (await app.sagaStore()).getInstance('onboarding', 'c-2'))?.state).toEqual({
        email: OTHER_EMAIL,
        name: 'Grace Hopper',
      });
      expect((await collect(store.readStream('customer-1')))[0]?.data).toMatchObject({
        email: REDACTED,
      });
      expect((await verifyStore(undecorated(store))).ok).toBe(true);
      // A generated column is left to the database to compute.
      expect(await target.sql('SELECT email, shout FROM app_contacts')).toEqual([
        { email: OTHER_EMAIL, shout: OTHER_EMAIL.toUpperCase() },
      ]);

      await Promise.all([projector.stop(), sagas.stop(), mailer.stop()]);
      expect(findings(await target.scan(backend, [exportFile]))).toEqual([]);
      // The scan did read the export, which holds the events (ciphertext only).
      expect(readFileSync(exportFile, 'utf8')).toContain('customer.registered');
    });

    it('fences a running stream job whose state it erased, so it cannot write it back', async () => {
      cleanup.push(() => target.cleanup());
      const backend = await target.open();
      cleanup.push(() => backend.close());
      const app = await stackBackend(backend, { encryption: { masterKey: master, personal } });
      const encrypted = app.store as EncryptedEventStore;
      const checkpoints = await app.streamStateStore();
      const job = new StreamJob<RecordedEvent>({
        name: 'live-latest',
        source: storeSource(app.store, {
          pollIntervalMs: 10,
          filter: { types: ['customer.registered', 'customer.plan-changed'] },
        }),
        timestamp: 'recordedAt',
        checkpoints,
      });
      job.input
        .keyBy(() => 'all')
        .process<string[], string>((seen, e) => [...(seen ?? []), JSON.stringify(e.data)]);
      const running = job.run().then(
        () => undefined,
        (error: unknown) => error,
      );
      cleanup.push(async () => {
        await job.stop();
        await running;
      });
      await app.store.append('customer-1', [
        { type: 'customer.registered', data: { customerId: 'c-1', email: EMAIL, name: NAME } },
      ]);
      await expect
        .poll(async () => (await checkpoints.load('live-latest'))?.state ?? '', { timeout: 20_000 })
        .toContain(EMAIL);

      await encrypted.forgetSubject('c-1');
      expect((await checkpoints.load('live-latest'))?.state).not.toContain(EMAIL);
      // The job still holds the plaintext in memory: its next checkpoint is refused.
      await app.store.append('customer-1', [
        { type: 'customer.plan-changed', data: { plan: 'x' } },
      ]);
      await expect.poll(() => job.status().state, { timeout: 20_000 }).toBe('failed');
      expect(await running).toBeInstanceOf(StreamJobFencedError);
      expect((await checkpoints.load('live-latest'))?.state).not.toContain(EMAIL);
      expect(findings(await target.scan(backend, []))).toEqual([]);
    });
  });
}

describe('SQLite connections zero what they delete', () => {
  it('keeps secure_delete on for the store and its transactions, also after a scavenge', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-secure-delete-'));
    const store = SqliteEventStore.open(join(dir, 'events.db'));
    try {
      await store.append('order-1', [{ type: 'order.placed', data: { n: 1 } }]);
      await store.deleteStream('order-1', { hard: true });
      await store.scavenge();
      expect(store.database.pragma('secure_delete', { simple: true })).toBe(1);
      const inTransaction = await store.transaction((tx) =>
        Promise.resolve(tx.database.pragma('secure_delete', { simple: true })),
      );
      expect(inTransaction).toBe(1);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
