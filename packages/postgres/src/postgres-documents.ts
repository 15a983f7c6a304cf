import { createHash } from 'node:crypto';
import { DatabaseError, escapeIdentifier, type PoolClient, type QueryResultRow } from 'pg';
import {
  CausewayError,
  StoreClosedError,
  StoreUnavailableError,
  DocumentsReadOnlyError,
  type DocumentEntry,
  type DocumentPage,
  type DocumentPatch,
  type DocumentQuery,
  type DocumentWhere,
  type Documents,
  mergePatch,
} from '@causewayjs/core';
import {
  checkDocumentId,
  checkDocumentIds,
  checkPatch,
  encodeDocument,
  type CollectionSpec,
  encodeCursor,
  parseDocumentQuery,
  parseWhere,
  type DocumentCondition,
  type DocumentCursor,
  type DocumentOrdering,
  type SortKey,
  type DocumentWriteBuffer,
  type TransactionWriteBuffers,
} from '@causewayjs/core/internals';
import { postgresComponentError } from './postgres-errors.js';
import { MAX_IDENTIFIER_BYTES, messageOf } from './postgres-support.js';

/** Where a {@link PostgresDocuments} runs its statements, and what it may do there. */
export interface PostgresDocumentsContext {
  /** The transaction's connection (`setup`/`apply`) or a pooled one (queries). */
  readonly client: PoolClient;
  /** The store's schema, quoted. */
  readonly schema: string;
  /**
   * In `setup`/`apply`: throws unless the transaction is still active, and creates the
   * collection's table and indexes unless they are known to exist. Undefined in queries,
   * which never write.
   */
  readonly ensure: ((spec: CollectionSpec) => Promise<void>) | undefined;
  /** In `setup`/`apply`: whether the transaction is still active (`ensure` throws once not). */
  readonly active?: (() => boolean) | undefined;
  /**
   * In `apply` of a buffered handle: the transaction's held-back writes, where this
   * collection's go until they are flushed. Undefined elsewhere: writes go straight to the table.
   */
  readonly writes?: TransactionWriteBuffers | undefined;
  /** In queries: whether the build read is still registered (else its tables were dropped). */
  registered(): Promise<boolean>;
  /** Whether the store has been closed. */
  closed(): boolean;
}

/**
 * The DDL of a collection, statement by statement: a table of `id text COLLATE "C"` (so ids
 * sort by code point, as on every adapter) and `doc jsonb`, and for each declared index one
 * index on the expressions `find` filters and sorts by (see {@link sortKeySql}), then the id.
 */
export function collectionDdl(schema: string, spec: CollectionSpec): string[] {
  const table = `${schema}.${escapeIdentifier(spec.table)}`;
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (id text COLLATE "C" NOT NULL, doc jsonb NOT NULL, CONSTRAINT ${escapeIdentifier(shortName(spec.table, 'pk', ''))} PRIMARY KEY (id))`,
    ...[...spec.paths].map(([field, path]) => {
      const { rank, num, txt } = sortKeySql(path);
      return `CREATE INDEX IF NOT EXISTS ${escapeIdentifier(shortName(spec.table, 'ix', field))} ON ${table} (${rank}, ${num}, ${txt}, id)`;
    }),
  ];
}

/**
 * The expressions of a field's sort key (see `SortKey`): its rank by `jsonb_typeof`, its
 * value as `numeric` when it is a number (so numbers compare numerically, never as text), and
 * as text `COLLATE "C"` (bytes of UTF-8, i.e. code point order) when it is a string or a
 * boolean; 0 and '' otherwise, so that no part is ever NULL and row comparisons hold.
 */
function sortKeySql(path: readonly string[]): { rank: string; num: string; txt: string } {
  const literal = `'{${path.map((s) => `"${s}"`).join(',')}}'`;
  const value = `(doc #> ${literal})`;
  return {
    rank: `(CASE jsonb_typeof${value} WHEN 'boolean' THEN 1 WHEN 'number' THEN 2 WHEN 'string' THEN 3 WHEN 'array' THEN 4 WHEN 'object' THEN 4 ELSE 0 END)`,
    num: `(CASE WHEN jsonb_typeof${value} = 'number' THEN ${value}::numeric ELSE 0 END)`,
    txt: `(CASE WHEN jsonb_typeof${value} IN ('string', 'boolean') THEN doc #>> ${literal} ELSE '' END COLLATE "C")`,
  };
}

/** The parameters a sort key compares with, as {@link sortKeySql}'s rank, num and txt. */
function keyParams(key: SortKey): [number, number, string] {
  return [key.rank, key.rank === 2 ? key.num : 0, key.rank === 1 || key.rank === 3 ? key.str : ''];
}

/**
 * {@link Documents} on PostgreSQL: one table per collection in the store's schema, named as
 * the build's tables, holding `jsonb`, with an expression index per declared field.
 * Statements are parameterised and prepared (named) per connection; they run on the
 * transaction's client in `setup` and `apply`, and on a pooled one in queries, where a table
 * not created yet reads as empty.
 */
export class PostgresDocuments<T> implements Documents<T> {
  private readonly table: string;
  /** This collection's buffer in the transaction, once looked up (see {@link buffer}). */
  private ownBuffer: DocumentWriteBuffer | undefined;
  /** Writes this collection's buffer out; made once, so a lookup allocates nothing. */
  private readonly flushBuffer = (buffer: DocumentWriteBuffer): Promise<void> => this.flush(buffer);
  /** Set once `ensure` has succeeded here: the collection exists in the transaction. */
  private ensured = false;

  constructor(
    private readonly spec: CollectionSpec,
    private readonly ctx: PostgresDocumentsContext,
  ) {
    this.table = `${ctx.schema}.${escapeIdentifier(spec.table)}`;
  }

  get name(): string {
    return this.spec.name;
  }

  get indexes(): readonly string[] {
    return this.spec.indexes;
  }

  get(id: string): Promise<T | undefined> {
    return this.run(
      'read a document',
      async () => {
        checkDocumentId(this.spec, id);
        const known = this.buffer()?.lookup(id);
        if (known !== undefined) return known === null ? undefined : (JSON.parse(known) as T);
        const { rows } = await this.query<{ doc: T }>(
          `SELECT doc FROM ${this.table} WHERE id = $1`,
          [id],
        );
        return rows[0]?.doc;
      },
      () => undefined,
    );
  }

  getMany(ids: readonly string[]): Promise<(T | undefined)[]> {
    return this.run(
      'read documents',
      async () => {
        checkDocumentIds(this.spec, ids);
        if (ids.length === 0) return [];
        const buffer = this.buffer();
        const found = new Map<string, T | undefined>();
        const unknown: string[] = [];
        for (const id of ids) {
          const known = buffer?.lookup(id);
          if (known === undefined) unknown.push(id);
          else found.set(id, known === null ? undefined : (JSON.parse(known) as T));
        }
        if (unknown.length > 0) {
          const { rows } = await this.query<{ id: string; doc: T }>(
            `SELECT id, doc FROM ${this.table} WHERE id = ANY($1::text[])`,
            [unknown],
          );
          for (const r of rows) found.set(r.id, r.doc);
        }
        return ids.map((id) => found.get(id));
      },
      () => ids.map(() => undefined),
    );
  }

  put(id: string, document: T): Promise<void> {
    // Buffered, once the collection is known to exist in the transaction: the write is a
    // few map operations, done at once, with one promise, and none of the chain below.
    if (this.ensured && this.ctx.writes !== undefined && this.ctx.active?.() === true) {
      try {
        checkDocumentId(this.spec, id);
        const json = encodeDocument(this.spec, id, document);
        (this.buffer() as DocumentWriteBuffer).write(id, json);
        return Promise.resolve();
      } catch (error) {
        // As `run` reports a failed write: a document's own getter or toJSON may throw.
        if (error instanceof CausewayError) return Promise.reject(error);
        return Promise.reject(
          this.ctx.closed() ? new StoreClosedError() : this.failure('put', error),
        );
      }
    }
    return this.write('put', async () => {
      checkDocumentId(this.spec, id);
      await this.putNow(id, encodeDocument(this.spec, id, document));
    });
  }

  patch(id: string, patch: DocumentPatch<T>): Promise<T | undefined> {
    return this.write('patch', async () => {
      checkDocumentId(this.spec, id);
      checkPatch(this.spec, id, patch);
      let current: unknown;
      const known = this.buffer()?.lookup(id);
      if (known !== undefined) current = known === null ? undefined : JSON.parse(known);
      else {
        const { rows } = await this.query<{ doc: unknown }>(
          `SELECT doc FROM ${this.table} WHERE id = $1 FOR UPDATE`,
          [id],
        );
        current = rows[0]?.doc;
      }
      if (current === undefined) return undefined;
      const json = encodeDocument(this.spec, id, mergePatch(current, patch));
      await this.putNow(id, json);
      return JSON.parse(json) as T;
    });
  }

  delete(id: string): Promise<boolean> {
    return this.write('delete', async () => {
      checkDocumentId(this.spec, id);
      const buffer = this.buffer();
      const known = buffer?.lookup(id);
      if (buffer && known !== undefined) {
        buffer.write(id, null);
        return known !== null;
      }
      // Whether there was one is only known by asking: the delete itself asks.
      const result = await this.query(`DELETE FROM ${this.table} WHERE id = $1`, [id]);
      buffer?.known(id, null);
      return (result.rowCount ?? 0) > 0;
    });
  }

  find(query?: DocumentQuery): Promise<DocumentPage<T>> {
    return this.run(
      'find documents',
      async () => {
        await this.flushOwn();
        const { conditions, order, limit, after } = parseDocumentQuery(this.spec, query);
        const sql = new SqlBuilder();
        const clauses = whereSql(sql, conditions);
        if (after) clauses.push(keysetSql(sql, order, after));
        const { rows } = await this.query<{ id: string; doc: T }>(
          `SELECT id, doc FROM ${this.table}${whereClause(clauses)} ORDER BY ${orderSql(order)} LIMIT ${sql.param(limit + 1)}`,
          sql.values,
        );
        const items: DocumentEntry<T>[] = rows
          .slice(0, limit)
          .map((r) => ({ id: r.id, document: r.doc }));
        const last = items[items.length - 1];
        return rows.length > limit && last
          ? { items, next: encodeCursor(order, last.id, last.document) }
          : { items };
      },
      () => ({ items: [] }),
    );
  }

  count(where?: DocumentWhere): Promise<number> {
    return this.run(
      'count documents',
      async () => {
        await this.flushOwn();
        const sql = new SqlBuilder();
        const clauses = whereSql(sql, parseWhere(this.spec, where));
        const { rows } = await this.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${this.table}${whereClause(clauses)}`,
          sql.values,
        );
        return Number(rows[0]?.n ?? 0);
      },
      () => 0,
    );
  }

  /** Writes the document, into the transaction's buffer when there is one. */
  private async putNow(id: string, json: string): Promise<void> {
    const buffer = this.buffer();
    if (buffer) {
      buffer.write(id, json);
      return;
    }
    await this.query(
      `INSERT INTO ${this.table} (id, doc) VALUES ($1, $2::jsonb) ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc`,
      [id, json],
    );
  }

  /** This collection's buffer in the transaction, when the handle buffers writes. */
  private buffer(): DocumentWriteBuffer | undefined {
    // The handle's buffers belong to one transaction: this collection's never changes.
    if (this.ownBuffer === undefined && this.ctx.writes)
      this.ownBuffer = this.ctx.writes.buffer(this.spec.table, this.flushBuffer);
    return this.ownBuffer;
  }

  /** Writes out this collection's buffered writes, before a query that reads the table. */
  private async flushOwn(): Promise<void> {
    const buffer = this.buffer();
    if (buffer?.pending) await this.flush(buffer);
  }

  /**
   * Writes out a buffer in one statement, one round trip: the upserts as arrays through
   * `unnest`, the deletes (if any) by id in a data-modifying CTE of the same statement. Each
   * id is in one of the two lists at most, so their order does not matter.
   */
  private async flush(buffer: DocumentWriteBuffer): Promise<void> {
    const { upsertIds, upsertDocs, deleteIds } = buffer.take();
    const upsert = `INSERT INTO ${this.table} (id, doc) SELECT * FROM unnest($1::text[], $2::jsonb[]) ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc`;
    try {
      if (deleteIds.length === 0) await this.query(upsert, [upsertIds, upsertDocs]);
      else if (upsertIds.length === 0)
        await this.query(`DELETE FROM ${this.table} WHERE id = ANY($1::text[])`, [deleteIds]);
      else
        await this.query(
          `WITH gone AS (DELETE FROM ${this.table} WHERE id = ANY($3::text[])) ${upsert}`,
          [upsertIds, upsertDocs, deleteIds],
        );
    } catch (error) {
      if (error instanceof CausewayError) throw error;
      throw this.failure('write', error);
    }
  }

  /** A parameterised statement, prepared once per connection under a name made from its text. */
  private query<R extends QueryResultRow = QueryResultRow>(text: string, values: unknown[]) {
    const name = `causeway.documents.${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    return this.ctx.client.query<R>({ name, text, values });
  }

  /** Runs a write in `setup`/`apply`; refused in queries. */
  private async write<R>(operation: string, work: () => Promise<R>): Promise<R> {
    if (!this.ctx.ensure) throw new DocumentsReadOnlyError(this.spec.name, operation);
    return this.run(operation, work, work);
  }

  /**
   * Runs `work`, after creating the collection when writing; in a query, a collection whose
   * table does not exist (never written) answers `empty()`, unless the build was dropped
   * meanwhile, which the projector retries on the serving build.
   */
  private async run<R>(
    operation: string,
    work: () => Promise<R>,
    empty: () => R | Promise<R>,
  ): Promise<R> {
    try {
      if (this.ctx.ensure) {
        // Made sure of once; past that, only whether the transaction still runs.
        if (!this.ensured || this.ctx.active?.() !== true) await this.ctx.ensure(this.spec);
        this.ensured = true;
      } else if (this.ctx.closed()) throw new StoreClosedError();
      return await work();
    } catch (error) {
      if (error instanceof CausewayError) throw error;
      if (this.ctx.closed()) throw new StoreClosedError();
      if (!this.ctx.ensure && isUndefinedTable(error)) {
        let registered: boolean;
        try {
          registered = await this.ctx.registered();
        } catch (failure) {
          throw this.failure(operation, failure);
        }
        if (registered) return empty();
        throw new StoreUnavailableError(
          `PostgreSQL documents: collection "${this.spec.name}" was dropped with its build (${messageOf(error)})`,
          error,
        );
      }
      throw this.failure(operation, error);
    }
  }

  private failure(operation: string, error: unknown): Error {
    // A trigger or CHECK refusing the document, a full disk, a lock timeout: typed by SQLSTATE.
    return postgresComponentError(
      `documents ${operation} in collection "${this.spec.name}"`,
      error,
      this.ctx.closed(),
    );
  }
}

/** Whether a driver error says a table is missing. */
export function isUndefinedTable(error: unknown): boolean {
  return error instanceof DatabaseError && error.code === '42P01';
}

/**
 * A name for an index or a constraint of `table` that fits PostgreSQL's 63 bytes:
 * `<table, cut>__<kind>_<hash of the table and field>`, unique to both.
 */
function shortName(table: string, kind: string, field: string): string {
  const hash = createHash('sha256').update(`${table}\u0000${field}`).digest('hex').slice(0, 12);
  const room = MAX_IDENTIFIER_BYTES - kind.length - hash.length - 3;
  return `${table.slice(0, room)}__${kind}_${hash}`;
}

/** Numbered parameters, collected as a statement is written. */
class SqlBuilder {
  readonly values: unknown[] = [];

  param(value: unknown, type?: string): string {
    this.values.push(value);
    return type ? `$${this.values.length}::${type}` : `$${this.values.length}`;
  }
}

function whereSql(sql: SqlBuilder, conditions: readonly DocumentCondition[]): string[] {
  const clauses: string[] = [];
  for (const c of conditions) {
    if (c.path === undefined) {
      clauses.push(
        c.op === 'in'
          ? `id = ANY(${sql.param(
              c.keys.map((k) => k.str),
              'text[]',
            )})`
          : `id ${SQL_OPERATOR[c.op]} ${sql.param((c.keys[0] as SortKey).str, 'text')}`,
      );
      continue;
    }
    const { rank, num, txt } = sortKeySql(c.path);
    if (c.op === 'in') {
      const params = c.keys.map(keyParams);
      clauses.push(
        `(${rank}, ${num}, ${txt}) IN (SELECT * FROM unnest(${sql.param(
          params.map((p) => p[0]),
          'int[]',
        )}, ${sql.param(
          params.map((p) => p[1]),
          'numeric[]',
        )}, ${sql.param(
          params.map((p) => p[2]),
          'text[]',
        )}))`,
      );
      continue;
    }
    const [r, n, t] = keyParams(c.keys[0] as SortKey);
    clauses.push(
      c.op === 'eq'
        ? `${rank} = ${sql.param(r, 'int')} AND ${num} = ${sql.param(n, 'numeric')} AND ${txt} = ${sql.param(t, 'text')}`
        : `${rank} = ${sql.param(r, 'int')} AND (${num}, ${txt}) ${SQL_OPERATOR[c.op]} (${sql.param(n, 'numeric')}, ${sql.param(t, 'text')})`,
    );
  }
  return clauses;
}

function keysetSql(sql: SqlBuilder, order: DocumentOrdering, after: DocumentCursor): string {
  const op = order.descending ? '<' : '>';
  if (order.path === undefined || !after.key) return `id ${op} ${sql.param(after.id, 'text')}`;
  const { rank, num, txt } = sortKeySql(order.path);
  const [r, n, t] = keyParams(after.key);
  return `(${rank}, ${num}, ${txt}, id) ${op} (${sql.param(r, 'int')}, ${sql.param(n, 'numeric')}, ${sql.param(t, 'text')}, ${sql.param(after.id, 'text')})`;
}

function orderSql(order: DocumentOrdering): string {
  const dir = order.descending ? 'DESC' : 'ASC';
  if (order.path === undefined) return `id ${dir}`;
  const { rank, num, txt } = sortKeySql(order.path);
  return `${rank} ${dir}, ${num} ${dir}, ${txt} ${dir}, id ${dir}`;
}

function whereClause(clauses: readonly string[]): string {
  return clauses.length === 0 ? '' : ` WHERE ${clauses.join(' AND ')}`;
}

const SQL_OPERATOR = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
