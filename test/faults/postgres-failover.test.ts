// PostgreSQL going away under load: backends terminated (pg_terminate_backend) on the shared
// test server, and a full restart of a private cluster. Appends, a checkpointed subscription
// and a projection run throughout; the process must not crash (pg emits 'error' on clients),
// failed calls must fail typed, and every acknowledged append must take effect exactly once.
import { escapeIdentifier } from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  PostgresEventStore,
  type PostgresTransaction,
  postgresProjectionStore,
  type PostgresReadModel,
  postgresSubscriptionStorage,
} from '@causewayjs/postgres';
import {
  StoreUnavailableError,
  collect,
  newId,
  Projector,
  defineProjection,
  Subscription,
} from '@causewayjs/core';
import { dropSchema, pgAvailable, pgExec, pgUrl, randomSchemaName } from '../support/postgres.js';
import { PrivatePostgres, privatePostgresAvailable } from '../support/private-postgres.js';

/** Uncaught exceptions in this process while a test runs: what would have ended it. */
let uncaught: unknown[] = [];
const recordUncaught = (error: unknown) => uncaught.push(error);
beforeEach(() => {
  uncaught = [];
  process.on('uncaughtException', recordUncaught);
});
afterEach(() => {
  process.off('uncaughtException', recordUncaught);
});

const withParams = (url: string, params: Record<string, string>) =>
  `${url}${url.includes('?') ? '&' : '?'}${new URLSearchParams(params).toString()}`;

/** A workload on one store: appends, a checkpointed subscription and an async projection. */
interface Workload {
  store: PostgresEventStore;
  subscription: Subscription<PostgresTransaction>;
  projector: Projector<PostgresTransaction, PostgresReadModel>;
  /** Runs `count` appends (each retried with its own ids until acknowledged). */
  append(count: number, onAck?: (acked: number) => void): Promise<void>;
  /** Ids of every acknowledged event. */
  acked: Set<string>;
  /** Every error an append met before it was acknowledged. */
  appendErrors: unknown[];
  /** Waits for the subscription and projection to reach the head, then checks exactly-once. */
  verify(): Promise<void>;
  close(): Promise<void>;
}

const PROJECTION = 'fault-deliveries';

async function openWorkload(url: string, schema: string): Promise<Workload> {
  const store = await PostgresEventStore.open(url, {
    schema,
    maxConnections: 4,
    listen: { pollIntervalMs: 50, reconnectDelayMs: 20 },
  });
  const storage = await postgresSubscriptionStorage(store);
  const effects = `${escapeIdentifier(schema)}.fault_effects`;
  await store.pool.query(`CREATE TABLE IF NOT EXISTS ${effects} (
    event_id uuid PRIMARY KEY, position bigint NOT NULL, deliveries int NOT NULL)`);
  const retry = { attempts: 5, baseDelayMs: 5, maxDelayMs: 100 };
  const subscription = new Subscription({
    name: 'fault-effects',
    storage,
    batchSize: 20,
    retry,
    idleCheckIntervalMs: 200,
    lease: { ttlMs: 10_000 },
    handler: async (event, { tx }) => {
      // A turn of the event loop between statements: a termination can land while the
      // connection sits checked out and idle in the transaction.
      await new Promise((resolve) => setImmediate(resolve));
      await tx.client.query(
        `INSERT INTO ${effects} (event_id, position, deliveries) VALUES ($1, $2, 1)
         ON CONFLICT (event_id) DO UPDATE SET deliveries = fault_effects.deliveries + 1`,
        [event.id, event.position],
      );
    },
  });
  const projection = defineProjection<PostgresReadModel>({
    name: PROJECTION,
    version: 1,
    handles: ['fault.appended'],
    setup: async (rm) => {
      await rm.client.query(
        `CREATE TABLE ${rm.table()} (event_id uuid PRIMARY KEY, deliveries int NOT NULL)`,
      );
    },
    apply: async (event, rm) => {
      await rm.client.query(
        `INSERT INTO ${rm.table()} AS t (event_id, deliveries) VALUES ($1, 1)
         ON CONFLICT (event_id) DO UPDATE SET deliveries = t.deliveries + 1`,
        [event.id],
      );
    },
  });
  const projector = new Projector({
    store: await postgresProjectionStore(store, { storage }),
    projections: [projection],
    subscription: { retry, batchSize: 20, idleCheckIntervalMs: 200, lease: { ttlMs: 10_000 } },
  });
  await subscription.start();
  await projector.start();

  const acked = new Set<string>();
  const appendErrors: unknown[] = [];
  const revisions = new Map<string, number>();
  let appended = 0;
  const append = async (count: number, onAck?: (acked: number) => void) => {
    for (let done = 0; done < count; done++) {
      const stream = `account-${appended++ % 8}`;
      const expected = revisions.get(stream) ?? -1;
      const event = { id: newId(), type: 'fault.appended', data: { n: appended } };
      // Retried with the same id at the same revision: a retry of an append that did commit
      // (its acknowledgement lost with the connection) is an idempotent success.
      for (let attempt = 1; ; attempt++) {
        try {
          const result = await store.append(stream, [event], {
            expectedRevision: expected < 0 ? 'no_stream' : expected,
          });
          revisions.set(stream, result.revision);
          acked.add(event.id);
          break;
        } catch (error) {
          appendErrors.push(error);
          if (!(error instanceof StoreUnavailableError) || attempt >= 200) throw error;
          // Backoff of the caller's retry policy, not a wait for some event.
          await new Promise((resolve) => setTimeout(resolve, Math.min(5 * attempt, 100)));
        }
      }
      onAck?.(acked.size);
    }
  };

  const verify = async () => {
    const head = await store.headPosition();
    await subscription.waitForPosition(head, { timeoutMs: 30_000 });
    await projector.waitFor(PROJECTION, head, { timeoutMs: 30_000 });
    const stored = await collect(store.readAll());
    expect(stored.map((e) => e.position)).toEqual(stored.map((_, i) => i + 1));
    expect(new Set(stored.map((e) => e.id))).toEqual(acked);
    const { rows } = await store.pool.query<{ event_id: string; deliveries: number }>(
      `SELECT event_id, deliveries FROM ${effects} ORDER BY position`,
    );
    expect(new Set(rows.map((r) => r.event_id))).toEqual(acked);
    expect(rows.filter((r) => r.deliveries !== 1)).toEqual([]);
    const projected = await projector.query(PROJECTION, async (rm) => {
      const result = await rm.client.query<{ event_id: string; deliveries: number }>(
        `SELECT event_id, deliveries FROM ${rm.table()}`,
      );
      return result.rows;
    });
    expect(new Set(projected.data.map((r) => r.event_id))).toEqual(acked);
    expect(projected.data.filter((r) => r.deliveries !== 1)).toEqual([]);
    expect(subscription.status).toMatchObject({ state: 'live', error: undefined });
    expect(await subscription.parkedCount()).toBe(0);
    expect(await projector.status(PROJECTION)).toMatchObject({ state: 'running', parked: 0 });
    for (const error of appendErrors) {
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).cause).toBeDefined();
    }
  };

  return {
    store,
    subscription,
    projector,
    append,
    acked,
    appendErrors,
    verify,
    close: async () => {
      await projector.stop();
      await subscription.stop();
      await store.close();
    },
  };
}

const sharedAvailable = await pgAvailable();

describe.skipIf(!sharedAvailable)('PostgreSQL backends terminated under load', () => {
  const schema = randomSchemaName();
  const app = `cw_fault_${schema.slice(-12)}`;
  afterAll(() => dropSchema(schema));

  /**
   * Terminates every connection of this test's store; returns how many. The call stays in
   * the select list: in WHERE, the planner may run it before the name test, on every backend.
   */
  const terminate = async (): Promise<number> => {
    const rows = (await pgExec(
      `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
       WHERE application_name = $1 AND pid <> pg_backend_pid()`,
      [app],
    )) as { done: boolean }[];
    return rows.filter((r) => r.done).length;
  };

  it('never crashes the process; failed calls are StoreUnavailableError; effects exactly once', async () => {
    const url = withParams(pgUrl, { application_name: app });
    const work = await openWorkload(url, schema);
    try {
      // A transaction whose connection is terminated while it sits idle in the transaction:
      // the driver emits 'error' on a checked-out client, and the work's next statement fails.
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      let resume!: () => void;
      const held = new Promise<void>((resolve) => (resume = resolve));
      const pending = work.store.transaction(async (tx) => {
        const { rows } = await tx.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        entered();
        await held;
        await tx.client.query('SELECT 1');
        return rows[0]?.pid;
      });
      const outcome = pending.then(
        () => undefined,
        (error: unknown) => error,
      );
      await inside;
      expect(await terminate()).toBeGreaterThan(0);
      // Until the server has really ended those backends (the client then hears of it).
      await vi.waitFor(
        async () => {
          const [row] = (await pgExec(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE application_name = $1 AND state = 'idle in transaction'`,
            [app],
          )) as { n: number }[];
          expect(row?.n).toBe(0);
        },
        { timeout: 10_000, interval: 20 },
      );
      resume();
      const failed = await outcome;
      expect(uncaught).toEqual([]);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      expect((failed as Error).cause).toBeDefined();

      // Now a stream of appends, with every connection of the store terminated every 25
      // acknowledged appends, while the subscription and the projection keep up.
      const kills: Promise<number>[] = [];
      await work.append(300, (acked) => {
        if (acked % 25 === 0) kills.push(terminate());
      });
      const killed = await Promise.all(kills);
      expect(killed.length).toBe(12);
      expect(killed.reduce((a, b) => a + b, 0)).toBeGreaterThan(12);

      await work.verify();
      expect(work.acked.size).toBe(300);
      // The LISTEN connection came back too.
      await expect.poll(() => work.store.watchState, { timeout: 10_000 }).toBe('listening');
      expect(uncaught).toEqual([]);
    } finally {
      await work.close();
    }
  });
});

const privateAvailable = privatePostgresAvailable();

describe.skipIf(!privateAvailable)('a private PostgreSQL cluster restarted under load', () => {
  let cluster: PrivatePostgres | undefined;
  afterAll(async () => {
    await cluster?.cleanup();
  });

  it('appends, the subscription, the projection and LISTEN resume; nothing lost or doubled', async () => {
    cluster = await PrivatePostgres.start();
    const work = await openWorkload(cluster.url, 'fault_restart');
    try {
      await work.append(100);
      // Restarted (fast: every backend terminated) while appends and handlers run: the
      // writer keeps appending for as long as the restart takes, then some more.
      let restarting = true;
      const restarted = cluster.restart('fast').finally(() => (restarting = false));
      while (restarting) await work.append(1);
      await restarted;
      await work.append(100);
      await work.verify();
      expect(work.appendErrors.length).toBeGreaterThan(0);
      await expect.poll(() => work.store.watchState, { timeout: 10_000 }).toBe('listening');
      expect(uncaught).toEqual([]);
    } finally {
      await work.close();
    }
  });
});
