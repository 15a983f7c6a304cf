import type { InboxStore } from '@causewayjs/core';
import { assertName } from '@causewayjs/core/internals';
import type { PostgresEventStore, PostgresTransaction } from './postgres-event-store.js';
import { PostgresSubscriptionTables } from './postgres-subscription-storage.js';

/**
 * Processed event ids per consumer in the store's PostgreSQL schema (`causeway_inbox`).
 * Usually made with `postgresSubscriptionStorage(store)`; see `withInbox`.
 */
export class PostgresInboxStore implements InboxStore<PostgresTransaction> {
  private readonly db: PostgresSubscriptionTables;
  private readonly sql;

  constructor(store: PostgresEventStore) {
    this.db = new PostgresSubscriptionTables(store);
    const t = this.db.table('causeway_inbox');
    const st = this.db.statement.bind(this.db);
    this.sql = {
      record: st(
        'inbox_record',
        `INSERT INTO ${t} (consumer, event_id, processed_at) VALUES ($1, $2, now())
         ON CONFLICT (consumer, event_id) DO NOTHING`,
      ),
      has: st('inbox_has', `SELECT 1 FROM ${t} WHERE consumer = $1 AND event_id = $2`),
      prune: st('inbox_prune', `DELETE FROM ${t} WHERE consumer = $1 AND processed_at < $2`),
    };
  }

  async record(consumer: string, eventId: string, tx?: PostgresTransaction): Promise<boolean> {
    assertName(consumer, 'consumer');
    assertName(eventId, 'eventId');
    const { rowCount } = await this.db.query(
      'inbox record',
      this.sql.record,
      [consumer, eventId],
      tx,
    );
    return rowCount > 0;
  }

  async has(consumer: string, eventId: string): Promise<boolean> {
    assertName(consumer, 'consumer');
    assertName(eventId, 'eventId');
    const { rowCount } = await this.db.query('inbox check', this.sql.has, [consumer, eventId]);
    return rowCount > 0;
  }

  async prune(consumer: string, before: Date): Promise<number> {
    assertName(consumer, 'consumer');
    const { rowCount } = await this.db.query('inbox prune', this.sql.prune, [consumer, before]);
    return rowCount;
  }
}
