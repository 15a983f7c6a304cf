import {
  prepareParkEntry,
  resolveListOptions,
  type ListParkedOptions,
  type ParkEntry,
  type ParkReason,
  type ParkedEvent,
  type ParkedEventStore,
  type ParkedSelection,
} from '@causewayjs/core';
import { assertName, checkSelection } from '@causewayjs/core/internals';
import type { PostgresEventStore, PostgresTransaction } from './postgres-event-store.js';
import { PostgresSubscriptionTables } from './postgres-subscription-storage.js';

interface Row {
  position: string;
  event_id: string;
  stream: string;
  type: string;
  reason: ParkReason;
  error_name: string;
  error_message: string;
  error_stack: string | null;
  error_code: string | null;
  attempts: number;
  parked_at: Date;
  retry_requested: boolean;
}

const COLUMNS =
  'position, event_id, stream, type, reason, error_name, error_message, error_stack, error_code, attempts, parked_at, retry_requested';

/**
 * Parked (dead-lettered) events of subscriptions in the store's PostgreSQL schema
 * (`causeway_parked_events`). Usually made with `postgresSubscriptionStorage(store)`.
 */
export class PostgresParkedEventStore implements ParkedEventStore<PostgresTransaction> {
  private readonly db: PostgresSubscriptionTables;
  private readonly sql;

  constructor(store: PostgresEventStore) {
    this.db = new PostgresSubscriptionTables(store);
    const t = this.db.table('causeway_parked_events');
    const st = this.db.statement.bind(this.db);
    this.sql = {
      park: st(
        'parked_park',
        `INSERT INTO ${t} (subscription, ${COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, false)
         ON CONFLICT (subscription, position) DO UPDATE SET
           event_id = EXCLUDED.event_id, stream = EXCLUDED.stream, type = EXCLUDED.type,
           reason = EXCLUDED.reason, error_name = EXCLUDED.error_name,
           error_message = EXCLUDED.error_message, error_stack = EXCLUDED.error_stack,
           error_code = EXCLUDED.error_code, attempts = EXCLUDED.attempts,
           parked_at = EXCLUDED.parked_at, retry_requested = false`,
      ),
      list: st(
        'parked_list',
        `SELECT ${COLUMNS} FROM ${t}
         WHERE subscription = $1 AND position > $2
           AND ($3::boolean IS NULL OR retry_requested = $3::boolean)
         ORDER BY position LIMIT $4`,
      ),
      count: st('parked_count', `SELECT count(*) AS n FROM ${t} WHERE subscription = $1`),
      retry: st(
        'parked_retry',
        `UPDATE ${t} SET retry_requested = true
         WHERE subscription = $1 AND ($2::bigint[] IS NULL OR position = ANY($2::bigint[]))`,
      ),
      remove: st(
        'parked_remove',
        `DELETE FROM ${t}
         WHERE subscription = $1 AND ($2::bigint[] IS NULL OR position = ANY($2::bigint[]))`,
      ),
    };
  }

  async park(subscription: string, entry: ParkEntry, tx?: PostgresTransaction): Promise<void> {
    assertName(subscription, 'subscription');
    const e = prepareParkEntry(entry);
    await this.db.query(
      'park',
      this.sql.park,
      [
        subscription,
        e.position,
        e.eventId,
        e.stream,
        e.type,
        e.reason,
        e.error.name,
        e.error.message,
        e.error.stack ?? null,
        e.error.code ?? null,
        e.attempts,
        new Date(e.parkedAt),
      ],
      tx,
    );
  }

  async list(subscription: string, options: ListParkedOptions = {}): Promise<ParkedEvent[]> {
    assertName(subscription, 'subscription');
    const { after, limit, retryRequested } = resolveListOptions(options);
    const { rows } = await this.db.query<Row>('list parked', this.sql.list, [
      subscription,
      after,
      retryRequested ?? null,
      limit,
    ]);
    return rows.map((r) => ({
      subscription,
      position: Number(r.position),
      eventId: r.event_id,
      stream: r.stream,
      type: r.type,
      reason: r.reason,
      error: {
        name: r.error_name,
        message: r.error_message,
        ...(r.error_stack === null ? {} : { stack: r.error_stack }),
        ...(r.error_code === null ? {} : { code: r.error_code }),
      },
      attempts: r.attempts,
      parkedAt: r.parked_at,
      retryRequested: r.retry_requested,
    }));
  }

  async count(subscription: string): Promise<number> {
    assertName(subscription, 'subscription');
    const { rows } = await this.db.query<{ n: string }>('count parked', this.sql.count, [
      subscription,
    ]);
    return Number(rows[0]?.n ?? 0);
  }

  async requestRetry(
    subscription: string,
    which: ParkedSelection,
    tx?: PostgresTransaction,
  ): Promise<number> {
    assertName(subscription, 'subscription');
    const selection = checkSelection(which);
    if (selection !== 'all' && selection.length === 0) return 0;
    const { rowCount } = await this.db.query(
      'retry parked',
      this.sql.retry,
      [subscription, selection === 'all' ? null : selection],
      tx,
    );
    return rowCount;
  }

  async remove(
    subscription: string,
    which: ParkedSelection,
    tx?: PostgresTransaction,
  ): Promise<number> {
    assertName(subscription, 'subscription');
    const selection = checkSelection(which);
    if (selection !== 'all' && selection.length === 0) return 0;
    const { rowCount } = await this.db.query(
      'remove parked',
      this.sql.remove,
      [subscription, selection === 'all' ? null : selection],
      tx,
    );
    return rowCount;
  }
}
