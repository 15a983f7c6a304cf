/**
 * A JSON scalar, as `where` clauses compare it with a document's field. `null` matches a
 * field that is null or absent.
 */
export type DocumentScalar = string | number | boolean | null;

/**
 * The conditions on one field of a `where` clause, all of which must hold.
 *
 * - `eq`, `in`: the field equals the value (one of the values). A number matches only numbers,
 *   a string only strings, and so on: `1` never equals `'1'` or `true`.
 * - `gt`, `gte`, `lt`, `lte`: numbers compare numerically, strings by Unicode code point (the
 *   order of `Intl`-free binary comparison, the same on every adapter); a range only matches
 *   fields of its operand's type. Give all the bounds on one field the same type.
 */
export interface DocumentFieldCondition {
  eq?: DocumentScalar;
  in?: readonly DocumentScalar[];
  gt?: number | string;
  gte?: number | string;
  lt?: number | string;
  lte?: number | string;
}

/**
 * What documents to find: field path (`status`, `customer.city`) → a scalar it must equal, or
 * a {@link DocumentFieldCondition}. Every path must be one of the collection's declared
 * indexes, or `id` (the document id, always indexed). Conditions on several fields must all
 * hold.
 */
export type DocumentWhere = Readonly<Record<string, DocumentScalar | DocumentFieldCondition>>;

/** Ascending or descending. */
export type DocumentSortDirection = 'asc' | 'desc';

/** The order of a {@link DocumentQuery}: an indexed field (or `id`) and a direction. */
export interface DocumentOrder {
  field: string;
  /** Default `'asc'`. */
  direction?: DocumentSortDirection;
}

/**
 * One page of a search. Pages are read with keyset pagination: pass the `next` cursor of a
 * page as `after` to read the following one, with the same `orderBy`.
 *
 * **Order.** By the field given (`orderBy`, default `id`), then by id to break ties, so the
 * order is total. Values of a field are ordered by type first: absent or null, then `false`,
 * `true`, then numbers (numerically), then strings (by Unicode code point), then arrays and
 * objects (which tie among themselves, and go by id). Ids are ordered by code point too.
 * `'desc'` reverses all of it.
 */
export interface DocumentQuery {
  /** Which documents (default all). */
  where?: DocumentWhere;
  /** A declared index or `id` (default `id`, ascending). */
  orderBy?: string | DocumentOrder;
  /** At most this many documents, from 1 to {@link MAX_DOCUMENT_PAGE_SIZE} (default {@link DEFAULT_DOCUMENT_PAGE_SIZE}). */
  limit?: number;
  /**
   * The `next` cursor of the previous page. A page continues strictly after the last document
   * of the previous one in the query's order, so concurrent inserts and deletes never make a
   * walk through the pages skip or repeat a document that stays (and keeps its sort value).
   */
  after?: string;
}

/** A document and its id. */
export interface DocumentEntry<T> {
  id: string;
  document: T;
}

/** What {@link Documents.find} returns. */
export interface DocumentPage<T> {
  /** The documents of this page, in the query's order. */
  items: DocumentEntry<T>[];
  /** The cursor of the next page (pass it as `after`); absent on the last page. */
  next?: string;
}

/**
 * A JSON merge patch (RFC 7396) of a `T`: members to set, recursively for objects, and `null`
 * for members to remove. Arrays and scalars replace what was there.
 */
export type DocumentPatch<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DocumentPatch<T[K]> | null }
    : T;

/**
 * A collection of JSON documents keyed by id, in a projection's read model: the same API on
 * memory, SQLite (one table of JSON text, `json_extract` expression indexes) and PostgreSQL
 * (one table of `jsonb`, expression indexes), so a projection written against it runs on any
 * of them unchanged.
 *
 * In `setup` and `apply` a collection reads and writes in the projection's transaction: its
 * writes commit with the checkpoint (async) or the append (inline), or not at all, and the
 * reads see them. In `apply` the SQL adapters hold writes back, one last write per document,
 * and write them out once per batch, before the commit (`find` and `count` write them out
 * first). In queries it reads committed documents and refuses writes
 * (`DocumentsReadOnlyError`).
 *
 * Ids are strings of 1 to {@link MAX_DOCUMENT_ID_LENGTH} UTF-16 code units, well-formed
 * Unicode, without NUL (`InvalidDocumentIdError`). Documents are JSON values (plain objects,
 * arrays, strings, finite numbers, booleans, null) whose strings and keys are well-formed
 * Unicode without NUL, and whose indexed strings are at most {@link MAX_INDEXED_STRING_BYTES}
 * bytes of UTF-8 (`InvalidDocumentError`). They are copied in and out.
 *
 * @example
 * ```ts
 * const orders = rm.documents<Order>('orders', { indexes: ['status', 'total'] });
 * await orders.put('order-1', { status: 'placed', total: 30 });
 * await orders.patch('order-1', { status: 'paid' });
 * const { items, next } = await orders.find({
 *   where: { status: 'paid', total: { gte: 10 } },
 *   orderBy: { field: 'total', direction: 'desc' },
 *   limit: 50,
 * });
 * ```
 */
export interface Documents<T = unknown> {
  /** The collection's name, as given to `documents()`. */
  readonly name: string;
  /** The declared indexes (field paths), as given to `documents()`. */
  readonly indexes: readonly string[];
  /** The document with this id, or undefined. */
  get(id: string): Promise<T | undefined>;
  /** The documents with these ids, in the same order (undefined where there is none). */
  getMany(ids: readonly string[]): Promise<(T | undefined)[]>;
  /** Stores `document` under `id`, replacing any. Only in `setup` and `apply`. */
  put(id: string, document: T): Promise<void>;
  /**
   * Applies a JSON merge patch (RFC 7396, deep: nested objects merge, `null` removes a
   * member, arrays and scalars replace) to the document with this id, and returns the new
   * document; undefined, and nothing written, when there is none. Only in `setup` and `apply`.
   */
  patch(id: string, patch: DocumentPatch<T>): Promise<T | undefined>;
  /** Removes the document; true if there was one. Only in `setup` and `apply`. */
  delete(id: string): Promise<boolean>;
  /**
   * One page of the documents `query.where` selects, in its order.
   *
   * @throws {UnindexedFieldError} for a field (in `where` or `orderBy`) not declared as an index.
   * @throws {InvalidDocumentQueryError} for a malformed query.
   * @throws {InvalidDocumentCursorError} for an `after` that is not a cursor of this order.
   */
  find(query?: DocumentQuery): Promise<DocumentPage<T>>;
  /** How many documents `where` selects (all without it). */
  count(where?: DocumentWhere): Promise<number>;
}

/** Options of {@link DocumentsHandle.documents}. */
export interface DocumentsOptions {
  /**
   * The fields that `find` and `count` may filter and sort on: paths of object members,
   * dotted for nested ones (`status`, `customer.address.city`), each segment letters, digits
   * and underscores, not starting with a digit. At most {@link MAX_DOCUMENT_INDEXES}; `id` is
   * always indexed and cannot be declared. Writes (in `setup`/`apply`) create an index for each
   * one missing, so declare the same indexes where the projection writes as where it queries.
   */
  indexes?: readonly string[];
}

/**
 * What a read-model handle offers to keep JSON documents: every adapter's handle
 * (`DocumentReadModel`, `SqliteReadModel`, `PostgresReadModel`) extends it.
 *
 * A collection is one table of the build, named like `rm.table(name)` (`order_totals_v1__orders`)
 * and dropped with the build; it is created, with its indexes, by its first write (or read) in
 * `setup` or `apply`. In a query, a collection never written reads as empty.
 *
 * @example
 * ```ts
 * const orderViews = defineProjection<DocumentsHandle>({
 *   name: 'order-views',
 *   version: 1,
 *   handles: ['order.placed', 'order.paid'],
 *   setup: () => undefined,
 *   apply: async (event, rm) => {
 *     const orders = rm.documents<Order>('orders', { indexes: ['status'] });
 *     if (event.type === 'order.placed') await orders.put(event.stream, { status: 'placed' });
 *     else await orders.patch(event.stream, { status: 'paid' });
 *   },
 * });
 * const { data } = await projector.query('order-views', (rm) =>
 *   rm.documents<Order>('orders', { indexes: ['status'] }).find({ where: { status: 'paid' } }),
 * );
 * ```
 */
export interface DocumentsHandle {
  /**
   * The collection `name` of this build: lowercase snake case of at most 20 characters, like
   * table names (`InvalidArgumentError` otherwise).
   */
  documents<T = unknown>(name: string, options?: DocumentsOptions): Documents<T>;
}

/** Longest document id, in UTF-16 code units. */
export const MAX_DOCUMENT_ID_LENGTH = 256;
/** Longest string value of an indexed field, in bytes of UTF-8. */
export const MAX_INDEXED_STRING_BYTES = 1024;
/** Most indexes a collection may declare. */
export const MAX_DOCUMENT_INDEXES = 16;
/** Page size of {@link Documents.find} when the query gives none. */
export const DEFAULT_DOCUMENT_PAGE_SIZE = 100;
/** Largest page size of {@link Documents.find}. */
export const MAX_DOCUMENT_PAGE_SIZE = 1000;
/** The name by which `where` and `orderBy` refer to the document id. */
export const DOCUMENT_ID_FIELD = 'id';
