import type Database from 'better-sqlite3';
import {
  type Lease,
  type LeaseAcquisition,
  type LeaseClaim,
  type LeaseStore,
  LeaseLostError,
} from '@causewayjs/core';
import {
  assertLeaseArguments,
  assertName,
  checkLeaseHolder,
  claimOwner,
  holdsLease,
} from '@causewayjs/core/internals';
import type { SqliteEventStore, SqliteTransaction } from './sqlite-event-store.js';
import { SqliteStatementCache } from './sqlite-statement-cache.js';

/**
 * A released lease keeps its row, with no owner (''), so its epoch is never reused; an owner
 * is never '' (names are checked non-empty).
 */
function prepare(db: Database.Database) {
  return {
    // The epoch stays when the owner takes its own unexpired lease again (a renewal), and
    // grows on any change of hands. SET expressions see the row as it was.
    acquire: db.prepare<[string, string, number, number, number, number], { epoch: number }>(
      `INSERT INTO causeway_leases (name, owner, expires_at, acquired_at, epoch) VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (name) DO UPDATE SET
         epoch = CASE WHEN causeway_leases.owner = excluded.owner AND causeway_leases.expires_at > ?
           THEN causeway_leases.epoch ELSE causeway_leases.epoch + 1 END,
         acquired_at = CASE WHEN causeway_leases.owner = excluded.owner
           THEN causeway_leases.acquired_at ELSE excluded.acquired_at END,
         owner = excluded.owner, expires_at = excluded.expires_at
       WHERE causeway_leases.owner = excluded.owner OR causeway_leases.expires_at <= ?
       RETURNING epoch`,
    ),
    // A null epoch (an owner name alone) matches any.
    renew: db.prepare<[number, string, string, number | null]>(
      'UPDATE causeway_leases SET expires_at = ? WHERE name = ? AND owner = ? AND epoch = coalesce(?, epoch)',
    ),
    release: db.prepare<[string, string, number | null]>(
      `UPDATE causeway_leases SET owner = '', expires_at = 0
       WHERE name = ? AND owner = ? AND epoch = coalesce(?, epoch)`,
    ),
    get: db.prepare<[string], { owner: string; expires_at: number; epoch: number }>(
      "SELECT owner, expires_at, epoch FROM causeway_leases WHERE name = ? AND owner <> ''",
    ),
  };
}

/**
 * Leases in the store's SQLite file (`causeway_leases`): one process at a time per name,
 * across every process opening the file, with a fencing epoch per name. Usually made with
 * `sqliteSubscriptionStorage(store)`.
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
      const taken = s.acquire.get(name, owner, now + ttlMs, now, now, now);
      if (taken) return { acquired: true, epoch: taken.epoch };
      const row = s.get.get(name);
      if (!row) throw new Error('internal: a lease was neither taken nor held');
      return { acquired: false, holder: toLease(name, row) };
    });
  }

  async renew(
    name: string,
    holder: string | LeaseClaim,
    ttlMs: number,
    now: number,
  ): Promise<boolean> {
    const { owner, epoch } = checkLeaseHolder(holder);
    assertLeaseArguments(name, owner, ttlMs, now);
    return this.sql.write(
      undefined,
      (s) => s.renew.run(now + ttlMs, name, owner, epoch).changes > 0,
    );
  }

  async release(name: string, holder: string | LeaseClaim): Promise<void> {
    assertName(name);
    const { owner, epoch } = checkLeaseHolder(holder);
    await this.sql.write(undefined, (s) => s.release.run(name, owner, epoch));
  }

  get(name: string): Promise<Lease | undefined> {
    return this.sql.read((s) => {
      assertName(name);
      const row = s.get.get(name);
      return row && toLease(name, row);
    });
  }

  async assertHeld(
    name: string,
    holder: string | LeaseClaim,
    tx: SqliteTransaction,
  ): Promise<void> {
    // The transaction holds SQLite's write lock: nobody can take the lease before it ends.
    await this.sql.write(tx, (s) => {
      if (!holdsLease(s.get.get(name), holder)) throw new LeaseLostError(name, claimOwner(holder));
    });
  }
}

function toLease(name: string, row: { owner: string; expires_at: number; epoch: number }): Lease {
  return { name, owner: row.owner, expiresAt: new Date(row.expires_at), epoch: row.epoch };
}
