// The consumer group process test's backend, the same on SQLite and PostgreSQL: a store, a
// consumer group on it, and a read table `handled` with one row per event handled (its
// unique position makes a second application fail), numbered in the order the rows were
// written, so that per-stream order can be checked afterwards.
import { escapeIdentifier } from 'pg';
import {
  PostgresEventStore,
  postgresGroupMembership,
  postgresSubscriptionStorage,
} from '@causewayjs/postgres';
import {
  SqliteEventStore,
  sqliteGroupMembership,
  sqliteSubscriptionStorage,
} from '@causewayjs/sqlite';
import {
  type EventStore,
  type RecordedEvent,
  ConsumerGroup,
  type ParkedEventStore,
} from '@causewayjs/core';
import { pgUrl } from '../support/postgres.js';

/** The group every process of the test joins. */
export const GROUP = 'handlers';

/** One row of the read table. */
export interface HandledRow {
  seq: number;
  position: number;
  stream: string;
  revision: number;
  member: string;
}

/** How a process's member runs. */
export interface MemberSettings {
  memberId: string;
  partitions: number;
  leaseTtlMs: number;
  heartbeatIntervalMs: number;
  /** A pause in every handler call, in ms, so that a kill lands mid-batch. */
  delayMs: number;
  /** Called once the handler has written an event's row (not yet committed). */
  onWritten?: (event: RecordedEvent) => void;
}

/** The part of a consumer group the test drives. */
export type RunningGroup = Pick<
  ConsumerGroup,
  'start' | 'stop' | 'status' | 'onStatus' | 'parkedCount' | 'owner'
>;

/** One process's view of a backend. */
export interface GroupBackend {
  store: EventStore;
  /** Creates the read table (idempotent). */
  setup(): Promise<void>;
  /** This process's member of the group. */
  join(settings: MemberSettings): Promise<RunningGroup>;
  /** The read table, in write order. */
  rows(): Promise<HandledRow[]>;
  /** How many rows the read table has. */
  count(): Promise<number>;
  /** How many events the group's partitions have parked. */
  parkedCount(partitions: number): Promise<number>;
  close(): Promise<void>;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Parked events over every partition of the group. */
async function countParked(
  parked: Pick<ParkedEventStore, 'count'>,
  partitions: number,
): Promise<number> {
  let total = 0;
  for (let p = 0; p < partitions; p++) total += await parked.count(`${GROUP}#${p}`);
  return total;
}

/** Opens `location`: a SQLite file, or a PostgreSQL schema on the test server. */
export function openGroupBackend(
  kind: 'sqlite' | 'postgres',
  location: string,
): Promise<GroupBackend> {
  return kind === 'sqlite' ? openSqlite(location) : openPostgres(location);
}

function openSqlite(file: string): Promise<GroupBackend> {
  const store = SqliteEventStore.open(file, { synchronous: 'NORMAL', pollIntervalMs: 20 });
  return Promise.resolve({
    store,
    setup: () =>
      store.transaction((tx) => {
        tx.database.exec(`CREATE TABLE IF NOT EXISTS handled (
          seq INTEGER PRIMARY KEY, position INTEGER NOT NULL UNIQUE, stream TEXT NOT NULL,
          revision INTEGER NOT NULL, member TEXT NOT NULL)`);
        return Promise.resolve();
      }),
    join: async ({ delayMs, onWritten, ...settings }) =>
      new ConsumerGroup({
        ...settings,
        name: GROUP,
        // Short transactions: on SQLite, taking over a lease waits for the file's write lock.
        batchSize: 20,
        storage: await sqliteSubscriptionStorage(store),
        membership: await sqliteGroupMembership(store),
        handler: async (event, { tx }) => {
          tx.database
            .prepare('INSERT INTO handled (position, stream, revision, member) VALUES (?, ?, ?, ?)')
            .run(event.position, event.stream, event.revision, settings.memberId);
          onWritten?.(event);
          if (delayMs > 0) await pause(delayMs);
        },
      }),
    rows: () =>
      Promise.resolve(
        store.database
          .prepare<[], HandledRow>(
            'SELECT seq, position, stream, revision, member FROM handled ORDER BY seq',
          )
          .all(),
      ),
    count: () =>
      Promise.resolve(
        store.database.prepare<[], { n: number }>('SELECT count(*) AS n FROM handled').get()?.n ??
          0,
      ),
    parkedCount: async (partitions) =>
      countParked((await sqliteSubscriptionStorage(store)).parked, partitions),
    close: () => store.close(),
  });
}

async function openPostgres(schema: string): Promise<GroupBackend> {
  const store = await PostgresEventStore.open(pgUrl, {
    schema,
    maxConnections: 6,
    listen: { pollIntervalMs: 50, reconnectDelayMs: 50 },
  });
  const table = `${escapeIdentifier(schema)}.handled`;
  return {
    store,
    setup: async () => {
      await store.pool.query(`CREATE TABLE IF NOT EXISTS ${table} (
        seq bigserial PRIMARY KEY, position bigint NOT NULL UNIQUE, stream text NOT NULL,
        revision bigint NOT NULL, member text NOT NULL)`);
    },
    join: async ({ delayMs, onWritten, ...settings }) =>
      new ConsumerGroup({
        ...settings,
        name: GROUP,
        // Short transactions: on SQLite, taking over a lease waits for the file's write lock.
        batchSize: 20,
        storage: await postgresSubscriptionStorage(store),
        membership: await postgresGroupMembership(store),
        handler: async (event, { tx }) => {
          await tx.client.query(
            `INSERT INTO ${table} (position, stream, revision, member) VALUES ($1, $2, $3, $4)`,
            [event.position, event.stream, event.revision, settings.memberId],
          );
          onWritten?.(event);
          if (delayMs > 0) await pause(delayMs);
        },
      }),
    rows: async () => {
      const { rows } = await store.pool.query<Record<keyof HandledRow, string>>(
        `SELECT seq, position, stream, revision, member FROM ${table} ORDER BY seq`,
      );
      return rows.map((r) => ({
        seq: Number(r.seq),
        position: Number(r.position),
        stream: r.stream,
        revision: Number(r.revision),
        member: r.member,
      }));
    },
    count: async () => {
      const { rows } = await store.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table}`,
      );
      return rows[0]?.n ?? 0;
    },
    parkedCount: async (partitions) =>
      countParked((await postgresSubscriptionStorage(store)).parked, partitions),
    close: () => store.close(),
  };
}
