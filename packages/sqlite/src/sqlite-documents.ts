import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
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
import { sqliteCall, sqliteError } from './sqlite-errors.js';
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

/** Where a {@link SqliteDocuments} runs its statements, and what it may do there. */
export interface SqliteDocumentsContext {
  /** The transaction's connection (`setup`/`apply`) or the store's (queries). */
  readonly database: Database.Database;
  /** Prepares a statement on `database`, once per connection. */
  prepare(sql: string): Database.Statement;
  /**
   * In `setup`/`apply`: throws unless the transaction is still active, and creates the
   * collection's table and indexes if this transaction has not yet. Undefined in queries,
   * which never write.
   */
  readonly ensure: ((spec: CollectionSpec) => void) | undefined;
  /**
   * In `apply` of a buffered handle: the transaction's held-back writes, where this
   * collection's go until they are flushed. Undefined elsewhere: writes go straight to the table.
   */
  readonly writes?: TransactionWriteBuffers | undefined;
  /** In queries: whether the build read is still registered (else its tables were dropped). */
  registered(): boolean;
  /** Whether the store has been closed. */
  closed(): boolean;
}

/**
 * The SQL of a collection's table and indexes: `id TEXT PRIMARY KEY` and `doc`, the document's
 * JSON text (checked by `json_valid`), and for each declared index one index on the
 * expressions `find` filters and sorts by (see {@link sortKeySql}), then the id.
 */
export function collectionDdl(spec: CollectionSpec): { table: string; indexes: string[] } {
  const table = quote(spec.table);
  return {
    table: `CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL CHECK (json_valid(doc)))`,
    indexes: [...spec.paths].map(([field, path]) => {
      const { rank, value } = sortKeySql(path);
      return `CREATE INDEX IF NOT EXISTS ${quote(indexName(spec.table, field))} ON ${table} (${rank}, ${value}, id)`;
    }),
  };
}

/**
 * The expressions of a field's sort key (see `SortKey`): its rank by JSON type, and its value
 * as `json_extract` gives it, which keeps JSON types apart (INTEGER/REAL for numbers, TEXT for
 * strings compared byte by byte, i.e. by code point), with booleans as 1/0 and 0 for the rest.
 */
function sortKeySql(path: readonly string[]): { rank: string; value: string } {
  const p = `'$.${path.join('.')}'`;
  return {
    rank: `(CASE json_type(doc, ${p}) WHEN 'true' THEN 1 WHEN 'false' THEN 1 WHEN 'integer' THEN 2 WHEN 'real' THEN 2 WHEN 'text' THEN 3 WHEN 'array' THEN 4 WHEN 'object' THEN 4 ELSE 0 END)`,
    value: `(CASE WHEN json_type(doc, ${p}) IN ('true', 'false', 'integer', 'real', 'text') THEN json_extract(doc, ${p}) ELSE 0 END)`,
  };
}

/** The parameter a sort key compares with, as {@link sortKeySql}'s value. */
function valueParam(key: SortKey): number | string {
  return key.rank === 3 ? key.str : key.num;
}

/**
 * {@link Documents} on SQLite: one table per collection, named as the build's tables, holding
 * JSON text, with an expression index per declared field. Statements run on the transaction's
 * connection in `setup` and `apply`, and on the store's in queries, where a table not created
 * yet reads as empty.
 */
export class SqliteDocuments<T> implements Documents<T> {
  private readonly table: string;
  /**
   * The statements of one document, their text made once: a write or read of one document
   * outside a buffer (in `setup`, or a query) then finds its cached statement by the same
   * string, whose hash is already known, instead of building and hashing a new one per call.
   */
  private readonly oneDocument: { get: string; upsert: string; delete: string };
  /** This collection's buffer in the transaction, once looked up (see {@link buffer}). */
  private ownBuffer: DocumentWriteBuffer | undefined;
  /** Writes this collection's buffer out; made once, so a lookup allocates nothing. */
  private readonly flushBuffer = (buffer: DocumentWriteBuffer): void => this.flush(buffer);

  constructor(
    private readonly spec: CollectionSpec,
    private readonly ctx: SqliteDocumentsContext,
  ) {
    this.table = quote(spec.table);
    this.oneDocument = {
      get: `SELECT doc FROM ${this.table} WHERE id = ?`,
      upsert: `INSERT INTO ${this.table} (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`,
      delete: `DELETE FROM ${this.table} WHERE id = ?`,
    };
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
      () => {
        checkDocumentId(this.spec, id);
        return this.getNow(id);
      },
      () => undefined,
    );
  }

  getMany(ids: readonly string[]): Promise<(T | undefined)[]> {
    return this.run(
      'read documents',
      () => {
        checkDocumentIds(this.spec, ids);
        if (ids.length === 0) return [];
        const buffer = this.buffer();
        const found = new Map<string, string | null>();
        const unknown: string[] = [];
        for (const id of ids) {
          const known = buffer?.lookup(id);
          if (known === undefined) unknown.push(id);
          else found.set(id, known);
        }
        if (unknown.length > 0) {
          const rows = this.statement(
            `SELECT id, doc FROM ${this.table} WHERE id IN (SELECT value FROM json_each(?))`,
          ).all(JSON.stringify(unknown)) as { id: string; doc: string }[];
          for (const r of rows) found.set(r.id, r.doc);
        }
        return ids.map((id) => {
          const doc = found.get(id);
          return doc === undefined || doc === null ? undefined : (JSON.parse(doc) as T);
        });
      },
      () => ids.map(() => undefined),
    );
  }

  put(id: string, document: T): Promise<void> {
    return this.write('put', () => {
      checkDocumentId(this.spec, id);
      this.putNow(id, encodeDocument(this.spec, id, document));
    });
  }

  patch(id: string, patch: DocumentPatch<T>): Promise<T | undefined> {
    return this.write('patch', () => {
      checkDocumentId(this.spec, id);
      checkPatch(this.spec, id, patch);
      const current = this.getNow(id);
      if (current === undefined) return undefined;
      const json = encodeDocument(this.spec, id, mergePatch(current, patch));
      this.putNow(id, json);
      return JSON.parse(json) as T;
    });
  }

  delete(id: string): Promise<boolean> {
    return this.write('delete', () => {
      checkDocumentId(this.spec, id);
      const buffer = this.buffer();
      const known = buffer?.lookup(id);
      if (buffer && known !== undefined) {
        buffer.write(id, null);
        return known !== null;
      }
      // Whether there was one is only known by asking: the delete itself asks.
      const deleted = this.statement(this.oneDocument.delete).run(id).changes > 0;
      buffer?.known(id, null);
      return deleted;
    });
  }

  find(query?: DocumentQuery): Promise<DocumentPage<T>> {
    return this.run(
      'find documents',
      () => {
        this.flushOwn();
        const { conditions, order, limit, after } = parseDocumentQuery(this.spec, query);
        const where = whereSql(conditions);
        // Each tier of the keyset is one index range, read in order until the page is full.
        const rows: { id: string; doc: string }[] = [];
        const tiers = after
          ? keysetTiers(order, after)
          : [{ clauses: [], params: [], orderBy: orderSql(order) }];
        for (const tier of tiers) {
          if (rows.length > limit) break;
          rows.push(
            ...(this.statement(
              `SELECT id, doc FROM ${this.table}${whereClause([...where.clauses, ...tier.clauses])} ORDER BY ${tier.orderBy} LIMIT ?`,
            ).all(...where.params, ...tier.params, limit + 1 - rows.length) as {
              id: string;
              doc: string;
            }[]),
          );
        }
        const items: DocumentEntry<T>[] = rows
          .slice(0, limit)
          .map((r) => ({ id: r.id, document: JSON.parse(r.doc) as T }));
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
      () => {
        this.flushOwn();
        const sql = whereSql(parseWhere(this.spec, where));
        const row = this.statement(
          `SELECT count(*) AS n FROM ${this.table}${whereClause(sql.clauses)}`,
        ).get(...sql.params) as { n: number };
        return row.n;
      },
      () => 0,
    );
  }

  /** The document, from the transaction's buffer when it knows it, else from the table. */
  private getNow(id: string): T | undefined {
    const known = this.buffer()?.lookup(id);
    if (known !== undefined) return known === null ? undefined : (JSON.parse(known) as T);
    const row = this.statement(this.oneDocument.get).get(id) as { doc: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.doc) as T);
  }

  /** Writes the document, into the transaction's buffer when there is one. */
  private putNow(id: string, json: string): void {
    const buffer = this.buffer();
    if (buffer) buffer.write(id, json);
    else this.upsert().run(id, json);
  }

  /** This collection's buffer in the transaction, when the handle buffers writes. */
  private buffer(): DocumentWriteBuffer | undefined {
    // The handle's buffers belong to one transaction: this collection's never changes.
    if (this.ownBuffer === undefined && this.ctx.writes)
      this.ownBuffer = this.ctx.writes.buffer(this.spec.table, this.flushBuffer);
    return this.ownBuffer;
  }

  /** Writes out this collection's buffered writes, before a query that reads the table. */
  private flushOwn(): void {
    const buffer = this.buffer();
    if (buffer?.pending) this.flush(buffer);
  }

  /**
   * Writes out a buffer: a cached one-row upsert run for each document (measured faster than
   * multi-row VALUES statements on SQLite, which runs statements in process: nothing to save
   * in round trips, more to parse), and the deletes by a JSON list of ids.
   */
  private flush(buffer: DocumentWriteBuffer): void {
    const { upsertIds, upsertDocs, deleteIds } = buffer.take();
    try {
      if (deleteIds.length > 0)
        this.statement(
          `DELETE FROM ${this.table} WHERE id IN (SELECT value FROM json_each(?))`,
        ).run(JSON.stringify(deleteIds));
      if (upsertIds.length === 0) return;
      const upsert = this.upsert();
      for (let i = 0; i < upsertIds.length; i++) upsert.run(upsertIds[i], upsertDocs[i]);
    } catch (error) {
      if (error instanceof CausewayError) throw error;
      if (this.ctx.closed()) throw new StoreClosedError();
      throw sqliteError(`documents write in collection "${this.spec.name}"`, error);
    }
  }

  /** The upsert of one document, prepared once per connection. */
  private upsert(): Database.Statement {
    return this.statement(this.oneDocument.upsert);
  }

  private statement(sql: string): Database.Statement {
    return this.ctx.prepare(sql);
  }

  /**
   * Runs a write in `setup`/`apply`; refused in queries. At most one promise per call, none
   * made for a write that answers nothing: a buffered `put` is a few map operations, and a
   * promise that resolves to another costs more ticks of the event loop than the write.
   */
  private write<R>(operation: string, work: () => R): Promise<R> {
    if (!this.ctx.ensure)
      return Promise.reject(new DocumentsReadOnlyError(this.spec.name, operation));
    return this.run(operation, work, work);
  }

  /**
   * Runs `work`, after creating the collection when writing; in a query, a collection whose
   * table does not exist (never written) answers `empty()`, unless the build was dropped
   * meanwhile, which the projector retries on the serving build. Failures reject, never throw.
   */
  private run<R>(operation: string, work: () => R, empty: () => R): Promise<R> {
    let value: R;
    try {
      if (this.ctx.ensure) this.ctx.ensure(this.spec);
      else if (this.ctx.closed()) throw new StoreClosedError();
      value = work();
    } catch (error) {
      try {
        value = this.recover(operation, error, empty);
      } catch (refused) {
        return Promise.reject(refused instanceof Error ? refused : new Error(String(refused)));
      }
    }
    // A write answers nothing: one settled promise serves them all (a put is a few map
    // operations; a promise of its own, with its executor, was most of what it allocated).
    return value === undefined ? (SETTLED as Promise<R>) : Promise.resolve(value);
  }

  /** What a failed `work` of {@link run} answers instead, or the typed error it throws. */
  private recover<R>(operation: string, error: unknown, empty: () => R): R {
    if (error instanceof CausewayError) throw error;
    if (!this.ctx.ensure && isNoSuchTable(error)) {
      if (this.ctx.closed()) throw new StoreClosedError();
      if (sqliteCall(`documents ${operation}`, () => this.ctx.registered())) return empty();
      throw new StoreUnavailableError(
        `SQLite documents: collection "${this.spec.name}" was dropped with its build (no such table)`,
        error,
      );
    }
    if (this.ctx.closed()) throw new StoreClosedError();
    // A trigger or CHECK refusing the document, a full or busy database: typed by its code.
    throw sqliteError(`documents ${operation} in collection "${this.spec.name}"`, error);
  }
}

/** The answer of every write that succeeded: settled once, shared (it holds nothing). */
const SETTLED: Promise<undefined> = Promise.resolve(undefined);

/** Whether a driver error says a table is missing. */
export function isNoSuchTable(error: unknown): boolean {
  return error instanceof Error && /no such table/i.test(error.message);
}

/** The name of the index of `field` on `table`: `<table>__ix_<hash>`, unique to both. */
function indexName(table: string, field: string): string {
  const hash = createHash('sha256').update(`${table}\u0000${field}`).digest('hex').slice(0, 12);
  return `${table}__ix_${hash}`;
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

interface SqlParts {
  clauses: string[];
  params: (string | number)[];
}

/** One range of a keyset, and the order to read it in. */
interface Tier extends SqlParts {
  orderBy: string;
}

function whereSql(conditions: readonly DocumentCondition[]): SqlParts {
  const parts: SqlParts = { clauses: [], params: [] };
  for (const c of conditions) {
    if (c.path === undefined) {
      if (c.op === 'in') {
        parts.clauses.push('id IN (SELECT value FROM json_each(?))');
        parts.params.push(JSON.stringify(c.keys.map((k) => k.str)));
      } else {
        parts.clauses.push(`id ${SQL_OPERATOR[c.op]} ?`);
        parts.params.push((c.keys[0] as SortKey).str);
      }
      continue;
    }
    const { rank, value } = sortKeySql(c.path);
    if (c.op === 'in') {
      parts.clauses.push(
        `(${rank}, ${value}) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`,
      );
      parts.params.push(JSON.stringify(c.keys.map((k) => [k.rank, valueParam(k)])));
    } else {
      const key = c.keys[0] as SortKey;
      parts.clauses.push(`${rank} = ? AND ${value} ${SQL_OPERATOR[c.op]} ?`);
      parts.params.push(key.rank, valueParam(key));
    }
  }
  return parts;
}

/**
 * What comes after a cursor, as ranges that each match an index: same key and a later id,
 * then the same rank and a later value, then a later rank. SQLite does not search an
 * expression index with a row-value comparison (it scans it whole), but does each of these.
 */
function keysetTiers(order: DocumentOrdering, after: DocumentCursor): Tier[] {
  const op = order.descending ? '<' : '>';
  const dir = order.descending ? 'DESC' : 'ASC';
  if (order.path === undefined || !after.key)
    return [{ clauses: [`id ${op} ?`], params: [after.id], orderBy: `id ${dir}` }];
  const { rank, value } = sortKeySql(order.path);
  const r = after.key.rank;
  const v = valueParam(after.key);
  // Each tier orders by what it leaves free: SQLite then reads its index range in order.
  return [
    {
      clauses: [`${rank} = ?`, `${value} = ?`, `id ${op} ?`],
      params: [r, v, after.id],
      orderBy: `id ${dir}`,
    },
    {
      clauses: [`${rank} = ?`, `${value} ${op} ?`],
      params: [r, v],
      orderBy: `${value} ${dir}, id ${dir}`,
    },
    { clauses: [`${rank} ${op} ?`], params: [r], orderBy: orderSql(order) },
  ];
}

function orderSql(order: DocumentOrdering): string {
  const dir = order.descending ? 'DESC' : 'ASC';
  if (order.path === undefined) return `id ${dir}`;
  const { rank, value } = sortKeySql(order.path);
  return `${rank} ${dir}, ${value} ${dir}, id ${dir}`;
}

function whereClause(clauses: readonly string[]): string {
  return clauses.length === 0 ? '' : ` WHERE ${clauses.join(' AND ')}`;
}

const SQL_OPERATOR = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
