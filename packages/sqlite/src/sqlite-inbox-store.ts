import type Database from 'better-sqlite3';
import type { InboxStore } from '@causewayjs/core';
import { assertName } from '@causewayjs/core/internals';
import type { SqliteEventStore, SqliteTransaction } from './sqlite-event-store.js';
import { SqliteStatementCache } from './sqlite-statement-cache.js';

function prepare(db: Database.Database) {
  return {
    record: db.prepare<[string, string, number]>(
      `INSERT INTO causeway_inbox (consumer, event_id, processed_at) VALUES (?, ?, ?)
       ON CONFLICT (consumer, event_id) DO NOTHING`,
    ),
    has: db.prepare<[string, string], { one: number }>(
      'SELECT 1 AS one FROM causeway_inbox WHERE consumer = ? AND event_id = ?',
    ),
    prune: db.prepare<[string, number]>(
      'DELETE FROM causeway_inbox WHERE consumer = ? AND processed_at < ?',
    ),
  };
}

/**
 * Processed event ids per consumer in the store's SQLite file (`causeway_inbox`). Usually
 * made with `sqliteSubscriptionStorage(store)`; see `withInbox`.
 */
export class SqliteInboxStore implements InboxStore<SqliteTransaction> {
  private readonly sql: SqliteStatementCache<ReturnType<typeof prepare>>;

  constructor(store: SqliteEventStore) {
    this.sql = new SqliteStatementCache(store, prepare, 'inbox');
  }

  async record(consumer: string, eventId: string, tx?: SqliteTransaction): Promise<boolean> {
    assertName(consumer, 'consumer');
    assertName(eventId, 'eventId');
    const now = Date.now();
    return this.sql.write(tx, (s) => s.record.run(consumer, eventId, now).changes > 0);
  }

  has(consumer: string, eventId: string): Promise<boolean> {
    return this.sql.read((s) => {
      assertName(consumer, 'consumer');
      assertName(eventId, 'eventId');
      return s.has.get(consumer, eventId) !== undefined;
    });
  }

  async prune(consumer: string, before: Date): Promise<number> {
    assertName(consumer, 'consumer');
    const cutoff = before.getTime();
    return this.sql.write(undefined, (s) => s.prune.run(consumer, cutoff).changes);
  }
}
