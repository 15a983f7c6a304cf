import {
  type Lease,
  type LeaseAcquisition,
  type LeaseStore,
  LeaseLostError,
} from '@causewayjs/core';
import { assertLeaseArguments, assertName } from '@causewayjs/core/internals';
import type { PostgresEventStore, PostgresTransaction } from './postgres-event-store.js';
import { PostgresSubscriptionTables } from './postgres-subscription-storage.js';

/**
 * Leases in the store's PostgreSQL schema (`causeway_leases`): one process at a time per
 * name, across every process using the database. Usually made with
 * `postgresSubscriptionStorage(store)`.
 */
export class PostgresLeaseStore implements LeaseStore<PostgresTransaction> {
  private readonly db: PostgresSubscriptionTables;
  private readonly sql;

  constructor(store: PostgresEventStore) {
    this.db = new PostgresSubscriptionTables(store);
    const t = this.db.table('causeway_leases');
    const st = this.db.statement.bind(this.db);
    this.sql = {
      acquire: st(
        'lease_acquire',
        `INSERT INTO ${t} AS l (name, owner, expires_at, acquired_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET
           acquired_at = CASE WHEN l.owner = EXCLUDED.owner THEN l.acquired_at ELSE EXCLUDED.acquired_at END,
           owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
         WHERE l.owner = EXCLUDED.owner OR l.expires_at <= $4
         RETURNING owner`,
      ),
      renew: st('lease_renew', `UPDATE ${t} SET expires_at = $3 WHERE name = $1 AND owner = $2`),
      release: st('lease_release', `DELETE FROM ${t} WHERE name = $1 AND owner = $2`),
      get: st('lease_get', `SELECT owner, expires_at FROM ${t} WHERE name = $1`),
      // FOR SHARE: a taker's UPDATE of the row waits until the checking transaction ends.
      held: st('lease_held', `SELECT owner FROM ${t} WHERE name = $1 FOR SHARE`),
    };
  }

  async acquire(
    name: string,
    owner: string,
    ttlMs: number,
    now: number,
  ): Promise<LeaseAcquisition> {
    assertLeaseArguments(name, owner, ttlMs, now);
    // A holder can let go between the two statements; then the next round takes it.
    for (let round = 0; round < 3; round++) {
      const { rowCount } = await this.db.query('acquire lease', this.sql.acquire, [
        name,
        owner,
        now + ttlMs,
        now,
      ]);
      if (rowCount > 0) return { acquired: true };
      const holder = await this.get(name);
      if (holder) return { acquired: false, holder };
    }
    throw new Error('internal: a lease was neither taken nor held three times over');
  }

  async renew(name: string, owner: string, ttlMs: number, now: number): Promise<boolean> {
    assertLeaseArguments(name, owner, ttlMs, now);
    const { rowCount } = await this.db.query('renew lease', this.sql.renew, [
      name,
      owner,
      now + ttlMs,
    ]);
    return rowCount > 0;
  }

  async release(name: string, owner: string): Promise<void> {
    assertName(name);
    assertName(owner, 'owner');
    await this.db.query('release lease', this.sql.release, [name, owner]);
  }

  async get(name: string): Promise<Lease | undefined> {
    assertName(name);
    const { rows } = await this.db.query<{ owner: string; expires_at: string }>(
      'read lease',
      this.sql.get,
      [name],
    );
    const row = rows[0];
    return row && { name, owner: row.owner, expiresAt: new Date(Number(row.expires_at)) };
  }

  async assertHeld(name: string, owner: string, tx: PostgresTransaction): Promise<void> {
    const { rows } = await this.db.query<{ owner: string }>(
      'check lease',
      this.sql.held,
      [name],
      tx,
    );
    if (rows[0]?.owner !== owner) throw new LeaseLostError(name, owner);
  }
}
