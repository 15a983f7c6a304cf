import type Database from 'better-sqlite3';
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

/** The statements of the anchor table on one connection. */
function prepare(db: Database.Database) {
  return {
    saveHead: db.prepare<[string, string]>(
      `INSERT INTO causeway_chain_anchors (stream, head) VALUES (?, ?)
       ON CONFLICT (stream) DO UPDATE SET head = excluded.head`,
    ),
    saveStart: db.prepare<[string, string]>(
      `INSERT INTO causeway_chain_anchors (stream, start) VALUES (?, ?)
       ON CONFLICT (stream) DO UPDATE SET start = excluded.start`,
    ),
    load: db.prepare<[string], Row>(
      'SELECT stream, head, start FROM causeway_chain_anchors WHERE stream = ?',
    ),
    first: db.prepare<[number], Row>(
      'SELECT stream, head, start FROM causeway_chain_anchors ORDER BY stream LIMIT ?',
    ),
    after: db.prepare<[string, number], Row>(
      'SELECT stream, head, start FROM causeway_chain_anchors WHERE stream > ? ORDER BY stream LIMIT ?',
    ),
  };
}

type Statements = ReturnType<typeof prepare>;

/**
 * Chain anchors in the store's SQLite file (`causeway_chain_anchors`, component `integrity`):
 * written on the transaction's connection, so they commit with the append or scavenge.
 */
class SqliteChainAnchorStore implements ChainAnchorStore<SqliteTransaction> {
  /** Statements by connection (the store's, and each transaction's). */
  private readonly prepared = new WeakMap<Database.Database, Statements>();

  constructor(private readonly store: SqliteEventStore) {}

  saveHeads(heads: readonly ChainHeadAnchor[], tx?: SqliteTransaction): Promise<void> {
    return this.write(tx, (sql) => {
      for (const head of heads) sql.saveHead.run(head.stream, JSON.stringify(head));
    });
  }

  saveStart(start: ChainStartAnchor, tx?: SqliteTransaction): Promise<void> {
    return this.write(tx, (sql) => {
      sql.saveStart.run(start.stream, JSON.stringify(start));
    });
  }

  load(stream: string): Promise<ChainAnchors | undefined> {
    return this.read((sql) => {
      const row = sql.load.get(stream);
      return row && decodeAnchorRow(row.stream, row.head, row.start);
    });
  }

  list(options: ListChainAnchorsOptions = {}): Promise<ChainAnchors[]> {
    const limit = anchorPageSize(options);
    return this.read((sql) =>
      (options.after === undefined
        ? sql.first.all(limit)
        : sql.after.all(options.after, limit)
      ).map((r) => decodeAnchorRow(r.stream, r.head, r.start)),
    );
  }

  private read<T>(work: (sql: Statements) => T): Promise<T> {
    return new Promise<T>((resolve) => {
      if (this.store.isClosed || !this.store.database.open) throw new StoreClosedError();
      try {
        resolve(work(this.on(this.store.database)));
      } catch (error) {
        throw sqliteError('chain anchor read', error);
      }
    });
  }

  private on(db: Database.Database): Statements {
    let statements = this.prepared.get(db);
    if (!statements) {
      statements = prepare(db);
      this.prepared.set(db, statements);
    }
    return statements;
  }

  private write(tx: SqliteTransaction | undefined, work: (sql: Statements) => void): Promise<void> {
    if (!tx) return this.store.transaction((own) => this.write(own, work));
    return new Promise<void>((resolve) => {
      if (!tx.active)
        throw new InvalidArgumentError(
          'tx',
          'the transaction has already committed or rolled back',
        );
      try {
        work(this.on(tx.database));
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
