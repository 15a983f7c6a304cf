import { decodeJson } from '../core/json-codec.js';
import {
  checkDocumentId,
  checkDocumentIds,
  checkPatch,
  encodeDocument,
  type CollectionSpec,
} from './document-collection.js';
import { DocumentsReadOnlyError } from './document-errors.js';
import {
  compareInOrder,
  encodeCursor,
  keyOf,
  meetsConditions,
  parseDocumentQuery,
  parseWhere,
  type DocumentCursor,
} from './document-query.js';
import type {
  DocumentEntry,
  DocumentPage,
  DocumentPatch,
  DocumentQuery,
  DocumentWhere,
  Documents,
} from './documents.js';
import { mergePatch } from './merge-patch.js';

/** The documents of one in-memory collection as a handle sees them. */
export interface MemoryDocumentSource {
  /** The current document with this id (not a copy), or undefined. */
  get(id: string): unknown;
  /** Every document with its id (not copies), in no particular order. */
  entries(): Iterable<readonly [string, unknown]>;
  /**
   * Stores a document (one the caller will not keep) or, with undefined, deletes it: in the
   * transaction's pending writes. Undefined for a query's read-only handle.
   */
  readonly write: ((id: string, document: unknown) => void) | undefined;
  /** Throws when the handle may no longer be used (its transaction has ended). */
  check(): void;
}

/**
 * {@link Documents} over an in-memory collection (`memoryProjectionStore`): the reference
 * semantics of the port, evaluated in JavaScript over the committed documents and the
 * transaction's pending writes.
 */
export class MemoryDocuments<T> implements Documents<T> {
  constructor(
    private readonly spec: CollectionSpec,
    private readonly source: MemoryDocumentSource,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get indexes(): readonly string[] {
    return this.spec.indexes;
  }

  async get(id: string): Promise<T | undefined> {
    this.source.check();
    checkDocumentId(this.spec, id);
    return Promise.resolve(copy(this.source.get(id)) as T | undefined);
  }

  async getMany(ids: readonly string[]): Promise<(T | undefined)[]> {
    this.source.check();
    checkDocumentIds(this.spec, ids);
    return Promise.resolve(ids.map((id) => copy(this.source.get(id)) as T | undefined));
  }

  async put(id: string, document: T): Promise<void> {
    const write = this.writer('put');
    checkDocumentId(this.spec, id);
    write(id, decodeJson(encodeDocument(this.spec, id, document)));
    return Promise.resolve();
  }

  async patch(id: string, patch: DocumentPatch<T>): Promise<T | undefined> {
    const write = this.writer('patch');
    checkDocumentId(this.spec, id);
    checkPatch(this.spec, id, patch);
    const current = this.source.get(id);
    if (current === undefined) return undefined;
    const json = encodeDocument(this.spec, id, mergePatch(current, patch));
    write(id, decodeJson(json));
    return Promise.resolve(decodeJson<T>(json));
  }

  async delete(id: string): Promise<boolean> {
    const write = this.writer('delete');
    checkDocumentId(this.spec, id);
    if (this.source.get(id) === undefined) return false;
    write(id, undefined);
    return Promise.resolve(true);
  }

  async find(query?: DocumentQuery): Promise<DocumentPage<T>> {
    this.source.check();
    const { conditions, order, limit, after } = parseDocumentQuery(this.spec, query);
    const matches: (DocumentCursor & { document: unknown })[] = [];
    for (const [id, document] of this.source.entries()) {
      if (!meetsConditions(conditions, id, document)) continue;
      const entry = { id, key: keyOf(order, id, document), document };
      if (after && compareInOrder(order, entry, after) <= 0) continue;
      matches.push(entry);
    }
    matches.sort((a, b) => compareInOrder(order, a, b));
    const items: DocumentEntry<T>[] = matches
      .slice(0, limit)
      .map(({ id, document }) => ({ id, document: copy(document) as T }));
    const last = items[items.length - 1];
    return Promise.resolve(
      matches.length > limit && last
        ? { items, next: encodeCursor(order, last.id, last.document) }
        : { items },
    );
  }

  async count(where?: DocumentWhere): Promise<number> {
    this.source.check();
    const conditions = parseWhere(this.spec, where);
    let n = 0;
    for (const [id, document] of this.source.entries())
      if (meetsConditions(conditions, id, document)) n++;
    return Promise.resolve(n);
  }

  private writer(operation: string): (id: string, document: unknown) => void {
    this.source.check();
    const { write } = this.source;
    if (!write) throw new DocumentsReadOnlyError(this.spec.name, operation);
    return write;
  }
}

function copy(value: unknown): unknown {
  return value === undefined ? undefined : structuredClone(value);
}
