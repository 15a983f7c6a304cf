import { DatabaseError, escapeIdentifier, type PoolClient, type QueryResultRow } from 'pg';
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
  READ_COLUMNS,
  toEvent,
  type EventRow,
  type PostgresEventStore,
  type PostgresTransaction,
} from './postgres-event-store.js';
import { checkOut, type CheckedOutClient } from './postgres-connection.js';
import { migrateStoreComponent } from './postgres-migrations.js';
import { collectionDdl, isUndefinedTable, PostgresDocuments } from './postgres-documents.js';
import type { PostgresReadModel } from './postgres-read-model.js';
import { postgresSubscriptionStorage } from './postgres-subscription-storage.js';
import { postgresComponentError } from './postgres-errors.js';

/** The name under which the projection registry records its schema version. */
export const POSTGRES_PROJECTIONS_COMPONENT = 'projections';

/** The projection registry for a given schema, version by version. Never edit a published step. */
export function postgresProjectionMigrations(schema: string): Migration[] {
  const s = escapeIdentifier(schema);
  return [
    {
      version: 1,
      description: 'projection builds',
      statements: [
        `CREATE TABLE ${s}.causeway_projections (
          name text NOT NULL,
          version int NOT NULL,
          build int NOT NULL,
          mode text NOT NULL,
          status text NOT NULL,
          frozen_at bigint,
          created_at timestamptz NOT NULL,
          switched_at timestamptz,
          PRIMARY KEY (name, version, build)
        )`,
      ],
    },
  ];
}

interface RecordRow {
  name: string;
  version: number;
  build: number;
  mode: ProjectionMode;
  status: BuildStatus;
  frozen_at: string | null;
  created_at: Date;
  switched_at: Date | null;
}

const RECORD_COLUMNS = 'name, version, build, mode, status, frozen_at, created_at, switched_at';
/** As the store reads them: `recorded_at` as epoch milliseconds, rounded like its reads. */

/**
 * Projections over a {@link PostgresEventStore}: read models are tables in the store's schema
 * ({@link PostgresReadModel}), beside the projection registry (`causeway_projections`) and the
 * subscription tables. Inline projections write in the append's transaction, which holds the
 * store's commit-order lock from its first append; async ones in their subscription's.
 */
class PostgresProjectionStore implements ProjectionStore<PostgresTransaction, PostgresReadModel> {
  /** Handles call `onUse` from `client` and `documents()`, the only ways they reach the database. */
  readonly reportsUse = true;
  private readonly s: string;
  private readonly sql: ReturnType<typeof statements>;
  /** DDL of document collections known to be committed, by table. */
  private readonly created = new Map<string, Set<string>>();
  /** The DDL of each collection as declared (table and indexes), made once. */
  private readonly ddl = new Map<string, string[]>();
  /** DDL of document collections run (or running) in each transaction. */
  private readonly ensured = new WeakMap<PostgresTransaction, Map<string, Promise<void>>>();
  /** Document writes held back by buffered handles, per transaction. */
  private readonly writes = new WeakMap<PostgresTransaction, TransactionWriteBuffers>();

  constructor(
    private readonly store: PostgresEventStore,
    readonly storage: SubscriptionStorage<PostgresTransaction>,
  ) {
    this.s = escapeIdentifier(store.schema);
    this.sql = statements(this.s);
  }

  async listBuilds(name?: string): Promise<ProjectionRecord[]> {
    const { rows } = await this.query<RecordRow>(
      'list builds',
      name === undefined ? this.sql.all : this.sql.named,
      name === undefined ? [] : [[name]],
    );
    return rows.map(toRecord);
  }

  async buildsIn(tx: PostgresTransaction, names: readonly string[]): Promise<ProjectionRecord[]> {
    const { rows } = await this.query<RecordRow>('read builds', this.sql.named, [names], tx);
    return rows.map(toRecord);
  }

  async putBuild(tx: PostgresTransaction, r: ProjectionRecord): Promise<void> {
    await this.query(
      'register a build',
      this.sql.put,
      [r.name, r.version, r.build, r.mode, r.status, r.frozenAt, r.createdAt, r.switchedAt],
      tx,
    );
  }

  async deleteBuild(tx: PostgresTransaction, build: ProjectionBuild): Promise<void> {
    await this.query(
      'forget a build',
      this.sql.delete,
      [build.name, build.version, build.build],
      tx,
    );
  }

  async lockLog(tx: PostgresTransaction): Promise<number> {
    // The row lock every append takes to allocate positions: held until the transaction ends.
    const { rows } = await this.query<{ position: string }>(
      'lock the log',
      this.sql.lockLog,
      [],
      tx,
    );
    return Number(rows[0]?.position ?? 0);
  }

  bind(tx: PostgresTransaction, build: ProjectionBuild, options?: BindOptions): PostgresReadModel {
    const onUse = options?.onUse;
    if (options?.buffered !== true) return this.handle(tx.client, build, tx, undefined, onUse);
    let writes = this.writes.get(tx);
    if (!writes) this.writes.set(tx, (writes = new TransactionWriteBuffers()));
    return this.handle(tx.client, build, tx, writes, onUse);
  }

  async flush(tx: PostgresTransaction): Promise<void> {
    await this.writes.get(tx)?.flush();
  }

  async read<T>(
    build: ProjectionBuild,
    query: (readModel: PostgresReadModel) => T | Promise<T>,
  ): Promise<T> {
    if (this.store.isClosed) throw new StoreClosedError();
    let lease: CheckedOutClient;
    try {
      lease = await checkOut(this.store.pool);
    } catch (error) {
      throw this.failure('connect for a query', error);
    }
    try {
      return await query(this.handle(lease.client, build));
    } catch (error) {
      // A connection that broke under the query fails it as unavailable, and is discarded; the
      // query's own SQL on `readModel.client` gets its Causeway code too.
      if (lease.lost) throw this.failure('query', lease.lost);
      throw error instanceof DatabaseError ? this.failure('query', error) : error;
    } finally {
      lease.release();
    }
  }

  async drop(tx: PostgresTransaction, build: ProjectionBuild): Promise<void> {
    const prefix = projectionTablePrefix(build.name);
    const { rows } = await this.query<{ name: string; kind: string }>(
      'list tables',
      this.sql.tables,
      [this.store.schema, prefix],
      tx,
    );
    tx.onCommit(() => {
      for (const table of this.created.keys())
        if (belongsToBuild(build, table)) this.created.delete(table);
    });
    for (const { name, kind } of rows) {
      if (!belongsToBuild(build, name)) continue;
      try {
        await tx.client.query(
          `DROP ${kind === 'v' ? 'VIEW' : 'TABLE'} IF EXISTS ${this.s}.${escapeIdentifier(name)} CASCADE`,
        );
      } catch (error) {
        throw this.failure(`drop ${name}`, error);
      }
    }
  }

  async tables(name: string): Promise<string[]> {
    const { rows } = await this.query<{ name: string }>('list tables', this.sql.tables, [
      this.store.schema,
      projectionTablePrefix(name),
    ]);
    return rows.map((r) => r.name).filter((t) => isProjectionTable(name, t));
  }

  async appended(tx: PostgresTransaction, after: number): Promise<RecordedEvent[]> {
    if (!tx.active)
      throw new InvalidArgumentError('tx', 'the transaction has already committed or rolled back');
    try {
      const { rows } = await tx.client.query<EventRow>({
        ...this.sql.after,
        values: [after],
        rowMode: 'array',
      });
      return rows.map(toEvent);
    } catch (error) {
      throw this.failure('read appended events', error);
    }
  }

  isMissingTable(error: unknown): boolean {
    // Document collections report a table dropped under a query as StoreUnavailableError.
    return (
      isUndefinedTable(error) ||
      (error instanceof CausewayError &&
        error.code === ErrorCode.STORE_UNAVAILABLE &&
        isUndefinedTable(error.cause))
    );
  }

  /** A read model on `client`; `onUse` is told when its connection or documents are reached. */
  private handle(
    client: PoolClient,
    build: ProjectionBuild,
    tx?: PostgresTransaction,
    writes?: TransactionWriteBuffers,
    onUse?: () => void,
  ): PostgresReadModel {
    const context = {
      client,
      schema: this.s,
      ensure: tx && ((spec: CollectionSpec) => this.ensure(tx, spec)),
      active: tx && (() => tx.active),
      writes,
      registered: async () => {
        const { rows } = await client.query({
          ...this.sql.registered,
          values: [build.name, build.version, build.build],
        });
        return rows.length > 0;
      },
      closed: () => this.store.isClosed,
    };
    return {
      version: build.version,
      get client() {
        onUse?.();
        return client;
      },
      table: (name?: string) => `${this.s}.${escapeIdentifier(buildTableName(build, name))}`,
      identifier: (name?: string) => escapeIdentifier(buildTableName(build, name)),
      flush: async () => {
        await writes?.flush();
      },
      documents: <T>(name: string, options?: DocumentsOptions) => {
        onUse?.();
        return new PostgresDocuments<T>(collectionSpec(build, name, options), context);
      },
    };
  }

  /**
   * Creates a collection's table and indexes in `tx`, unless known to be committed or already
   * done in `tx`: one round trip, the first time only.
   */
  private async ensure(tx: PostgresTransaction, spec: CollectionSpec): Promise<void> {
    if (!tx.active)
      throw new InvalidArgumentError(
        'readModel',
        'its transaction has ended; use the read model only inside setup or apply',
      );
    let running = this.ensured.get(tx);
    if (!running) this.ensured.set(tx, (running = new Map<string, Promise<void>>()));
    const key = `${spec.table}\u0000${spec.indexes.join('\u0000')}`;
    let ddl = this.ddl.get(key);
    if (!ddl) this.ddl.set(key, (ddl = collectionDdl(this.s, spec)));
    const known = this.created.get(spec.table);
    const missing = ddl.filter((sql) => !known?.has(sql));
    if (missing.length === 0) return;
    const waits = missing.flatMap((sql) => running.get(sql) ?? []);
    const todo = missing.filter((sql) => !running.has(sql));
    if (todo.length > 0) {
      const done = tx.client.query(todo.join(';\n')).then(
        () => undefined,
        (error: unknown) => {
          throw this.failure(`create collection "${spec.name}"`, error);
        },
      );
      for (const sql of todo) running.set(sql, done);
      tx.onCommit(() => {
        let set = this.created.get(spec.table);
        if (!set) this.created.set(spec.table, (set = new Set()));
        for (const sql of todo) set.add(sql);
      });
      waits.push(done);
    }
    await Promise.all(waits);
  }

  private async query<R extends QueryResultRow>(
    operation: string,
    statement: { name: string; text: string },
    values: unknown[],
    tx?: PostgresTransaction,
  ): Promise<{ rows: R[] }> {
    if (tx && !tx.active)
      throw new InvalidArgumentError('tx', 'the transaction has already committed or rolled back');
    if (!tx && this.store.isClosed) throw new StoreClosedError();
    try {
      return await (tx ? tx.client : this.store.pool).query<R>({ ...statement, values });
    } catch (error) {
      throw this.failure(operation, error);
    }
  }

  private failure(operation: string, error: unknown): Error {
    return postgresComponentError(`projections ${operation}`, error, this.store.isClosed);
  }
}

function statements(s: string) {
  const st = (name: string, text: string) => ({ name: `causeway.projections.${name}`, text });
  return {
    all: st(
      'all',
      `SELECT ${RECORD_COLUMNS} FROM ${s}.causeway_projections ORDER BY name, version, build`,
    ),
    named: st(
      'named',
      `SELECT ${RECORD_COLUMNS} FROM ${s}.causeway_projections
       WHERE name = ANY($1::text[]) ORDER BY name, version, build`,
    ),
    put: st(
      'put',
      `INSERT INTO ${s}.causeway_projections (${RECORD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (name, version, build) DO UPDATE SET mode = EXCLUDED.mode,
         status = EXCLUDED.status, frozen_at = EXCLUDED.frozen_at,
         created_at = EXCLUDED.created_at, switched_at = EXCLUDED.switched_at`,
    ),
    delete: st(
      'delete',
      `DELETE FROM ${s}.causeway_projections WHERE name = $1 AND version = $2 AND build = $3`,
    ),
    registered: st(
      'registered',
      `SELECT 1 FROM ${s}.causeway_projections WHERE name = $1 AND version = $2 AND build = $3`,
    ),
    lockLog: st('lock_log', `SELECT position FROM ${s}.causeway_log WHERE id = 1 FOR UPDATE`),
    after: st(
      'after',
      `SELECT ${READ_COLUMNS} FROM ${s}.causeway_events WHERE position > $1::bigint ORDER BY position`,
    ),
    tables: st(
      'tables',
      `SELECT c.relname AS name, c.relkind AS kind FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'p', 'm')
         AND left(c.relname, char_length($2::text)) = $2::text
       ORDER BY c.relname`,
    ),
  };
}

/**
 * Creates or migrates the projection registry in the store's schema, on one of its pooled
 * connections (under the schema's migration lock).
 *
 * @throws {SchemaTooNewError} when a newer Causeway migrated it.
 * @throws {StoreUnavailableError} when it cannot be prepared.
 */
export function migratePostgresProjectionTables(store: PostgresEventStore): Promise<void> {
  return migrateStoreComponent(
    store,
    POSTGRES_PROJECTIONS_COMPONENT,
    postgresProjectionMigrations(store.schema),
    'projection',
  );
}

/**
 * Projections over a PostgreSQL store: SQL read models in the store's schema, written in the
 * same transactions as the events (inline) or the checkpoints (async). Migrates the projection
 * and subscription tables first; pass `storage` to share subscription storage already made.
 *
 * @example
 * ```ts
 * import { PostgresEventStore, postgresProjectionStore } from '@causewayjs/postgres';
 * import { Projector } from '@causewayjs/core';
 *
 * const store = await PostgresEventStore.open('postgres://app@db/shop?schema=events');
 * const projector = new Projector({ store: await postgresProjectionStore(store), projections: [totals] });
 * await projector.start();
 * ```
 */
export async function postgresProjectionStore(
  store: PostgresEventStore,
  options: { storage?: SubscriptionStorage<PostgresTransaction> } = {},
): Promise<ProjectionStore<PostgresTransaction, PostgresReadModel>> {
  const storage = options.storage ?? (await postgresSubscriptionStorage(store));
  if (storage.store !== store)
    throw new InvalidArgumentError('storage', 'must be subscription storage of the same store');
  await migratePostgresProjectionTables(store);
  return new PostgresProjectionStore(store, storage);
}

function toRecord(r: RecordRow): ProjectionRecord {
  return {
    name: r.name,
    version: r.version,
    build: r.build,
    mode: r.mode,
    status: r.status,
    frozenAt: r.frozen_at === null ? null : Number(r.frozen_at),
    createdAt: r.created_at,
    switchedAt: r.switched_at,
  };
}
