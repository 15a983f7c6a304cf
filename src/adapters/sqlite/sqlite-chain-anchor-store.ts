import type Database from 'better-sqlite3';
import { InvalidArgumentError, StoreClosedError } from '../../core/errors.js';
import type {
  ChainAnchors,
  ChainHeadAnchor,
  ChainStartAnchor,
} from '../../security/chain-anchor.js';
import {
  anchorPageSize,
  decodeAnchorRow,
  type ChainAnchorStore,
  type ListChainAnchorsOptions,
} from '../../security/chain-anchor-store.js';
import type { Migration } from '../../store/migrations.js';
import { sqliteError } from './sqlite-errors.js';
import type { SqliteEventStore, SqliteTransaction } from './sqlite-event-store.js';
import { migrateSqlite } from './sqlite-migrations.js';

/** The name under which the chain-anchor table records its schema version. */
export const SQLITE_INTEGRITY_COMPONENT = 'integrity';

/** The chain-anchor table, version by version. Never edit a published step: add one. */
const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'hash-chain anchors',
    statements: [
      `CREATE TABLE causeway_chain_anchors (
         stream TEXT PRIMARY KEY,
         head TEXT,
         start TEXT
       ) WITHOUT ROWID`,
    ],
  },
];

type Row = { stream: string; head: string | null; start: string | null };

const SAVE_HEAD = `INSERT INTO causeway_chain_anchors (stream, head) VALUES (?, ?)
  ON CONFLICT (stream) DO UPDATE SET head = excluded.head`;
const SAVE_START = `INSERT INTO causeway_chain_anchors (stream, start) VALUES (?, ?)
  ON CONFLICT (stream) DO UPDATE SET start = excluded.start`;

/**
 * Chain anchors in the store's SQLite file (`causeway_chain_anchors`, component `integrity`):
 * written on the transaction's connection, so they commit with the append or scavenge.
 */
class SqliteChainAnchorStore implements ChainAnchorStore<SqliteTransaction> {
  constructor(private readonly store: SqliteEventStore) {}

  saveHeads(heads: readonly ChainHeadAnchor[], tx?: SqliteTransaction): Promise<void> {
    return this.write(tx, (db) => {
      const save = db.prepare<[string, string]>(SAVE_HEAD);
      for (const head of heads) save.run(head.stream, JSON.stringify(head));
    });
  }

  saveStart(start: ChainStartAnchor, tx?: SqliteTransaction): Promise<void> {
    return this.write(tx, (db) => {
      db.prepare<[string, string]>(SAVE_START).run(start.stream, JSON.stringify(start));
    });
  }

  load(stream: string): Promise<ChainAnchors | undefined> {
    return this.read((db) => {
      const row = db
        .prepare<[string], Row>(
          'SELECT stream, head, start FROM causeway_chain_anchors WHERE stream = ?',
        )
        .get(stream);
      return row && decodeAnchorRow(row.stream, row.head, row.start);
    });
  }

  list(options: ListChainAnchorsOptions = {}): Promise<ChainAnchors[]> {
    const limit = anchorPageSize(options);
    return this.read((db) => {
      const rows =
        options.after === undefined
          ? db
              .prepare<[number], Row>(
                'SELECT stream, head, start FROM causeway_chain_anchors ORDER BY stream LIMIT ?',
              )
              .all(limit)
          : db
              .prepare<[string, number], Row>(
                'SELECT stream, head, start FROM causeway_chain_anchors WHERE stream > ? ORDER BY stream LIMIT ?',
              )
              .all(options.after, limit);
      return rows.map((r) => decodeAnchorRow(r.stream, r.head, r.start));
    });
  }

  private read<T>(work: (db: Database.Database) => T): Promise<T> {
    return new Promise<T>((resolve) => {
      if (this.store.isClosed || !this.store.database.open) throw new StoreClosedError();
      try {
        resolve(work(this.store.database));
      } catch (error) {
        throw sqliteError('chain anchor read', error);
      }
    });
  }

  private write(
    tx: SqliteTransaction | undefined,
    work: (db: Database.Database) => void,
  ): Promise<void> {
    if (!tx) return this.store.transaction((own) => this.write(own, work));
    return new Promise<void>((resolve) => {
      if (!tx.active)
        throw new InvalidArgumentError(
          'tx',
          'the transaction has already committed or rolled back',
        );
      try {
        work(tx.database);
      } catch (error) {
        throw sqliteError('chain anchor write', error);
      }
      resolve();
    });
  }
}

/**
 * The chain anchors of the integrity layer in the store's SQLite file, migrated first.
 *
 * @throws {SchemaTooNewError} when a newer Causeway migrated the table.
 * @example
 * ```ts
 * const store = SqliteEventStore.open('./data/events.db');
 * const chained = integrityEventStore(store, { anchors: await sqliteChainAnchorStore(store) });
 * ```
 */
export async function sqliteChainAnchorStore(
  store: SqliteEventStore,
): Promise<ChainAnchorStore<SqliteTransaction>> {
  await store.transaction((tx) => {
    migrateSqlite(tx.database, SQLITE_INTEGRITY_COMPONENT, migrations);
    return Promise.resolve();
  });
  return new SqliteChainAnchorStore(store);
}
