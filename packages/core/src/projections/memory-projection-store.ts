import { type Clock, systemClock } from '../core/clock.js';
import type { RecordedEvent } from '../core/envelope.js';
import { InvalidArgumentError } from '../core/errors.js';
import { decodeJson, encodeJson } from '../core/json-codec.js';
import type { StoreTransaction } from '../store/event-store.js';
import { stagedEvents, type MemoryEventStore } from '../store/memory-event-store.js';
import { memorySubscriptionStorage } from '../subscriptions/memory-subscription-storage.js';
import type { SubscriptionStorage } from '../subscriptions/subscription-storage.js';
import { collectionSpec } from './document-collection.js';
import type { DocumentCollection, DocumentReadModel } from './document-read-model.js';
import type { DocumentsOptions } from './documents.js';
import { MemoryDocuments, type MemoryDocumentSource } from './memory-documents.js';
import {
  belongsToBuild,
  buildTableName,
  isProjectionTable,
  type ProjectionBuild,
} from './projection.js';
import type { AppendedEvents, ProjectionRecord, ProjectionStore } from './projection-store.js';

/** Marks a document deleted in a transaction's pending writes. */
const DELETED = Symbol('deleted');
type Pending = Map<string, unknown>;

/** What a transaction changed, applied to the committed state when it commits. */
interface TransactionChanges {
  tx: StoreTransaction;
  /** Collections touched: their pending documents (or {@link DELETED}). */
  collections: Map<string, Pending>;
  /** Collections dropped before being (re)created in this transaction. */
  dropped: Set<string>;
  registry: Map<string, ProjectionRecord | typeof DELETED>;
}

/**
 * Projections over a {@link MemoryEventStore}: read models are collections of documents
 * ({@link DocumentReadModel}) in process memory, and the registry of builds too. Writes in a
 * transaction are held back and applied when it commits, together with the checkpoint.
 */
class MemoryProjectionStore implements ProjectionStore<StoreTransaction, DocumentReadModel> {
  private readonly collections = new Map<string, Map<string, unknown>>();
  private readonly registry = new Map<string, ProjectionRecord>();
  private readonly changes = new WeakMap<StoreTransaction, TransactionChanges>();

  constructor(
    readonly storage: SubscriptionStorage<StoreTransaction>,
    private readonly clock: Clock,
  ) {}

  listBuilds(name?: string): Promise<ProjectionRecord[]> {
    return Promise.resolve(
      sortRecords(
        [...this.registry.values()].filter((r) => name === undefined || r.name === name),
      ).map(copyRecord),
    );
  }

  buildsIn(tx: StoreTransaction, names: readonly string[]): Promise<ProjectionRecord[]> {
    const merged = new Map(this.registry);
    const changes = this.changes.get(tx);
    if (changes)
      for (const [key, value] of changes.registry) {
        if (value === DELETED) merged.delete(key);
        else merged.set(key, value);
      }
    return Promise.resolve(
      sortRecords([...merged.values()].filter((r) => names.includes(r.name))).map(copyRecord),
    );
  }

  putBuild(tx: StoreTransaction, record: ProjectionRecord): Promise<void> {
    this.changesOf(tx).registry.set(recordKey(record), copyRecord(record));
    return Promise.resolve();
  }

  deleteBuild(tx: StoreTransaction, build: ProjectionBuild): Promise<void> {
    this.changesOf(tx).registry.set(recordKey(build), DELETED);
    return Promise.resolve();
  }

  lockLog(): Promise<number> {
    // The memory store's transactions hold its write lock throughout: appends already wait.
    return this.storage.store.headPosition();
  }

  bind(tx: StoreTransaction, build: ProjectionBuild): DocumentReadModel {
    return {
      version: build.version,
      collection: <T>(name?: string) =>
        collectionOf<T>(this.writable(tx, buildTableName(build, name))),
      documents: <T>(name: string, options?: DocumentsOptions) => {
        const spec = collectionSpec(build, name, options);
        return new MemoryDocuments<T>(spec, this.writable(tx, spec.table));
      },
    };
  }

  async read<T>(
    build: ProjectionBuild,
    query: (readModel: DocumentReadModel) => T | Promise<T>,
  ): Promise<T> {
    return query({
      version: build.version,
      collection: <D>(name?: string) => collectionOf<D>(this.readable(buildTableName(build, name))),
      documents: <D>(name: string, options?: DocumentsOptions) => {
        const spec = collectionSpec(build, name, options);
        return new MemoryDocuments<D>(spec, this.readable(spec.table));
      },
    });
  }

  drop(tx: StoreTransaction, build: ProjectionBuild): Promise<void> {
    const changes = this.changesOf(tx);
    for (const name of [...this.collections.keys(), ...changes.collections.keys()]) {
      if (!belongsToBuild(build, name)) continue;
      changes.collections.delete(name);
      changes.dropped.add(name);
    }
    return Promise.resolve();
  }

  tables(name: string): Promise<string[]> {
    return Promise.resolve(
      [...this.collections.keys()].filter((c) => isProjectionTable(name, c)).sort(),
    );
  }

  appended(
    tx: StoreTransaction,
    after: number,
    appends: readonly AppendedEvents[],
  ): Promise<RecordedEvent[]> {
    // The memory store writes a transaction's events when it commits, where no reader can see
    // them before: they are rebuilt here from what was appended, as the store encodes them,
    // and as the transaction staged them (decorators under the appender, an encryption or
    // schema layer, change what is stored: the SQL adapters read their rows back alike).
    const staged = stagedEvents(tx);
    const recordedAt = new Date(this.clock.now());
    const events: RecordedEvent[] = [];
    for (const { stream, events: inputs, result } of appends) {
      if (result.position <= after) continue;
      const n = inputs.length;
      inputs.forEach((input, i) => {
        const id = (input.id as string).toLowerCase();
        const stored = staged?.get(id);
        events.push({
          id,
          type: input.type,
          stream,
          revision: result.revision - n + 1 + i,
          position: result.position - n + 1 + i,
          data: stored ? decodeJson(stored.data) : decodeJson(encodeJson(input.data)),
          metadata: stored
            ? decodeJson(stored.metadata)
            : input.metadata == null
              ? {}
              : decodeJson(encodeJson(input.metadata)),
          schemaVersion: stored?.schemaVersion ?? input.schemaVersion ?? 1,
          recordedAt,
        });
      });
    }
    return Promise.resolve(events.sort((a, b) => a.position - b.position));
  }

  isMissingTable(): boolean {
    // A dropped collection reads as empty: there is nothing to retry.
    return false;
  }

  private changesOf(tx: StoreTransaction): TransactionChanges {
    let changes = this.changes.get(tx);
    if (!changes) {
      if (!tx.active)
        throw new InvalidArgumentError(
          'tx',
          'the transaction has already committed or rolled back',
        );
      const created: TransactionChanges = {
        tx,
        collections: new Map(),
        dropped: new Set(),
        registry: new Map(),
      };
      changes = created;
      this.changes.set(tx, created);
      tx.onCommit(() => this.commit(created));
    }
    return changes;
  }

  private commit(changes: TransactionChanges): void {
    for (const name of changes.dropped) this.collections.delete(name);
    for (const [name, pending] of changes.collections) {
      let committed = this.collections.get(name);
      if (!committed) this.collections.set(name, (committed = new Map<string, unknown>()));
      for (const [id, document] of pending) {
        if (document === DELETED) committed.delete(id);
        else committed.set(id, document);
      }
    }
    for (const [key, record] of changes.registry) {
      if (record === DELETED) this.registry.delete(key);
      else this.registry.set(key, record);
    }
  }

  /** The committed documents of collection `name`, read-only: what queries see. */
  private readable(name: string): MemoryDocumentSource {
    const docs = () => this.collections.get(name);
    return {
      get: (id) => docs()?.get(id),
      entries: () => docs()?.entries() ?? [],
      write: undefined,
      check: () => undefined,
    };
  }

  /**
   * Collection `name` as transaction `tx` sees it (committed documents under its pending
   * writes), writing to its pending writes.
   */
  private writable(tx: StoreTransaction, name: string): MemoryDocumentSource {
    assertActive(tx);
    const changes = this.changesOf(tx);
    let pending = changes.collections.get(name);
    if (!pending) changes.collections.set(name, (pending = new Map<string, unknown>()));
    const own = pending;
    const committed = () => (changes.dropped.has(name) ? undefined : this.collections.get(name));
    return {
      get: (id) => {
        if (!own.has(id)) return committed()?.get(id);
        const value = own.get(id);
        return value === DELETED ? undefined : value;
      },
      entries: () =>
        listIds(committed(), own).map(
          (id) => [id, own.has(id) ? own.get(id) : committed()?.get(id)] as const,
        ),
      write: (id, document) => {
        assertActive(tx);
        own.set(id, document === undefined ? DELETED : document);
      },
      check: () => assertActive(tx),
    };
  }
}

/** The synchronous collection API over a source of documents. */
function collectionOf<T>(source: MemoryDocumentSource): DocumentCollection<T> {
  const refuse = (): never => {
    throw new InvalidArgumentError(
      'collection',
      'a query reads only; write documents in setup or apply',
    );
  };
  const ids = () => [...source.entries()].map(([id]) => id).sort();
  const put = (id: string, document: T) => {
    if (!source.write) return refuse();
    source.check();
    if (typeof id !== 'string' || id.length === 0)
      throw new InvalidArgumentError('id', 'must be a non-empty string');
    if (document === undefined)
      throw new InvalidArgumentError('document', 'must be a JSON value, not undefined');
    source.write(id, decodeJson(encodeJson(document)));
  };
  return {
    get: (id) => copy(source.get(id)) as T | undefined,
    has: (id) => source.get(id) !== undefined,
    put,
    update: (id, change) => {
      if (!source.write) return refuse();
      const next = change(copy(source.get(id)) as T | undefined);
      put(id, next);
      return copy(next) as T;
    },
    delete: (id) => {
      if (!source.write) return refuse();
      source.check();
      const had = source.get(id) !== undefined;
      source.write(id, undefined);
      return had;
    },
    find: (filter) => {
      const out: T[] = [];
      for (const id of ids()) {
        const document = copy(source.get(id)) as T;
        if (!filter || filter(document, id)) out.push(document);
      }
      return out;
    },
    ids,
    count: () => ids().length,
  };
}

function assertActive(tx: StoreTransaction): void {
  if (!tx.active)
    throw new InvalidArgumentError(
      'readModel',
      'its transaction has ended; use the read model only inside setup or apply',
    );
}

/**
 * Projections over a {@link MemoryEventStore}, with read models of in-memory documents
 * ({@link DocumentReadModel}): for tests and single-process tools. `storage` defaults to a
 * fresh `memorySubscriptionStorage(store)`; `clock` must be the store's (it dates the events
 * that inline projections see).
 *
 * @example
 * ```ts
 * const store = new MemoryEventStore();
 * const projector = new Projector({ store: memoryProjectionStore(store), projections: [totals] });
 * ```
 */
export function memoryProjectionStore(
  store: MemoryEventStore,
  options: { clock?: Clock; storage?: SubscriptionStorage<StoreTransaction> } = {},
): ProjectionStore<StoreTransaction, DocumentReadModel> {
  const clock = options.clock ?? systemClock;
  const storage = options.storage ?? memorySubscriptionStorage(store, { clock });
  if (storage.store !== store)
    throw new InvalidArgumentError('storage', 'must be subscription storage of the same store');
  return new MemoryProjectionStore(storage, clock);
}

function recordKey(build: ProjectionBuild): string {
  return `${build.name}\u0000${build.version}\u0000${build.build}`;
}

function copyRecord(record: ProjectionRecord): ProjectionRecord {
  return {
    ...record,
    createdAt: new Date(record.createdAt.getTime()),
    switchedAt: record.switchedAt && new Date(record.switchedAt.getTime()),
  };
}

/** By name, version and build: the order every adapter lists builds in. */
function sortRecords(records: ProjectionRecord[]): ProjectionRecord[] {
  return records.sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.version - b.version || a.build - b.build,
  );
}

function copy(value: unknown): unknown {
  return value === undefined ? undefined : structuredClone(value);
}

function listIds(
  committed: Map<string, unknown> | undefined,
  pending: Pending | undefined,
): string[] {
  const ids = new Set(committed?.keys() ?? []);
  if (pending)
    for (const [id, value] of pending) {
      if (value === DELETED) ids.delete(id);
      else ids.add(id);
    }
  return [...ids].sort();
}
