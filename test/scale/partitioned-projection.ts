// The projection of the partitioned projection kill test: totals per customer (whose events
// come from many streams), with the positions applied to each in the order applied, and one
// row per applied event (its primary key refuses a second application, which would park).
import { defineProjection, type RecordedEvent } from '@causewayjs/core';
import type { PostgresReadModel } from '@causewayjs/postgres';

export const KILL_PROJECTION = 'customer-totals';
export const KILL_PARTITIONS = 6;

/** The customer key of an event. */
export const customerKey = (event: RecordedEvent) =>
  `customer-${(event.data as { customer: number }).customer}`;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The projection, as applied by `member`; `onApplied` after each event's rows, then a pause. */
export function customerTotals(member: string, onApplied: () => void, delayMs: number) {
  return defineProjection<PostgresReadModel>({
    name: KILL_PROJECTION,
    version: 1,
    handles: ['money.moved'],
    setup: async (rm) => {
      await rm.client.query(`CREATE TABLE ${rm.table()} (
        key text PRIMARY KEY, total bigint NOT NULL, positions bigint[] NOT NULL)`);
      await rm.client.query(`CREATE TABLE ${rm.table('applied')} (
        position bigint PRIMARY KEY, member text NOT NULL)`);
    },
    apply: async (event, rm) => {
      await rm.client.query(
        `INSERT INTO ${rm.table()} (key, total, positions) VALUES ($1, $2, ARRAY[$3::bigint])
           ON CONFLICT (key) DO UPDATE SET total = ${rm.table()}.total + excluded.total,
             positions = ${rm.table()}.positions || excluded.positions`,
        [customerKey(event), (event.data as { amount: number }).amount, event.position],
      );
      await rm.client.query(
        `INSERT INTO ${rm.table('applied')} (position, member) VALUES ($1, $2)`,
        [event.position, member],
      );
      onApplied();
      if (delayMs > 0) await pause(delayMs);
    },
  });
}
