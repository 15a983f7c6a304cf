import type Database from 'better-sqlite3';
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
import type { SqliteEventStore, SqliteTransaction } from './sqlite-event-store.js';
import { SqliteStatementCache } from './sqlite-statement-cache.js';

interface Row {
  position: number;
  event_id: string;
  stream: string;
  type: string;
  reason: ParkReason;
  error_name: string;
  error_message: string;
  error_stack: string | null;
  error_code: string | null;
  attempts: number;
  parked_at: number;
  retry_requested: number;
}

const COLUMNS =
  'position, event_id, stream, type, reason, error_name, error_message, error_stack, error_code, attempts, parked_at, retry_requested';

function prepare(db: Database.Database) {
  return {
    park: db.prepare(
      `INSERT INTO causeway_parked_events (subscription, ${COLUMNS})
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
       ON CONFLICT (subscription, position) DO UPDATE SET
         event_id = excluded.event_id, stream = excluded.stream, type = excluded.type,
         reason = excluded.reason, error_name = excluded.error_name,
         error_message = excluded.error_message, error_stack = excluded.error_stack,
         error_code = excluded.error_code, attempts = excluded.attempts,
         parked_at = excluded.parked_at, retry_requested = 0`,
    ),
    list: db.prepare<[string, number, number, number, number], Row>(
      `SELECT ${COLUMNS} FROM causeway_parked_events
       WHERE subscription = ? AND position > ? AND (? < 0 OR retry_requested = ?)
       ORDER BY position LIMIT ?`,
    ),
    count: db.prepare<[string], { n: number }>(
      'SELECT count(*) AS n FROM causeway_parked_events WHERE subscription = ?',
    ),
    retryAll: db.prepare<[string]>(
      'UPDATE causeway_parked_events SET retry_requested = 1 WHERE subscription = ?',
    ),
    retryOne: db.prepare<[string, number]>(
      'UPDATE causeway_parked_events SET retry_requested = 1 WHERE subscription = ? AND position = ?',
    ),
    removeAll: db.prepare<[string]>('DELETE FROM causeway_parked_events WHERE subscription = ?'),
    removeOne: db.prepare<[string, number]>(
      'DELETE FROM causeway_parked_events WHERE subscription = ? AND position = ?',
    ),
  };
}

/**
 * Parked (dead-lettered) events of subscriptions in the store's SQLite file
 * (`causeway_parked_events`). Usually made with `sqliteSubscriptionStorage(store)`.
 */
export class SqliteParkedEventStore implements ParkedEventStore<SqliteTransaction> {
  private readonly sql: SqliteStatementCache<ReturnType<typeof prepare>>;

  constructor(store: SqliteEventStore) {
    this.sql = new SqliteStatementCache(store, prepare, 'parked events');
  }

  async park(subscription: string, entry: ParkEntry, tx?: SqliteTransaction): Promise<void> {
    assertName(subscription, 'subscription');
    const e = prepareParkEntry(entry);
    await this.sql.write(tx, (s) =>
      s.park.run(
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
        e.parkedAt,
      ),
    );
  }

  list(subscription: string, options: ListParkedOptions = {}): Promise<ParkedEvent[]> {
    return this.sql.read((s) => {
      assertName(subscription, 'subscription');
      const { after, limit, retryRequested } = resolveListOptions(options);
      const flag = retryRequested === undefined ? -1 : retryRequested ? 1 : 0;
      const rows = s.list.all(subscription, after, flag, flag, limit);
      return rows.map((r) => toParkedEvent(subscription, r));
    });
  }

  count(subscription: string): Promise<number> {
    return this.sql.read((s) => {
      assertName(subscription, 'subscription');
      return s.count.get(subscription)?.n ?? 0;
    });
  }

  async requestRetry(
    subscription: string,
    which: ParkedSelection,
    tx?: SqliteTransaction,
  ): Promise<number> {
    assertName(subscription, 'subscription');
    const selection = checkSelection(which);
    return this.sql.write(tx, (s) =>
      selection === 'all'
        ? s.retryAll.run(subscription).changes
        : selection.reduce((n, p) => n + s.retryOne.run(subscription, p).changes, 0),
    );
  }

  async remove(
    subscription: string,
    which: ParkedSelection,
    tx?: SqliteTransaction,
  ): Promise<number> {
    assertName(subscription, 'subscription');
    const selection = checkSelection(which);
    return this.sql.write(tx, (s) =>
      selection === 'all'
        ? s.removeAll.run(subscription).changes
        : selection.reduce((n, p) => n + s.removeOne.run(subscription, p).changes, 0),
    );
  }
}

function toParkedEvent(subscription: string, r: Row): ParkedEvent {
  return {
    subscription,
    position: r.position,
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
    parkedAt: new Date(r.parked_at),
    retryRequested: r.retry_requested === 1,
  };
}
