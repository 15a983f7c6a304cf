// Crypto-shredding reaches snapshots: a snapshot folded from a subject's decrypted personal
// fields is dropped when the subject is forgotten, is never served afterwards (even when
// another process did the forgetting), and leaves no plaintext in the snapshot table.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeIdentifier } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresEventStore, PostgresKeyStore, PostgresSnapshotStore } from '@causewayjs/postgres';
import { SqliteEventStore, SqliteKeyStore, SqliteSnapshotStore } from '@causewayjs/sqlite';
import {
  CommandHandler,
  deciderCommandHandler,
  encryptedEventStore,
  everyNEvents,
  generateMasterKey,
  MemoryDataKeyStore,
  MemoryEventStore,
  MemorySnapshotStore,
  newId,
  ManualClock,
  REDACTED,
  SecurityConfigError,
  collect,
  storeStack,
  type CommandEnvelope,
  type DataKeyStore,
  type Decider,
  type DomainEvent,
  type EncryptedEventStore,
  type SnapshotStore,
  type TransactionalEventStore,
} from '@causewayjs/core';
import { dropSchema, pgAvailable, pgExec, pgUrl, randomSchemaName } from '../support/postgres.js';

const master = generateMasterKey('prod-1');
const personal = {
  'customer.registered': { subject: '$.customerId', fields: ['$.email', '$.name'] },
};
const EMAIL = 'ada@example.com';
const NAME = 'Ada Lovelace';

type CustomerCommand =
  | { type: 'customer.register'; data: { customerId: string; email: string; name: string } }
  | { type: 'customer.change-plan'; data: { plan: string } };
type CustomerEvent =
  | DomainEvent<'customer.registered', { customerId: string; email: string; name: string }>
  | DomainEvent<'customer.plan-changed', { plan: string }>;
interface CustomerState {
  customerId: string | null;
  email: string | null;
  name: string | null;
  plan: string;
}

const customerDecider: Decider<CustomerCommand, CustomerEvent, CustomerState> = {
  initialState: () => ({ customerId: null, email: null, name: null, plan: 'free' }),
  decide: (command) =>
    command.type === 'customer.register'
      ? [{ type: 'customer.registered', data: command.data }]
      : [{ type: 'customer.plan-changed', data: command.data }],
  evolve: (state, event) =>
    event.type === 'customer.registered'
      ? { ...state, ...event.data }
      : { ...state, plan: event.data.plan },
};

const register = (customerId: string, email: string, name: string): CustomerCommand => ({
  type: 'customer.register',
  data: { customerId, email, name },
});
const changePlan = (plan: string): CustomerCommand => ({
  type: 'customer.change-plan',
  data: { plan },
});

interface Process {
  raw: TransactionalEventStore;
  keys: DataKeyStore;
  snapshots: SnapshotStore;
}

interface Durable {
  /** A new process on the same database: its own connection(s) and stores. */
  open(): Promise<Process>;
  /** Every row of the snapshot tables, as text, read straight from the database. */
  snapshotRows(): Promise<string>;
  cleanup(): Promise<void>;
}

function sqlite(): Durable {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-snapshot-forget-'));
  const file = join(dir, 'events.db');
  const opened: SqliteEventStore[] = [];
  return {
    open: () => {
      const raw = SqliteEventStore.open(file);
      opened.push(raw);
      return Promise.resolve({
        raw,
        keys: SqliteKeyStore.open(raw),
        snapshots: SqliteSnapshotStore.open(raw),
      });
    },
    snapshotRows: async () => {
      const raw = SqliteEventStore.open(file);
      try {
        const tables = raw.database
          .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ?")
          .all('causeway_snapshot%') as { name: string }[];
        return JSON.stringify(
          tables.map(({ name }) => raw.database.prepare(`SELECT * FROM "${name}"`).all()),
        );
      } finally {
        await raw.close();
      }
    },
    cleanup: async () => {
      for (const s of opened) if (!s.isClosed) await s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgres(): Durable {
  const schema = randomSchemaName();
  const opened: { raw: PostgresEventStore; keys: PostgresKeyStore }[] = [];
  return {
    open: async () => {
      const raw = await PostgresEventStore.open(pgUrl, { schema });
      const keys = await PostgresKeyStore.open(raw);
      opened.push({ raw, keys });
      return { raw, keys, snapshots: await PostgresSnapshotStore.open(raw) };
    },
    snapshotRows: async () => {
      const tables = (await pgExec(
        `SELECT table_name AS name FROM information_schema.tables
         WHERE table_schema = $1 AND table_name LIKE 'causeway_snapshot%'`,
        [schema],
      )) as { name: string }[];
      const rows = [];
      for (const { name } of tables)
        rows.push(
          await pgExec(`SELECT * FROM ${escapeIdentifier(schema)}.${escapeIdentifier(name)}`),
        );
      return JSON.stringify(rows);
    },
    cleanup: async () => {
      for (const { raw, keys } of opened) {
        await keys.close();
        if (!raw.isClosed) await raw.close();
      }
      await dropSchema(schema);
    },
  };
}

const pg = await pgAvailable();

for (const [name, available, make] of [
  ['sqlite', true, sqlite],
  ['postgres', pg, postgres],
] as const) {
  describe.skipIf(!available)(`forgetting a subject drops its snapshots on ${name}`, () => {
    let durable: Durable | undefined;
    afterEach(async () => {
      await durable?.cleanup();
      durable = undefined;
    });

    const encrypted = (process: Process, withSnapshots: boolean) =>
      encryptedEventStore(process.raw, {
        keyStore: process.keys,
        masterKey: master,
        personal,
        ...(withSnapshots ? { snapshots: process.snapshots } : {}),
      });
    const handlerOn = (store: EncryptedEventStore, snapshots: SnapshotStore) =>
      new CommandHandler({
        store,
        decider: customerDecider,
        snapshots: { store: snapshots, stateVersion: 'customer@1', policy: everyNEvents(2) },
      });

    it('forgetSubject removes the plaintext from the snapshot table, and loads show it redacted', async () => {
      durable = make();
      const one = await durable.open();
      const store = await encrypted(one, true);
      const customers = handlerOn(store, one.snapshots);
      await customers.handle('customer-1', register('c-1', EMAIL, NAME));
      await customers.handle('customer-1', changePlan('gold'));
      await customers.handle('customer-2', register('c-2', 'grace@example.com', 'Grace Hopper'));
      await customers.handle('customer-2', changePlan('gold'));
      // The snapshots were taken, from decrypted events: the plaintext is in the table.
      expect(await customers.load('customer-1')).toMatchObject({
        snapshotRevision: 1,
        state: { email: EMAIL, plan: 'gold' },
      });
      expect(await durable.snapshotRows()).toContain(EMAIL);

      const forgotten = await store.forgetSubject('c-1', { actor: 'dpo' });

      // (a) loads show the redacted values, rebuilt from the events.
      expect(await customers.load('customer-1')).toMatchObject({
        snapshotRevision: -1,
        state: { customerId: 'c-1', email: REDACTED, name: REDACTED, plan: 'gold' },
      });
      // (b) nothing of it is left in the snapshot tables; the other subject's snapshot stays.
      const rows = await durable.snapshotRows();
      expect(rows).not.toContain(EMAIL);
      expect(rows).not.toContain(NAME);
      expect(rows).toContain('grace@example.com');
      expect(forgotten).toMatchObject({ keyDestroyed: true, snapshotsDeleted: 1 });
      expect(await customers.load('customer-2')).toMatchObject({
        snapshotRevision: 1,
        state: { email: 'grace@example.com' },
      });

      // Another process sees the same, and new snapshots of the stream hold only redactions.
      await one.raw.close();
      const two = await durable.open();
      const again = handlerOn(await encrypted(two, true), two.snapshots);
      expect((await again.load('customer-1')).state.email).toBe(REDACTED);
      await again.handle('customer-1', changePlan('silver'));
      await again.handle('customer-1', changePlan('bronze'));
      // The first command after forgetting folded the stream whole, so it took a snapshot.
      expect(await again.load('customer-1')).toMatchObject({
        snapshotRevision: 2,
        eventsRead: 1,
        state: { email: REDACTED, name: REDACTED, plan: 'bronze' },
      });
      expect(await durable.snapshotRows()).not.toContain(EMAIL);
      // Forgetting again is harmless.
      expect(await (await encrypted(two, true)).forgetSubject('c-1')).toMatchObject({
        keyDestroyed: false,
      });
    });

    it('a snapshot of a subject another process forgot is never served, and its load removes it', async () => {
      durable = make();
      const one = await durable.open();
      const customers = handlerOn(await encrypted(one, true), one.snapshots);
      await customers.handle('customer-1', register('c-1', EMAIL, NAME));
      await customers.handle('customer-1', changePlan('gold'));
      await one.raw.close();

      // Another process forgets without being told where the snapshots are.
      const two = await durable.open();
      await (await encrypted(two, false)).forgetSubject('c-1');
      await two.raw.close();
      expect(await durable.snapshotRows()).toContain(EMAIL);

      const three = await durable.open();
      const loaded = await handlerOn(await encrypted(three, false), three.snapshots).load(
        'customer-1',
      );
      expect(loaded).toMatchObject({
        snapshotRevision: -1,
        state: { email: REDACTED, name: REDACTED, plan: 'gold' },
      });
      expect(await durable.snapshotRows()).not.toContain(EMAIL);
    });
  });
}

describe('forgetting a subject reaches snapshots in memory too', () => {
  it('a command handler finds the encrypting layer under other decorators by itself', async () => {
    const raw = new MemoryEventStore();
    const keyStore = new MemoryDataKeyStore();
    const snapshots = new MemorySnapshotStore();
    const stack = await storeStack(raw, {
      encryption: { keyStore, masterKey: master, personal, keyCacheMs: 0 },
      tracing: true,
    });
    const customers = new CommandHandler({
      store: stack,
      decider: customerDecider,
      snapshots: { store: snapshots, stateVersion: 'customer@1', policy: everyNEvents(2) },
    });
    await customers.handle('customer-1', register('c-1', EMAIL, NAME));
    await customers.handle('customer-1', changePlan('gold'));
    expect(await snapshots.load('customer-1', 'customer@1')).toMatchObject({
      subjects: ['c-1'],
      state: { email: EMAIL },
    });
    // Forgotten elsewhere, by a store that was not told about the snapshots.
    await (
      await encryptedEventStore(raw, { keyStore, masterKey: master, personal })
    ).forgetSubject('c-1');
    expect(await customers.load('customer-1')).toMatchObject({
      snapshotRevision: -1,
      state: { email: REDACTED, name: REDACTED, plan: 'gold' },
    });
    expect(await snapshots.load('customer-1', 'customer@1')).toBeUndefined();
    await raw.close();
  });

  it("a dispatcher's decider handler stops deciding from the state it kept of a forgotten subject", async () => {
    const raw = new MemoryEventStore();
    const store = await encryptedEventStore(raw, {
      keyStore: new MemoryDataKeyStore(),
      masterKey: master,
      personal,
    });
    const seen: (string | null)[] = [];
    const watching: Decider<CustomerCommand, CustomerEvent, CustomerState> = {
      ...customerDecider,
      decide: (command, state) => {
        seen.push(state.email);
        return customerDecider.decide(command, state);
      },
    };
    const handle = deciderCommandHandler({ store, decider: watching, stream: () => 'customer-1' });
    const envelope = (command: CustomerCommand): CommandEnvelope => ({
      id: newId(),
      type: command.type,
      data: command.data,
      metadata: {},
    });
    await handle(envelope(register('c-1', EMAIL, NAME)));
    await handle(envelope(changePlan('gold')));
    await store.forgetSubject('c-1');
    expect(await handle(envelope(changePlan('silver')))).toMatchObject({ status: 'accepted' });
    expect(seen).toEqual([null, EMAIL, REDACTED]);
    await raw.close();
  });

  it('forgetSubject deletes from each snapshot store given, audits how many, and can run again', async () => {
    const raw = new MemoryEventStore();
    const [first, second] = [new MemorySnapshotStore(), new MemorySnapshotStore()];
    const store = await encryptedEventStore(raw, {
      keyStore: new MemoryDataKeyStore(),
      masterKey: master,
      personal,
      snapshots: [first, second],
    });
    const snap = (subjects: string[]) => ({
      revision: 0,
      stateVersion: 'customer@1',
      state: {},
      takenAt: new Date(0),
      subjects,
    });
    await first.save('customer-1', snap(['c-1']));
    await first.save('customer-2', snap(['c-2']));
    await second.save('customer-1', snap(['c-1']));
    expect(await store.forgetSubject('c-1')).toMatchObject({
      keyDestroyed: false, // c-1 never had a key
      snapshotsDeleted: 2,
    });
    expect(await store.forgetSubject('c-1')).toMatchObject({ snapshotsDeleted: 0 });
    expect(await first.load('customer-2', 'customer@1')).toBeDefined();
    const audit = await collect(raw.readStream('security-audit'));
    expect(audit.map((e) => (e.data as { snapshotsDeleted?: number }).snapshotsDeleted)).toEqual([
      2, 0,
    ]);
    await raw.close();
  });

  it('refuses a snapshots option that is not a snapshot store', async () => {
    const raw = new MemoryEventStore();
    await expect(
      encryptedEventStore(raw, {
        keyStore: new MemoryDataKeyStore(),
        masterKey: master,
        personal,
        snapshots: [{}] as unknown as SnapshotStore[],
      }),
    ).rejects.toBeInstanceOf(SecurityConfigError);
    await raw.close();
  });

  it('subjectForgotten: false while a key lives or none exists, true once forgotten anywhere', async () => {
    const raw = new MemoryEventStore();
    const keyStore = new MemoryDataKeyStore();
    const clock = new ManualClock(0);
    const options = { keyStore, masterKey: master, personal, clock, keyCacheMs: 1000 };
    const store = await encryptedEventStore(raw, options);
    const other = await encryptedEventStore(raw, options);
    await store.append('customer-1', [
      { type: 'customer.registered', data: { customerId: 'c-1', email: EMAIL, name: NAME } },
    ]);
    expect(await store.subjectForgotten('c-1')).toBe(false);
    expect(await store.subjectForgotten('nobody')).toBe(false);
    expect(await other.subjectForgotten('c-1')).toBe(false);
    await store.forgetSubject('c-1');
    expect(await store.subjectForgotten('c-1')).toBe(true);
    // Another process notices within keyCacheMs, as its reads do.
    expect(await other.subjectForgotten('c-1')).toBe(false);
    clock.advance(1000);
    expect(await other.subjectForgotten('c-1')).toBe(true);
    await raw.close();
  });
});
