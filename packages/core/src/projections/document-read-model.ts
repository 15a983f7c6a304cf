import type { DocumentsHandle } from './documents.js';

/**
 * A collection of JSON documents keyed by string id: the read model of projections kept in
 * memory (see `memoryProjectionStore`). Documents are copied in and out, so a caller never
 * holds the stored object. Listing is in id order, so two builds compare equal when they hold
 * the same documents.
 */
export interface DocumentCollection<T = unknown> {
  /** The document with this id, or undefined. */
  get(id: string): T | undefined;
  has(id: string): boolean;
  /** Stores `document` under `id`, replacing any. Only in `setup` and `apply`. */
  put(id: string, document: T): void;
  /**
   * Stores what `change` returns for the current document (undefined if none), and returns it.
   * Only in `setup` and `apply`.
   */
  update(id: string, change: (current: T | undefined) => T): T;
  /** Removes the document; true if there was one. Only in `setup` and `apply`. */
  delete(id: string): boolean;
  /** The documents (those `filter` accepts, if given), in id order. */
  find(filter?: (document: T, id: string) => boolean): T[];
  /** Every id, in order. */
  ids(): string[];
  count(): number;
}

/**
 * The read-model handle of in-memory projections. Writes made in `setup` and `apply` belong
 * to their transaction: they show to readers when it commits, and vanish if it rolls back.
 *
 * Two APIs reach the same collections: `collection(name)`, synchronous, and
 * `documents(name, { indexes })` ({@link DocumentsHandle}), the asynchronous one that SQLite
 * and PostgreSQL offer too, with indexed queries and pagination. A projection written against
 * `documents()` runs unchanged on any adapter.
 *
 * @example
 * ```ts
 * const totals = defineProjection<DocumentReadModel>({
 *   name: 'order-totals',
 *   version: 1,
 *   handles: ['order.placed'],
 *   setup: (rm) => void rm.collection(),
 *   apply: (event, rm) => {
 *     rm.collection<{ total: number }>().update(event.stream, (t) => ({
 *       total: (t?.total ?? 0) + (event.data as { total: number }).total,
 *     }));
 *   },
 * });
 * ```
 */
export interface DocumentReadModel extends DocumentsHandle {
  /** The version of the build this handle reads or writes. */
  readonly version: number;
  /**
   * The collection `name` of this build (its default collection without a name). Collections
   * of different builds, versions and projections never mix.
   */
  collection<T = unknown>(name?: string): DocumentCollection<T>;
}
