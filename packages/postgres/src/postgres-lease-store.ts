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
import type { PostgresEventStore, PostgresTransaction } from './postgres-event-store.js';
import { PostgresSubscriptionTables } from './postgres-subscription-storage.js';

/**
 * Leases in the store's PostgreSQL schema (`causeway_leases`): one process at a time per
 * name, across every process using the database, with a fencing epoch per name. A released
 * lease keeps its row with no owner (''), so its epoch is never reused. Usually made with
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
      // The epoch stays when the owner takes its own unexpired lease again (a renewal), and
      // grows on any change of hands; SET expressions see the row as it was.
      acquire: st(
        'lease_acquire_epoch',
        `INSERT INTO ${t} AS l (name, owner, expires_at, acquired_at, epoch) VALUES ($1, $2, $3, $4, 1)
         ON CONFLICT (name) DO UPDATE SET
           epoch = CASE WHEN l.owner = EXCLUDED.owner AND l.expires_at > $4 THEN l.epoch ELSE l.epoch + 1 END,
           acquired_at = CASE WHEN l.owner = EXCLUDED.owner THEN l.acquired_at ELSE EXCLUDED.acquired_at END,
           owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
         WHERE l.owner = EXCLUDED.owner OR l.expires_at <= $4
         RETURNING epoch`,
      ),
      // A null epoch (an owner name alone) matches any.
      renew: st(
        'lease_renew_epoch',
        `UPDATE ${t} SET expires_at = $3
         WHERE name = $1 AND owner = $2 AND epoch = coalesce($4::bigint, epoch)`,
      ),
      release: st(
        'lease_release_keep',
        `UPDATE ${t} SET owner = '', expires_at = 0
         WHERE name = $1 AND owner = $2 AND epoch = coalesce($3::bigint, epoch)`,
      ),
      get: st(
        'lease_get_epoch',
        `SELECT owner, expires_at, epoch FROM ${t} WHERE name = $1 AND owner <> ''`,
      ),
      // FOR SHARE: a taker's UPDATE of the row waits until the checking transaction ends.
      held: st('lease_held_epoch', `SELECT owner, epoch FROM ${t} WHERE name = $1 FOR SHARE`),
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
      const { rows } = await this.db.query<{ epoch: string }>('acquire lease', this.sql.acquire, [
        name,
        owner,
        now + ttlMs,
        now,
      ]);
      const taken = rows[0];
      if (taken) return { acquired: true, epoch: Number(taken.epoch) };
      const holder = await this.get(name);
      if (holder) return { acquired: false, holder };
    }
    throw new Error('internal: a lease was neither taken nor held three times over');
  }

  async renew(
    name: string,
    holder: string | LeaseClaim,
    ttlMs: number,
    now: number,
  ): Promise<boolean> {
    const { owner, epoch } = checkLeaseHolder(holder);
    assertLeaseArguments(name, owner, ttlMs, now);
    const { rowCount } = await this.db.query('renew lease', this.sql.renew, [
      name,
      owner,
      now + ttlMs,
      epoch,
    ]);
    return rowCount > 0;
  }

  async release(name: string, holder: string | LeaseClaim): Promise<void> {
    assertName(name);
    const { owner, epoch } = checkLeaseHolder(holder);
    await this.db.query('release lease', this.sql.release, [name, owner, epoch]);
  }

  async get(name: string): Promise<Lease | undefined> {
    assertName(name);
    const { rows } = await this.db.query<{ owner: string; expires_at: string; epoch: string }>(
      'read lease',
      this.sql.get,
      [name],
    );
    const row = rows[0];
    return (
      row && {
        name,
        owner: row.owner,
        expiresAt: new Date(Number(row.expires_at)),
        epoch: Number(row.epoch),
      }
    );
  }

  async assertHeld(
    name: string,
    holder: string | LeaseClaim,
    tx: PostgresTransaction,
  ): Promise<void> {
    const { rows } = await this.db.query<{ owner: string; epoch: string }>(
      'check lease',
      this.sql.held,
      [name],
      tx,
    );
    const row = rows[0];
    const stored = row && { owner: row.owner, epoch: Number(row.epoch) };
    if (!holdsLease(stored, holder)) throw new LeaseLostError(name, claimOwner(holder));
  }
}
