import type Database from 'better-sqlite3';
import type { Checkpoint, CheckpointStore } from '@causewayjs/core';
import { assertName, assertPosition } from '@causewayjs/core/internals';
import type { SqliteEventStore, SqliteTransaction } from './sqlite-event-store.js';
import { SqliteStatementCache } from './sqlite-statement-cache.js';

function prepare(db: Database.Database) {
  return {
    load: db.prepare<[string], { position: number; updated_at: number }>(
      'SELECT position, updated_at FROM causeway_checkpoints WHERE name = ?',
    ),
    save: db.prepare<[string, number, number]>(
      `INSERT INTO causeway_checkpoints (name, position, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
    ),
    delete: db.prepare<[string]>('DELETE FROM causeway_checkpoints WHERE name = ?'),
    list: db.prepare<[], { name: string; position: number; updated_at: number }>(
      'SELECT name, position, updated_at FROM causeway_checkpoints ORDER BY name',
    ),
  };
}

/**
 * Subscription checkpoints in the store's SQLite file (`causeway_checkpoints`). Usually made
 * with `sqliteSubscriptionStorage(store)`, which migrates the tables first.
 */
export class SqliteCheckpointStore implements CheckpointStore<SqliteTransaction> {
  private readonly sql: SqliteStatementCache<ReturnType<typeof prepare>>;
  /**
   * Lets a transaction holding nothing but a subscription's progress commit without waiting
   * for its flush (see `CheckpointStore.relaxCommit`). Present when the store flushes commits
   * in the background (`backgroundFlush`, the default): SQLite's `synchronous` setting cannot
   * change inside a transaction, so only a commit flushed after the fact can skip the wait.
   */
  readonly relaxCommit?: (tx: SqliteTransaction) => Promise<void>;

  constructor(store: SqliteEventStore) {
    this.sql = new SqliteStatementCache(store, prepare, 'checkpoints');
    if (store.flushesInBackground)
      this.relaxCommit = (tx) => {
        tx.relaxCommit();
        return Promise.resolve();
      };
  }

  load(name: string): Promise<Checkpoint | undefined> {
    return this.sql.read((s) => {
      assertName(name);
      const row = s.load.get(name);
      return row && { position: row.position, updatedAt: new Date(row.updated_at) };
    });
  }

  async save(name: string, position: number, tx?: SqliteTransaction): Promise<void> {
    assertName(name);
    assertPosition(position);
    const now = Date.now();
    await this.sql.write(tx, (s) => s.save.run(name, position, now));
  }

  async delete(name: string, tx?: SqliteTransaction): Promise<void> {
    assertName(name);
    await this.sql.write(tx, (s) => s.delete.run(name));
  }

  list(): Promise<({ name: string } & Checkpoint)[]> {
    return this.sql.read((s) =>
      s.list
        .all()
        .map((r) => ({ name: r.name, position: r.position, updatedAt: new Date(r.updated_at) })),
    );
  }
}
