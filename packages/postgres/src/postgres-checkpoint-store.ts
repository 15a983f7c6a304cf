import type { Checkpoint, CheckpointStore } from '@causewayjs/core';
import { assertName, assertPosition } from '@causewayjs/core/internals';
import type { PostgresEventStore, PostgresTransaction } from './postgres-event-store.js';
import { PostgresSubscriptionTables } from './postgres-subscription-storage.js';

/**
 * Subscription checkpoints in the store's PostgreSQL schema (`causeway_checkpoints`), on its
 * pool. Usually made with `postgresSubscriptionStorage(store)`, which migrates the tables.
 */
export class PostgresCheckpointStore implements CheckpointStore<PostgresTransaction> {
  private readonly db: PostgresSubscriptionTables;
  private readonly sql;

  constructor(store: PostgresEventStore) {
    this.db = new PostgresSubscriptionTables(store);
    const table = this.db.table('causeway_checkpoints');
    this.sql = {
      load: this.db.statement(
        'checkpoint_load',
        `SELECT position, updated_at FROM ${table} WHERE name = $1`,
      ),
      save: this.db.statement(
        'checkpoint_save',
        `INSERT INTO ${table} (name, position, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at`,
      ),
      delete: this.db.statement('checkpoint_delete', `DELETE FROM ${table} WHERE name = $1`),
      list: this.db.statement(
        'checkpoint_list',
        `SELECT name, position, updated_at FROM ${table} ORDER BY name`,
      ),
      // set_config(..., true) is SET LOCAL: it ends with the transaction.
      relax: this.db.statement(
        'checkpoint_relax_commit',
        `SELECT set_config('synchronous_commit', 'off', true)`,
      ),
    };
  }

  async load(name: string): Promise<Checkpoint | undefined> {
    assertName(name);
    const { rows } = await this.db.query<{ position: string; updated_at: Date }>(
      'checkpoint load',
      this.sql.load,
      [name],
    );
    const row = rows[0];
    return row && { position: Number(row.position), updatedAt: row.updated_at };
  }

  async save(name: string, position: number, tx?: PostgresTransaction): Promise<void> {
    assertName(name);
    assertPosition(position);
    await this.db.query('checkpoint save', this.sql.save, [name, position], tx);
  }

  async delete(name: string, tx?: PostgresTransaction): Promise<void> {
    assertName(name);
    await this.db.query('checkpoint delete', this.sql.delete, [name], tx);
  }

  /**
   * Commits `tx` without waiting for its WAL flush (`synchronous_commit = off` for this
   * transaction only). A subscription asks for it only when `tx` holds nothing but its
   * progress. The server stays consistent: a crash of the server or machine may lose the
   * last such commits (at most about three times `wal_writer_delay`), never a part of one,
   * and any later commit that waits for its flush makes them durable too.
   */
  async relaxCommit(tx: PostgresTransaction): Promise<void> {
    await this.db.query('relaxed commit', this.sql.relax, [], tx);
  }

  async list(): Promise<({ name: string } & Checkpoint)[]> {
    const { rows } = await this.db.query<{ name: string; position: string; updated_at: Date }>(
      'checkpoint list',
      this.sql.list,
      [],
    );
    return rows.map((r) => ({
      name: r.name,
      position: Number(r.position),
      updatedAt: r.updated_at,
    }));
  }
}
