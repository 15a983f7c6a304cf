// A SQL read model for the subscription crash tests: running balances per account, and one
// row per applied event (its primary key makes a second application of an event fail).
// The same projection runs on SQLite and PostgreSQL, in the handler's transaction.
import { escapeIdentifier } from 'pg';
import { PostgresEventStore, postgresSubscriptionStorage } from '@causewayjs/postgres';
import { SqliteEventStore, sqliteSubscriptionStorage } from '@causewayjs/sqlite';
import {
  type EventStore,
  type RecordedEvent,
  Subscription,
  type SubscriptionLeaseOptions,
} from '@causewayjs/core';
import { pgUrl } from './postgres.js';

/** What the read model holds, in a comparable order. */
export interface BalanceModel {
  balances: [account: string, total: number, events: number][];
  applied: number[];
}

/** One process's view of a backend: its store, and the projection on it. */
export interface BalanceBackend {
  store: EventStore;
  /** Creates the read model's tables under `prefix` (idempotent). */
  setup(prefix: string): Promise<void>;
  /** A subscription projecting into the tables under `prefix`. */
  subscribe(name: string, prefix: string, options: ProjectionOptions): RunningProjection;
  /** The read model under `prefix`. */
  read(prefix: string): Promise<BalanceModel>;
  close(): Promise<void>;
}

/** How the projection's subscription runs. */
export interface ProjectionOptions {
  /** A pause in every handler call, in ms, so that a kill lands mid-way. */
  delayMs?: number;
  /** Called by the handler once it has written an event's effects (not yet committed). */
  onHandled?: (position: number) => void;
  batchSize?: number;
  lease?: SubscriptionLeaseOptions;
}

/** The part of a subscription the crash tests drive. */
export type RunningProjection = Pick<
  Subscription,
  'start' | 'stop' | 'onStatus' | 'waitForPosition' | 'status'
>;

interface Deposit {
  amount: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens `location` (a SQLite file, or a PostgreSQL schema on the test server). */
export async function openBalanceBackend(
  kind: 'sqlite' | 'postgres',
  location: string,
): Promise<BalanceBackend> {
  return kind === 'sqlite' ? openSqlite(location) : openPostgres(location);
}

async function openSqlite(file: string): Promise<BalanceBackend> {
  const store = SqliteEventStore.open(file);
  const storage = await sqliteSubscriptionStorage(store);
  return {
    store,
    setup: (prefix) =>
      store.transaction((tx) => {
        tx.database.exec(`CREATE TABLE IF NOT EXISTS ${prefix}balances (
          account TEXT PRIMARY KEY, total INTEGER NOT NULL, events INTEGER NOT NULL)`);
        tx.database.exec(`CREATE TABLE IF NOT EXISTS ${prefix}applied (
          position INTEGER PRIMARY KEY, event_id TEXT NOT NULL)`);
        return Promise.resolve();
      }),
    subscribe: (name, prefix, { delayMs = 0, onHandled, ...options }) =>
      new Subscription({
        ...options,
        name,
        storage,
        handler: async (event: RecordedEvent, { tx }) => {
          tx.database
            .prepare(
              `INSERT INTO ${prefix}balances (account, total, events) VALUES (?, ?, 1)
               ON CONFLICT (account) DO UPDATE SET total = total + excluded.total, events = events + 1`,
            )
            .run(event.stream, (event.data as Deposit).amount);
          tx.database
            .prepare(`INSERT INTO ${prefix}applied (position, event_id) VALUES (?, ?)`)
            .run(event.position, event.id);
          // After writing, so that a kill lands with the transaction's writes made.
          onHandled?.(event.position);
          if (delayMs > 0) await pause(delayMs);
        },
      }),
    read: (prefix) =>
      Promise.resolve({
        balances: store.database
          .prepare<[], [string, number, number]>(
            `SELECT account, total, events FROM ${prefix}balances ORDER BY account`,
          )
          .raw(true)
          .all(),
        applied: store.database
          .prepare<[], { position: number }>(
            `SELECT position FROM ${prefix}applied ORDER BY position`,
          )
          .all()
          .map((r) => r.position),
      }),
    close: () => store.close(),
  };
}

async function openPostgres(schema: string): Promise<BalanceBackend> {
  const store = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 4 });
  const storage = await postgresSubscriptionStorage(store);
  const s = escapeIdentifier(schema);
  return {
    store,
    setup: async (prefix) => {
      await store.pool.query(`CREATE TABLE IF NOT EXISTS ${s}.${prefix}balances (
        account text PRIMARY KEY, total bigint NOT NULL, events bigint NOT NULL)`);
      await store.pool.query(`CREATE TABLE IF NOT EXISTS ${s}.${prefix}applied (
        position bigint PRIMARY KEY, event_id text NOT NULL)`);
    },
    subscribe: (name, prefix, { delayMs = 0, onHandled, ...options }) =>
      new Subscription({
        ...options,
        name,
        storage,
        handler: async (event: RecordedEvent, { tx }) => {
          await tx.client.query(
            `INSERT INTO ${s}.${prefix}balances AS b (account, total, events) VALUES ($1, $2, 1)
             ON CONFLICT (account) DO UPDATE SET total = b.total + EXCLUDED.total, events = b.events + 1`,
            [event.stream, (event.data as Deposit).amount],
          );
          await tx.client.query(
            `INSERT INTO ${s}.${prefix}applied (position, event_id) VALUES ($1, $2)`,
            [event.position, event.id],
          );
          onHandled?.(event.position);
          if (delayMs > 0) await pause(delayMs);
        },
      }),
    read: async (prefix) => {
      const balances = await store.pool.query<[string, string, string]>({
        text: `SELECT account, total, events FROM ${s}.${prefix}balances ORDER BY account`,
        rowMode: 'array',
      });
      const applied = await store.pool.query<{ position: string }>(
        `SELECT position FROM ${s}.${prefix}applied ORDER BY position`,
      );
      return {
        balances: balances.rows.map(([a, t, n]) => [a, Number(t), Number(n)]),
        applied: applied.rows.map((r) => Number(r.position)),
      };
    },
    close: () => store.close(),
  };
}
