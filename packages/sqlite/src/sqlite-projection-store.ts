import Database from 'better-sqlite3';
import {
  type RecordedEvent,
  CausewayError,
  ErrorCode,
  InvalidArgumentError,
  StoreClosedError,
  type DocumentsOptions,
  buildTableName,
  type ProjectionBuild,
  type ProjectionMode,
  type BuildStatus,
  type BindOptions,
  type ProjectionRecord,
  type ProjectionStore,
  type SubscriptionStorage,
} from '@causewayjs/core';
import {
  collectionSpec,
  type CollectionSpec,
  belongsToBuild,
  isProjectionTable,
  projectionTablePrefix,
  type Migration,
  TransactionWriteBuffers,
} from '@causewayjs/core/internals';
import {
  EVENT_COLUMNS,
  toEvent,
  type EventRow,
  type SqliteEventStore,
  type SqliteTransaction,
} from './sqlite-event-store.js';
import { sqliteError } from './sqlite-errors.js';
import { migrateSqlite } from './sqlite-migrations.js';
import { collectionDdl, isNoSuchTable, SqliteDocuments } from './sqlite-documents.js';
import type { SqliteReadModel } from './sqlite-read-model.js';
import { SqliteStatementCache } from './sqlite-statement-cache.js';
import { sqliteSubscriptionStorage } from './sqlite-subscription-storage.js';

/** The name under which the projection registry records its schema version. */
export const SQLITE_PROJECTIONS_COMPONENT = 'projections';

/** The projection registry, version by version. Never edit a published step: add one. */
export const sqliteProjectionMigrations: readonly Migration[] = [
  {
    version: 1,
    description: 'projection builds',
    statements: [
      `CREATE TABLE causeway_projections (
         name TEXT NOT NULL,
         version INTEGER NOT NULL,
         build INTEGER NOT NULL,
         mode TEXT NOT NULL,
         status TEXT NOT NULL,
         frozen_at INTEGER,
         created_at INTEGER NOT NULL,
         switched_at INTEGER,
         PRIMARY KEY (name, version, build)
       ) WITHOUT ROWID`,
    ],
  },
];

interface RecordRow {
  name: string;
  version: number;
  build: number;
  mode: ProjectionMode;
  status: BuildStatus;
  frozen_at: number | null;
  created_at: number;
  switched_at: number | null;
}

const RECORD_COLUMNS = 'name, version, build, mode, status, frozen_at, created_at, switched_at';

function prepare(db: Database.Database) {
  return {
    all: db.prepare<[], RecordRow>(
      `SELECT ${RECORD_COLUMNS} FROM causeway_projections ORDER BY name, version, build`,
    ),
    named: db.prepare<[string], RecordRow>(
      `SELECT ${RECORD_COLUMNS} FROM causeway_projections
       WHERE name IN (SELECT value FROM json_each(?)) ORDER BY name, version, build`,
    ),
    put: db.prepare(
      `INSERT INTO causeway_projections (${RECORD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name, version, build) DO UPDATE SET mode = excluded.mode,
         status = excluded.status, frozen_at = excluded.frozen_at,
         created_at = excluded.created_at, switched_at = excluded.switched_at`,
    ),
    delete: db.prepare<[string, number, number]>(
      'DELETE FROM causeway_projections WHERE name = ? AND version = ? AND build = ?',
    ),
    head: db.prepare<[], { head: number }>(
      'SELECT coalesce(max(position), 0) AS head FROM causeway_events',
    ),
    after: db
      .prepare<[number], EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM causeway_events WHERE position > ? ORDER BY position`,
      )
      .raw(true),
    tables: db.prepare<[number, string], { name: string; type: string }>(
      `SELECT name, type FROM sqlite_master
       WHERE type IN ('table', 'view') AND substr(name, 1, ?) = ? ORDER BY name`,
    ),
  };
}

type Statements = ReturnType<typeof prepare>;

/** Whether a build is registered: asked by document collections, on their connection. */
const REGISTERED =
  'SELECT 1 AS one FROM causeway_projections WHERE name = ? AND version = ? AND build = ?';

/**
 * Projections over a {@link SqliteEventStore}: read models are SQL tables in the store's file
 * ({@link SqliteReadModel}), beside the projection registry (`causeway_projections`) and the
 * subscription tables. Inline projections write in the append's transaction, async ones in
 * their subscription's, with the checkpoint.
 */
class SqliteProjectionStore implements ProjectionStore<SqliteTransaction, SqliteReadModel> {
  private readonly sql: SqliteStatementCache<Statements>;
  private readonly userStatements = new WeakMap<
    Database.Database,
    Map<string, Database.Statement>
  >();
  /** Statements of document collections, apart from the user's (whose modes they may set). */
  private readonly documentStatements = new WeakMap<
    Database.Database,
    Map<string, Database.Statement>
  >();
  /** The collections (and indexes) each transaction has made sure of. */
  private readonly ensured = new WeakMap<SqliteTransaction, Set<string>>();
  /**
   * The collection specs each transaction has made sure of: a handle's writes pass the same
   * spec each time, so a write after the first costs one lookup, not a key built from its
   * table and indexes.
   */
  private readonly ensuredSpecs = new WeakMap<SqliteTransaction, WeakSet<CollectionSpec>>();
  /** Document writes held back by buffered handles, per transaction. */
  private readonly writes = new WeakMap<SqliteTransaction, TransactionWriteBuffers>();

  constructor(
    private readonly store: SqliteEventStore,
    readonly storage: SubscriptionStorage<SqliteTransaction>,
  ) {
    this.sql = new SqliteStatementCache(store, prepare, 'projections');
  }

  listBuilds(name?: string): Promise<ProjectionRecord[]> {
    return this.sql.read((s) =>
      (name === undefined ? s.all.all() : s.named.all(JSON.stringify([name]))).map(toRecord),
    );
  }

  buildsIn(tx: SqliteTransaction, names: readonly string[]): Promise<ProjectionRecord[]> {
    return this.sql.write(tx, (s) => s.named.all(JSON.stringify(names)).map(toRecord));
  }

  async putBuild(tx: SqliteTransaction, r: ProjectionRecord): Promise<void> {
    await this.sql.write(tx, (s) =>
      s.put.run(
        r.name,
        r.version,
        r.build,
        r.mode,
        r.status,
        r.frozenAt,
        r.createdAt.getTime(),
        r.switchedAt?.getTime() ?? null,
      ),
    );
  }

  async deleteBuild(tx: SqliteTransaction, build: ProjectionBuild): Promise<void> {
    await this.sql.write(tx, (s) => s.delete.run(build.name, build.version, build.build));
  }

  lockLog(tx: SqliteTransaction): Promise<number> {
    // The transaction began IMMEDIATE: it holds the file's write lock until it ends.
    return this.sql.write(tx, (s) => s.head.get()?.head ?? 0);
  }

  bind(tx: SqliteTransaction, build: ProjectionBuild, options?: BindOptions): SqliteReadModel {
    if (options?.buffered !== true) return this.handle(tx.database, build, tx);
    let writes = this.writes.get(tx);
    if (!writes) this.writes.set(tx, (writes = new TransactionWriteBuffers()));
    return this.handle(tx.database, build, tx, writes);
  }

  flush(tx: SqliteTransaction): void {
    // Statements run in process: SQLite's flushes are synchronous (none returns a promise).
    void this.writes.get(tx)?.flush();
  }

  async read<T>(
    build: ProjectionBuild,
    query: (readModel: SqliteReadModel) => T | Promise<T>,
  ): Promise<T> {
    if (this.store.isClosed) throw new StoreClosedError();
    try {
      return await query(this.handle(this.store.database, build));
    } catch (error) {
      // The query's own SQL on `readModel.database` gets its Causeway code too.
      throw error instanceof Database.SqliteError ? sqliteError('projection query', error) : error;
    }
  }

  async drop(tx: SqliteTransaction, build: ProjectionBuild): Promise<void> {
    const prefix = projectionTablePrefix(build.name);
    await this.sql.write(tx, (s) => {
      for (const { name, type } of s.tables.all(prefix.length, prefix)) {
        if (!belongsToBuild(build, name)) continue;
        tx.database.exec(`DROP ${type === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS "${name}"`);
      }
    });
  }

  tables(name: string): Promise<string[]> {
    const prefix = projectionTablePrefix(name);
    return this.sql.read((s) =>
      s.tables
        .all(prefix.length, prefix)
        .map((r) => r.name)
        .filter((t) => isProjectionTable(name, t)),
    );
  }

  appended(tx: SqliteTransaction, after: number): Promise<RecordedEvent[]> {
    // The transaction's own connection sees the events it appended before they commit.
    return this.sql.write(tx, (s) => s.after.all(after).map(toEvent));
  }

  isMissingTable(error: unknown): boolean {
    // Document collections report a table dropped under a query as StoreUnavailableError.
    return (
      isNoSuchTable(error) ||
      (error instanceof CausewayError &&
        error.code === ErrorCode.STORE_UNAVAILABLE &&
        isNoSuchTable(error.cause))
    );
  }

  private handle(
    database: Database.Database,
    build: ProjectionBuild,
    tx?: SqliteTransaction,
    writes?: TransactionWriteBuffers,
  ): SqliteReadModel {
    const context = {
      database,
      prepare: (sql: string) => cached(this.documentStatements, database, sql),
      ensure: tx && ((spec: CollectionSpec) => this.ensure(tx, spec)),
      writes,
      registered: () =>
        cached(this.documentStatements, database, REGISTERED).get(
          build.name,
          build.version,
          build.build,
        ) !== undefined,
      closed: () => this.store.isClosed || !database.open,
    };
    // Raw statements on the connection see the documents written so far: flushed first.
    const flushed = writes ? () => void writes.flush() : () => undefined;
    return {
      version: build.version,
      get database() {
        flushed();
        return database;
      },
      table: (name?: string) => buildTableName(build, name),
      prepare: <P extends unknown[], R>(sql: string) => {
        flushed();
        return cached(this.userStatements, database, sql) as Database.Statement<P, R>;
      },
      documents: <T>(name: string, options?: DocumentsOptions) =>
        new SqliteDocuments<T>(collectionSpec(build, name, options), context),
    };
  }

  /** Creates a collection's table and indexes, once per transaction, in it. */
  private ensure(tx: SqliteTransaction, spec: CollectionSpec): void {
    if (!tx.active)
      throw new InvalidArgumentError(
        'readModel',
        'its transaction has ended; use the read model only inside setup or apply',
      );
    let specs = this.ensuredSpecs.get(tx);
    if (specs?.has(spec)) return;
    let done = this.ensured.get(tx);
    if (!done) this.ensured.set(tx, (done = new Set()));
    const key = `${spec.table}\u0000${spec.indexes.join('\u0000')}`;
    if (!done.has(key)) {
      const ddl = collectionDdl(spec);
      for (const sql of [ddl.table, ...ddl.indexes]) {
        if (done.has(sql)) continue;
        tx.database.exec(sql);
        done.add(sql);
      }
      done.add(key);
    }
    if (!specs) this.ensuredSpecs.set(tx, (specs = new WeakSet()));
    specs.add(spec);
  }
}

/** A statement prepared once per connection, from `caches`. */
function cached(
  caches: WeakMap<Database.Database, Map<string, Database.Statement>>,
  database: Database.Database,
  sql: string,
): Database.Statement {
  let cache = caches.get(database);
  if (!cache) caches.set(database, (cache = new Map<string, Database.Statement>()));
  let statement = cache.get(sql);
  if (!statement) cache.set(sql, (statement = database.prepare(sql)));
  return statement;
}

/**
 * Creates or migrates the projection registry in the store's file, in a transaction of the
 * store.
 *
 * @throws {SchemaTooNewError} when a newer Causeway migrated it.
 */
export async function migrateSqliteProjectionTables(store: SqliteEventStore): Promise<void> {
  await store.transaction((tx) => {
    migrateSqlite(tx.database, SQLITE_PROJECTIONS_COMPONENT, sqliteProjectionMigrations);
    return Promise.resolve();
  });
}

/**
 * Projections over a SQLite store: SQL read models in the store's file, written in the same
 * transactions as the events (inline) or the checkpoints (async). Migrates the projection and
 * subscription tables first; pass `storage` to share subscription storage already made.
 *
 * @example
 * ```ts
 * import { SqliteEventStore, sqliteProjectionStore } from '@causewayjs/sqlite';
 * import { Projector } from '@causewayjs/core';
 *
 * const store = SqliteEventStore.open('./data/events.db');
 * const projector = new Projector({ store: await sqliteProjectionStore(store), projections: [totals] });
 * await projector.start();
 * ```
 */
export async function sqliteProjectionStore(
  store: SqliteEventStore,
  options: { storage?: SubscriptionStorage<SqliteTransaction> } = {},
): Promise<ProjectionStore<SqliteTransaction, SqliteReadModel>> {
  const storage = options.storage ?? (await sqliteSubscriptionStorage(store));
  if (storage.store !== store)
    throw new InvalidArgumentError('storage', 'must be subscription storage of the same store');
  await migrateSqliteProjectionTables(store);
  return new SqliteProjectionStore(store, storage);
}

function toRecord(r: RecordRow): ProjectionRecord {
  return {
    name: r.name,
    version: r.version,
    build: r.build,
    mode: r.mode,
    status: r.status,
    frozenAt: r.frozen_at,
    createdAt: new Date(r.created_at),
    switchedAt: r.switched_at === null ? null : new Date(r.switched_at),
  };
}
