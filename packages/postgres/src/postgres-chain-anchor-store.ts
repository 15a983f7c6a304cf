import { escapeIdentifier, type QueryResultRow } from 'pg';
import {
  InvalidArgumentError,
  StoreClosedError,
  type ChainAnchors,
  type ChainHeadAnchor,
  type ChainStartAnchor,
  type ChainAnchorStore,
  type ListChainAnchorsOptions,
} from '@causewayjs/core';
import { anchorPageSize, decodeAnchorRow, type Migration } from '@causewayjs/core/internals';
import { postgresError } from './postgres-errors.js';
import type { PostgresEventStore, PostgresTransaction } from './postgres-event-store.js';
import { migrateStoreComponent } from './postgres-migrations.js';

/** The name under which the chain-anchor table records its schema version. */
export const POSTGRES_INTEGRITY_COMPONENT = 'integrity';

/** The chain-anchor table for a given schema, version by version. Never edit a published step. */
function postgresIntegrityMigrations(schema: string): Migration[] {
  const s = escapeIdentifier(schema);
  return [
    {
      version: 1,
      description: 'hash-chain anchors',
      statements: [
        `CREATE TABLE ${s}.causeway_chain_anchors (
          stream text COLLATE "C" PRIMARY KEY,
          head text,
          start text
        )`,
      ],
    },
  ];
}

type Row = { stream: string; head: string | null; start: string | null };

/**
 * Chain anchors in the store's PostgreSQL schema (`causeway_chain_anchors`, component
 * `integrity`): written on the transaction's connection, so they commit with the append or
 * scavenge. An append holds its stream's row lock until it commits, so two writers of one
 * stream cannot both move its head anchor.
 */
class PostgresChainAnchorStore implements ChainAnchorStore<PostgresTransaction> {
  private readonly table: string;

  constructor(private readonly store: PostgresEventStore) {
    this.table = `${escapeIdentifier(store.schema)}.causeway_chain_anchors`;
  }

  async saveHeads(heads: readonly ChainHeadAnchor[], tx?: PostgresTransaction): Promise<void> {
    if (heads.length === 0) return;
    await this.query(
      'save',
      `INSERT INTO ${this.table} (stream, head)
       SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (stream) DO UPDATE SET head = EXCLUDED.head`,
      [heads.map((h) => h.stream), heads.map((h) => JSON.stringify(h))],
      tx,
    );
  }

  async saveStart(start: ChainStartAnchor, tx?: PostgresTransaction): Promise<void> {
    await this.query(
      'save',
      `INSERT INTO ${this.table} (stream, start) VALUES ($1, $2)
       ON CONFLICT (stream) DO UPDATE SET start = EXCLUDED.start`,
      [start.stream, JSON.stringify(start)],
      tx,
    );
  }

  async load(stream: string): Promise<ChainAnchors | undefined> {
    const rows = await this.query<Row>(
      'read',
      `SELECT stream, head, start FROM ${this.table} WHERE stream = $1`,
      [stream],
    );
    const row = rows[0];
    return row && decodeAnchorRow(row.stream, row.head, row.start);
  }

  async list(options: ListChainAnchorsOptions = {}): Promise<ChainAnchors[]> {
    const rows = await this.query<Row>(
      'read',
      `SELECT stream, head, start FROM ${this.table}
       WHERE $1::text IS NULL OR stream > $1 ORDER BY stream LIMIT $2`,
      [options.after ?? null, anchorPageSize(options)],
    );
    return rows.map((r) => decodeAnchorRow(r.stream, r.head, r.start));
  }

  private async query<R extends QueryResultRow>(
    operation: string,
    text: string,
    values: unknown[],
    tx?: PostgresTransaction,
  ): Promise<R[]> {
    if (tx && !tx.active)
      throw new InvalidArgumentError('tx', 'the transaction has already committed or rolled back');
    if (!tx && this.store.isClosed) throw new StoreClosedError();
    try {
      return (await (tx ? tx.client : this.store.pool).query<R>(text, values)).rows;
    } catch (error) {
      if (this.store.isClosed) throw new StoreClosedError();
      throw postgresError(`chain anchor ${operation}`, error);
    }
  }
}

/**
 * The chain anchors of the integrity layer in the store's PostgreSQL schema, migrated first.
 *
 * @throws {SchemaTooNewError} when a newer Causeway migrated the table.
 * @example
 * ```ts
 * const store = await PostgresEventStore.open(url);
 * const chained = integrityEventStore(store, { anchors: await postgresChainAnchorStore(store) });
 * ```
 */
export async function postgresChainAnchorStore(
  store: PostgresEventStore,
): Promise<ChainAnchorStore<PostgresTransaction>> {
  await migrateStoreComponent(
    store,
    POSTGRES_INTEGRITY_COMPONENT,
    postgresIntegrityMigrations(store.schema),
    'chain anchor',
  );
  return new PostgresChainAnchorStore(store);
}
