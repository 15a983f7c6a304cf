import { escapeIdentifier } from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  StoreUnavailableError,
  WrongExpectedRevisionError,
  collect,
  type EventInput,
  Subscription,
} from '@causewayjs/core';
import {
  dropSchema,
  pgAvailable,
  pgExec,
  pgUrl,
  randomSchemaName,
} from '../../../test/support/postgres.js';
import { PostgresEventStore, type PostgresEventStoreOptions } from './postgres-event-store.js';
import { migrateStoreComponent } from './postgres-migrations.js';
import {
  POSTGRES_SUBSCRIPTIONS_COMPONENT,
  postgresSubscriptionMigrations,
  postgresSubscriptionStorage,
} from './postgres-subscription-storage.js';

const available = await pgAvailable();
const ev = (type: string): EventInput => ({ type, data: {} });

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe.skipIf(!available)('PostgreSQL seams and subscription storage', () => {
  let schema: string;
  const stores: PostgresEventStore[] = [];
  const subscriptions: Subscription[] = [];
  const open = async (options: PostgresEventStoreOptions = {}) => {
    const store = await PostgresEventStore.open(pgUrl, {
      schema,
      maxConnections: 4,
      listen: { pollIntervalMs: 20, reconnectDelayMs: 20 },
      ...options,
    });
    stores.push(store);
    return store;
  };

  beforeEach(() => {
    schema = randomSchemaName();
  });

  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((s) => s.stop()));
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await dropSchema(schema);
  });

  it('listens lazily, polls while the listening connection is down, and listens again', async () => {
    const store = await open();
    const writer = await open();
    expect(store.watchState).toBe('idle');
    let highest = 0;
    const stop = store.watch((p) => (highest = Math.max(highest, p)));
    await until(() => store.watchState === 'listening', 'LISTEN');
    await writer.append('remote', [ev('x.one')]);
    await until(() => highest >= 1, 'the NOTIFY');

    // Cut the listening connection from the server side.
    await pgExec(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE query LIKE 'LISTEN%' AND strpos(query, $1) > 0`,
      [schema],
    );
    await until(() => store.watchState !== 'listening', 'the drop to be noticed');
    await writer.append('remote', [ev('x.two')]);
    // Heard by polling or by listening again, whichever comes first; then listening again.
    await until(() => highest >= 2, 'the commit made while the connection was down');
    await until(() => store.watchState === 'listening', 'LISTEN again');
    await writer.append('remote', [ev('x.three')]);
    await until(() => highest >= 3, 'the NOTIFY after reconnecting');
    stop();
    await until(() => store.watchState === 'idle', 'the listener to close');
  });

  it('reports the head read on listening again, so a commit made between the last poll and LISTEN is heard with its position', async () => {
    // Polling only once (on the drop) and reconnecting late: the commit below is made after
    // that poll and before LISTEN, so only the read made on listening again can report it.
    const store = await open({ listen: { pollIntervalMs: 600_000, reconnectDelayMs: 300 } });
    const writer = await open();
    const heard: number[] = [];
    const stop = store.watch((p) => heard.push(p));
    await until(() => store.watchState === 'listening', 'LISTEN');
    await writer.append('remote', [ev('x.one')]);
    await until(() => heard.includes(1), 'the NOTIFY');
    const before = heard.length;
    await pgExec(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE query LIKE 'LISTEN%' AND strpos(query, $1) > 0`,
      [schema],
    );
    // The poll made on noticing the drop reports the head it read (1).
    await until(() => heard.slice(before).includes(1), 'the poll made on the drop');
    expect(store.watchState).toBe('polling');
    await writer.append('remote', [ev('x.two')]);
    await until(() => store.watchState === 'listening', 'LISTEN again');
    await until(() => heard.includes(2), 'the head read on listening again');
    stop();
  });

  it('polls only when NOTIFY is turned off, and still hears other processes', async () => {
    const store = await open({ notify: false });
    const writer = await open({ notify: false });
    let highest = 0;
    const stop = store.watch((p) => (highest = Math.max(highest, p)));
    expect(store.watchState).toBe('polling');
    await writer.append('remote', [ev('x.one'), ev('x.two')]);
    await until(() => highest >= 2, 'the polled head');
    stop();
  });

  it('fails a transaction whose work swallowed a statement error, committing nothing', async () => {
    const store = await open();
    const table = `${escapeIdentifier(schema)}.effects`;
    await store.pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    const error = await store
      .transaction(async (tx) => {
        await tx.client.query(`INSERT INTO ${table} VALUES (1)`);
        await tx.append('s', [ev('x.one')]);
        await tx.client.query(`INSERT INTO ${table} VALUES (1)`).catch(() => undefined);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain('rolled the transaction back');
    expect((await store.pool.query(`SELECT * FROM ${table}`)).rowCount).toBe(0);
    expect(await store.headPosition()).toBe(0);
  });

  it('re-plans an append in a transaction after losing a race, in a savepoint', async () => {
    let hold: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (hold = resolve));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const racer = await open({
      hooks: {
        beforeCommit: async () => {
          hold();
          await gate;
        },
      },
    });
    const store = await open();
    await store.append('other', [ev('x.zero')]);
    // The racer has written stream "s" at revision 0 but not committed yet.
    const racing = racer.append('s', [ev('x.racer')]);
    await held;
    const result = await store.transaction(async (tx) => {
      const attempt = tx.append('s', [ev('x.mine')], { expectedRevision: 'no_stream' });
      // Our insert waits on the racer's uncommitted row; let the racer commit.
      setImmediate(release);
      await expect(attempt).rejects.toBeInstanceOf(WrongExpectedRevisionError);
      return tx.append('s', [ev('x.mine')], { expectedRevision: 0 });
    });
    await racing;
    expect(result).toMatchObject({ stream: 's', revision: 1, position: 3 });
    expect((await collect(store.readStream('s'))).map((e) => e.type)).toEqual([
      'x.racer',
      'x.mine',
    ]);
  });

  it('keeps the subscription tables in their own versioned component', async () => {
    const store = await open();
    await postgresSubscriptionStorage(store);
    await postgresSubscriptionStorage(store); // a second open migrates nothing
    const rows = (await pgExec(
      `SELECT component, version FROM ${escapeIdentifier(schema)}.causeway_schema_version ORDER BY component`,
    )) as { component: string; version: number }[];
    expect(rows).toContainEqual({ component: POSTGRES_SUBSCRIPTIONS_COMPONENT, version: 2 });
  });

  it('migrates version 1 lease tables: held leases keep running at epoch 0, the next holder gets 1', async () => {
    const store = await open();
    await migrateStoreComponent(
      store,
      POSTGRES_SUBSCRIPTIONS_COMPONENT,
      postgresSubscriptionMigrations(schema).slice(0, 1),
      'subscription',
    );
    await pgExec(
      `INSERT INTO ${escapeIdentifier(schema)}.causeway_leases (name, owner, expires_at, acquired_at)
       VALUES ('old', 'runner', 2000, 1000)`,
    );
    const { leases } = await postgresSubscriptionStorage(store);
    expect(await leases.get('old')).toMatchObject({ owner: 'runner', epoch: 0 });
    expect(await leases.acquire('old', 'runner', 1_000, 1_500)).toEqual({
      acquired: true,
      epoch: 0,
    });
    await store.transaction((tx) => leases.assertHeld('old', { owner: 'runner', epoch: 0 }, tx));
    expect(await leases.acquire('old', 'next', 1_000, 3_000)).toEqual({
      acquired: true,
      epoch: 1,
    });
  });

  it('a subscription wakes on NOTIFY from another process without waiting for its idle poll', async () => {
    const store = await open();
    const writer = await open();
    const storage = await postgresSubscriptionStorage(store);
    const seen: number[] = [];
    const subscription = new Subscription({
      name: 'live',
      storage,
      // An idle poll far longer than the test: only the notification can wake it.
      idleCheckIntervalMs: 600_000,
      handler: (event) => void seen.push(event.position),
    });
    subscriptions.push(subscription as unknown as Subscription);
    await subscription.start();
    await until(() => store.watchState === 'listening', 'LISTEN');
    await until(() => subscription.status.state === 'live', 'live');
    await writer.append('remote', [ev('x.one')]);
    await subscription.waitForPosition(1, { timeoutMs: 10_000 });
    expect(seen).toEqual([1]);
  });
});
