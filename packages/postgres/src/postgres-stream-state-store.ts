import { escapeIdentifier } from 'pg';
import { type Migration, assertOwner } from '@causewayjs/core/internals';
import {
  StreamJobFencedError,
  assertCheckpointData,
  assertJobName,
  decodePosition,
  encodePosition,
  type StreamCheckpoint,
  type StreamCheckpointData,
  type StreamStateStore,
  type SourcePosition,
} from '@causewayjs/core';
import type { PostgresEventStore, PostgresTransaction } from './postgres-event-store.js';
import { migrateStoreComponent } from './postgres-migrations.js';
import { PostgresSubscriptionTables } from './postgres-subscription-storage.js';

/** The name under which the stream-job tables record their schema version. */
export const POSTGRES_STREAMS_COMPONENT = 'streams';

/** The stream-job tables for a given schema, version by version. Never edit a published step. */
export function postgresStreamMigrations(schema: string): Migration[] {
  const s = escapeIdentifier(schema);
  return [
    {
      version: 1,
      description: 'stream job checkpoints',
      statements: [
        `CREATE TABLE ${s}.causeway_stream_checkpoints (
          job text PRIMARY KEY,
          position text,
          watermark bigint,
          state text NOT NULL,
          updated_at timestamptz NOT NULL
        )`,
      ],
    },
    {
      version: 2,
      description: 'stream job fencing epochs',
      statements: [
        `CREATE TABLE ${s}.causeway_stream_fences (
          job text PRIMARY KEY,
          epoch bigint NOT NULL,
          owner text NOT NULL,
          claimed_at timestamptz NOT NULL
        )`,
        `ALTER TABLE ${s}.causeway_stream_checkpoints ADD COLUMN epoch bigint`,
      ],
    },
  ];
}

/**
 * Stream-job checkpoints in the store's PostgreSQL schema, on its pool, and their fencing
 * epochs (`causeway_stream_fences`). A save with an epoch reads the job's fence row `FOR SHARE`
 * in its transaction: a claim (an `UPDATE` of that row) waits until the transaction ends, and
 * a save waits for a claim in progress, then sees its epoch.
 */
class PostgresStreamStateStore implements StreamStateStore<PostgresTransaction> {
  private readonly db: PostgresSubscriptionTables;
  private readonly sql;

  constructor(readonly store: PostgresEventStore) {
    this.db = new PostgresSubscriptionTables(store);
    const table = this.db.table('causeway_stream_checkpoints');
    const fences = this.db.table('causeway_stream_fences');
    this.sql = {
      load: this.db.statement(
        'stream_checkpoint_load_v2',
        `SELECT position, watermark, state, epoch, updated_at FROM ${table} WHERE job = $1`,
      ),
      save: this.db.statement(
        'stream_checkpoint_save_v2',
        `INSERT INTO ${table} (job, position, watermark, state, epoch, updated_at) VALUES ($1, $2, $3, $4, $5, now())
         ON CONFLICT (job) DO UPDATE SET position = EXCLUDED.position, watermark = EXCLUDED.watermark,
           state = EXCLUDED.state, epoch = EXCLUDED.epoch, updated_at = EXCLUDED.updated_at`,
      ),
      fence: this.db.statement(
        'stream_fence_check',
        `SELECT epoch, owner FROM ${fences} WHERE job = $1 FOR SHARE`,
      ),
      claim: this.db.statement(
        'stream_fence_claim',
        `INSERT INTO ${fences} AS f (job, epoch, owner, claimed_at) VALUES ($1, 1, $2, now())
         ON CONFLICT (job) DO UPDATE SET epoch = f.epoch + 1, owner = EXCLUDED.owner,
           claimed_at = EXCLUDED.claimed_at
         RETURNING epoch`,
      ),
      delete: this.db.statement('stream_checkpoint_delete', `DELETE FROM ${table} WHERE job = $1`),
      list: this.db.statement(
        'stream_checkpoint_list',
        `SELECT job, position, watermark, octet_length(state) AS bytes, updated_at FROM ${table} ORDER BY job`,
      ),
    };
  }

  async load(job: string): Promise<StreamCheckpoint | undefined> {
    assertJobName(job);
    const { rows } = await this.db.query<{
      position: string | null;
      watermark: string | null;
      state: string;
      epoch: string | null;
      updated_at: Date;
    }>('stream checkpoint load', this.sql.load, [job]);
    const row = rows[0];
    return (
      row && {
        position: decodePosition(row.position),
        watermark: row.watermark === null ? null : Number(row.watermark),
        state: row.state,
        epoch: row.epoch === null ? undefined : Number(row.epoch),
        updatedAt: row.updated_at,
      }
    );
  }

  async save(
    job: string,
    checkpoint: StreamCheckpointData,
    tx?: PostgresTransaction,
  ): Promise<void> {
    assertJobName(job);
    assertCheckpointData(checkpoint);
    const epoch = checkpoint.epoch;
    if (epoch !== undefined) {
      // The check and the write must commit together: in a transaction of their own if need be.
      if (!tx) return this.store.transaction((own) => this.save(job, checkpoint, own));
      const { rows } = await this.db.query<{ epoch: string; owner: string }>(
        'stream fence check',
        this.sql.fence,
        [job],
        tx,
      );
      const row = rows[0];
      const current = row && { epoch: Number(row.epoch), owner: row.owner };
      if (current?.epoch !== epoch) throw new StreamJobFencedError(job, epoch, current);
    }
    await this.db.query(
      'stream checkpoint save',
      this.sql.save,
      [
        job,
        encodePosition(checkpoint.position),
        checkpoint.watermark,
        checkpoint.state,
        epoch ?? null,
      ],
      tx,
    );
  }

  async claim(job: string, owner: string, tx?: PostgresTransaction): Promise<number> {
    assertJobName(job);
    assertOwner(owner);
    const { rows } = await this.db.query<{ epoch: string }>(
      'stream fence claim',
      this.sql.claim,
      [job, owner],
      tx,
    );
    const row = rows[0];
    if (!row) throw new Error('internal: a claim returned no epoch');
    return Number(row.epoch);
  }

  async delete(job: string, tx?: PostgresTransaction): Promise<void> {
    assertJobName(job);
    await this.db.query('stream checkpoint delete', this.sql.delete, [job], tx);
  }

  async list(): Promise<
    {
      job: string;
      position: SourcePosition | undefined;
      watermark: number | null;
      bytes: number;
      updatedAt: Date;
    }[]
  > {
    const { rows } = await this.db.query<{
      job: string;
      position: string | null;
      watermark: string | null;
      bytes: number;
      updated_at: Date;
    }>('stream checkpoint list', this.sql.list, []);
    return rows.map((r) => ({
      job: r.job,
      position: decodePosition(r.position),
      watermark: r.watermark === null ? null : Number(r.watermark),
      bytes: Number(r.bytes),
      updatedAt: r.updated_at,
    }));
  }
}

/**
 * Stream-job checkpoint storage in the store's PostgreSQL schema, migrated first (component
 * `streams`). A job's derived events and its checkpoint then commit in one transaction.
 *
 * @throws {SchemaTooNewError} when a newer Causeway migrated the tables.
 * @example
 * ```ts
 * const store = await PostgresEventStore.open(url);
 * const job = new StreamJob({ name: 'sales', source: storeSource(store), checkpoints: await postgresStreamStateStore(store) });
 * ```
 */
export async function postgresStreamStateStore(
  store: PostgresEventStore,
): Promise<StreamStateStore<PostgresTransaction>> {
  await migrateStoreComponent(
    store,
    POSTGRES_STREAMS_COMPONENT,
    postgresStreamMigrations(store.schema),
    'stream',
  );
  return new PostgresStreamStateStore(store);
}
