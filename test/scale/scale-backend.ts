// The scale tests' backend on PostgreSQL: a store, a consumer group on it whose handler keeps
// a read model (`balances`, one row per key with a count, a total and a digest chained over
// the key's events in the order they were applied) and an effects log (`effects`, one row
// per event, its unique position refusing a second application, with the member and the
// lease epoch that applied it).
import { escapeIdentifier } from 'pg';
import {
  PostgresEventStore,
  type PostgresTransaction,
  postgresGroupMembership,
  postgresSubscriptionStorage,
} from '@causewayjs/postgres';
import { ConsumerGroup, type RecordedEvent } from '@causewayjs/core';
import { pgUrl } from '../support/postgres.js';

/** The group every process of a test joins. */
export const GROUP = 'balances';

/** How a member partitions: by stream (pushed into the read) or by the customer in the data. */
export type KeyMode = 'stream' | 'customer';

/** The read model's key of an event. */
export function keyOf(event: RecordedEvent, mode: KeyMode): string {
  if (mode === 'stream') return event.stream;
  const data = event.data as { customer?: number };
  return `customer-${data.customer ?? 0}`;
}

/** How one process's member runs. */
export interface MemberSettings {
  memberId: string;
  partitions: number;
  leaseTtlMs: number;
  heartbeatIntervalMs: number;
  /** A pause in every handler call, in ms, so that a signal lands mid-transaction. */
  delayMs: number;
  keyMode: KeyMode;
  /** Called once the handler has written an event's rows (not yet committed). */
  onWritten?: () => void;
}

/** One row of the effects log. */
export interface EffectRow {
  position: number;
  stream: string;
  revision: number;
  member: string;
  epoch: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One process's view of a schema. */
export async function openScaleBackend(schema: string) {
  const store = await PostgresEventStore.open(pgUrl, {
    schema,
    maxConnections: 6,
    listen: { pollIntervalMs: 50, reconnectDelayMs: 50 },
  });
  const s = escapeIdentifier(schema);
  return {
    store,
    /** Creates the read model and the effects log (idempotent). */
    async setup(): Promise<void> {
      await store.pool.query(`CREATE TABLE IF NOT EXISTS ${s}.effects (
        seq bigserial PRIMARY KEY, position bigint NOT NULL UNIQUE, stream text NOT NULL,
        revision bigint NOT NULL, member text NOT NULL, epoch bigint NOT NULL)`);
      await store.pool.query(`CREATE TABLE IF NOT EXISTS ${s}.balances (
        key text PRIMARY KEY, count bigint NOT NULL, total bigint NOT NULL, digest text NOT NULL)`);
    },
    /** This process's member of the group. */
    async join(settings: MemberSettings): Promise<ConsumerGroup<PostgresTransaction>> {
      const { delayMs, onWritten, keyMode, ...group } = settings;
      return new ConsumerGroup<PostgresTransaction>({
        ...group,
        name: GROUP,
        batchSize: 10,
        storage: await postgresSubscriptionStorage(store),
        membership: await postgresGroupMembership(store),
        ...(keyMode === 'stream' ? {} : { partitionKey: (e) => keyOf(e, keyMode) }),
        handler: async (event, { tx, lease }) => {
          const amount = (event.data as { amount: number }).amount;
          await tx.client.query(
            `INSERT INTO ${s}.effects (position, stream, revision, member, epoch) VALUES ($1, $2, $3, $4, $5)`,
            [event.position, event.stream, event.revision, settings.memberId, lease?.epoch ?? 0],
          );
          await tx.client.query(
            `INSERT INTO ${s}.balances AS b (key, count, total, digest) VALUES ($1, 1, $2, md5($3))
             ON CONFLICT (key) DO UPDATE SET count = b.count + 1, total = b.total + $2,
               digest = md5(b.digest || $3)`,
            [keyOf(event, keyMode), amount, `${event.position}:${amount}`],
          );
          onWritten?.();
          if (delayMs > 0) await pause(delayMs);
        },
      });
    },
    /** The effects log in write order. */
    async effects(): Promise<EffectRow[]> {
      const { rows } = await store.pool.query<Record<keyof EffectRow, string>>(
        `SELECT position, stream, revision, member, epoch FROM ${s}.effects ORDER BY seq`,
      );
      return rows.map((r) => ({
        position: Number(r.position),
        stream: r.stream,
        revision: Number(r.revision),
        member: r.member,
        epoch: Number(r.epoch),
      }));
    },
    /** How many events have their effect committed. */
    async count(): Promise<number> {
      const { rows } = await store.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${s}.effects`,
      );
      return rows[0]?.n ?? 0;
    },
    /** The read model, every row in key order, as text. */
    async readModel(): Promise<string> {
      const { rows } = await store.pool.query(
        `SELECT key, count, total, digest FROM ${s}.balances ORDER BY key COLLATE "C"`,
      );
      return JSON.stringify(rows);
    },
    /** Parked events over every partition of the group. */
    async parkedCount(partitions: number): Promise<number> {
      const { parked } = await postgresSubscriptionStorage(store);
      let total = 0;
      for (let p = 0; p < partitions; p++) total += await parked.count(`${GROUP}#${p}`);
      return total;
    },
    close: () => store.close(),
  };
}

/** What {@link openScaleBackend} resolves to. */
export type ScaleBackend = Awaited<ReturnType<typeof openScaleBackend>>;
