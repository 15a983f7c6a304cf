import type Database from 'better-sqlite3';
import {
  type Lease,
  type LeaseAcquisition,
  type LeaseStore,
  LeaseLostError,
} from '@causewayjs/core';
import { assertLeaseArguments, assertName } from '@causewayjs/core/internals';
import type { SqliteEventStore, SqliteTransaction } from './sqlite-event-store.js';
import { SqliteStatementCache } from './sqlite-statement-cache.js';

function prepare(db: Database.Database) {
  return {
    acquire: db.prepare<[string, string, number, number, number]>(
      `INSERT INTO causeway_leases (name, owner, expires_at, acquired_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET
         acquired_at = CASE WHEN causeway_leases.owner = excluded.owner
           THEN causeway_leases.acquired_at ELSE excluded.acquired_at END,
         owner = excluded.owner, expires_at = excluded.expires_at
       WHERE causeway_leases.owner = excluded.owner OR causeway_leases.expires_at <= ?`,
    ),
    renew: db.prepare<[number, string, string]>(
      'UPDATE causeway_leases SET expires_at = ? WHERE name = ? AND owner = ?',
    ),
    release: db.prepare<[string, string]>(
      'DELETE FROM causeway_leases WHERE name = ? AND owner = ?',
    ),
    get: db.prepare<[string], { owner: string; expires_at: number }>(
      'SELECT owner, expires_at FROM causeway_leases WHERE name = ?',
    ),
  };
}

/**
 * Leases in the store's SQLite file (`causeway_leases`): one process at a time per name,
 * across every process opening the file. Usually made with `sqliteSubscriptionStorage(store)`.
 */
export class SqliteLeaseStore implements LeaseStore<SqliteTransaction> {
  private readonly sql: SqliteStatementCache<ReturnType<typeof prepare>>;

  constructor(store: SqliteEventStore) {
    this.sql = new SqliteStatementCache(store, prepare, 'leases');
  }

  async acquire(
    name: string,
    owner: string,
    ttlMs: number,
    now: number,
  ): Promise<LeaseAcquisition> {
    assertLeaseArguments(name, owner, ttlMs, now);
    return this.sql.write(undefined, (s): LeaseAcquisition => {
      if (s.acquire.run(name, owner, now + ttlMs, now, now).changes > 0) return { acquired: true };
      const row = s.get.get(name);
      if (!row) throw new Error('internal: a lease was neither taken nor held');
      return {
        acquired: false,
        holder: { name, owner: row.owner, expiresAt: new Date(row.expires_at) },
      };
    });
  }

  async renew(name: string, owner: string, ttlMs: number, now: number): Promise<boolean> {
    assertLeaseArguments(name, owner, ttlMs, now);
    return this.sql.write(undefined, (s) => s.renew.run(now + ttlMs, name, owner).changes > 0);
  }

  async release(name: string, owner: string): Promise<void> {
    assertName(name);
    assertName(owner, 'owner');
    await this.sql.write(undefined, (s) => s.release.run(name, owner));
  }

  get(name: string): Promise<Lease | undefined> {
    return this.sql.read((s) => {
      assertName(name);
      const row = s.get.get(name);
      return row && { name, owner: row.owner, expiresAt: new Date(row.expires_at) };
    });
  }

  async assertHeld(name: string, owner: string, tx: SqliteTransaction): Promise<void> {
    // The transaction holds SQLite's write lock: nobody can take the lease before it ends.
    await this.sql.write(tx, (s) => {
      if (s.get.get(name)?.owner !== owner) throw new LeaseLostError(name, owner);
    });
  }
}
