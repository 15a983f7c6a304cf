import type { Clock } from '../core/clock.js';
import type { SnapshotStore } from '../domain/snapshot-store.js';
import type { DocumentsHandle } from '../projections/documents.js';
import type { ProjectionStore } from '../projections/projection-store.js';
import type { SagaStore } from '../sagas/saga-store.js';
import type { SchemaStorage } from '../schema/schema-storage.js';
import type { ChainAnchorStore } from '../security/chain-anchor-store.js';
import type { DataKeyStore } from '../security/data-key-store.js';
import type { SubjectEraser } from '../security/subject-eraser.js';
import type { ScavengeOptions, ScavengeReport } from './scavenge.js';
import type { StreamStateStore } from '../streams/stream-state-store.js';
import type { GroupMembershipStore } from '../subscriptions/group-membership-store.js';
import type { SubscriptionStorage } from '../subscriptions/subscription-storage.js';
import type {
  EventStoreOptions,
  StoreTransaction,
  TransactionalEventStore,
} from './event-store.js';

/**
 * One durable adapter, opened once: it owns the connection(s) and hands out the event store
 * and every storage port, all in the same database and all sharing the adapter's one
 * transaction type `Tx`, so a checkpoint, a read-model row, saga state, a timer or a parked
 * event commits with the events it belongs to. `RM` is the read-model handle its projections
 * get: every adapter's offers document collections (`rm.documents(name)`), so a projection
 * written against {@link DocumentsHandle} runs on any backend. Made by {@link openBackend} from a URL (or by an adapter's own `open…Backend`).
 *
 * Ports are made on first use (their tables created or migrated then) and kept: calling a
 * port method twice returns the same object. `close()` releases them all, then the store.
 *
 * A backend reads and writes through {@link Backend.store}. {@link Backend.withStore} gives a
 * view whose ports use a decorated stack of that store instead (see `storeStack`), so that
 * subscriptions, projections, sagas, the outbox relay and stream jobs read upcast, decrypted
 * events and write validated, encrypted, chained ones, on every path.
 *
 * @example
 * ```ts
 * const backend = await openBackend('sqlite:./data/events.db');
 * const storage = await backend.subscriptionStorage();
 * const totals = new Subscription({ name: 'order-totals', storage, handler });
 * // ...
 * await backend.close();
 * ```
 */
export interface Backend<
  Tx extends StoreTransaction = StoreTransaction,
  RM extends DocumentsHandle = DocumentsHandle,
> {
  /** Which adapter this is (`memory`, `sqlite`, `postgres`, or a third party's name). */
  readonly kind: string;
  /** The URL it was opened from, with any password masked. */
  readonly url: string;
  /** The store every port of this backend (or view) reads and writes through. */
  readonly store: TransactionalEventStore<Tx>;
  /**
   * A view of this backend whose ports read and write through `store`, a decorated stack of
   * this backend's store (a store of another backend is refused). It shares the backend's
   * connections and tables; closing either closes the backend.
   */
  withStore(store: TransactionalEventStore<Tx>): Backend<Tx, RM>;
  /** Checkpoints, parked events, leases and the inbox of subscriptions. */
  subscriptionStorage(): Promise<SubscriptionStorage<Tx>>;
  /** The projections' registry of builds and their read models. */
  projectionStore(): Promise<ProjectionStore<Tx, RM>>;
  /** Consumer-group membership. */
  groupMembership(): Promise<GroupMembershipStore>;
  /** The schema registry's storage. */
  schemaStorage(): Promise<SchemaStorage>;
  /** Saga instances, durable timers and the saga outbox. */
  sagaStore(): Promise<SagaStore<Tx>>;
  /** Aggregate snapshots. */
  snapshotStore(): Promise<SnapshotStore>;
  /** Data keys of field encryption (crypto-shredding). */
  keyStore(): Promise<DataKeyStore>;
  /** Stream-job checkpoints (operator state with source position). */
  streamStateStore(): Promise<StreamStateStore<Tx>>;
  /**
   * What overwrites a forgotten subject's personal values in the backend's tables (saga
   * state, outboxes, stream-job state, parked events, read models); undefined when the
   * adapter keeps nothing durable (memory) or offers none. `stackBackend` hands it to the
   * encryption layer, whose `forgetSubject` uses it.
   */
  subjectEraser(): Promise<SubjectEraser | undefined>;
  /**
   * The hash chains' anchors (each chained stream's head and start), written by the
   * integrity layer in the append's transaction and read by `verifyStore`.
   */
  chainAnchorStore(): Promise<ChainAnchorStore<Tx>>;
  /**
   * Physically removes what the store no longer shows (events of tombstoned streams, events
   * hidden by `truncateBefore`, `maxCount`, `maxAge`) through {@link Backend.store}, so its
   * decorators take part, and the snapshots of tombstoned streams (see `Scavengeable` and
   * docs/event-store.md).
   *
   * @throws ScavengeUnsupportedError when the adapter's store cannot scavenge.
   */
  scavenge(options?: ScavengeOptions): Promise<ScavengeReport>;
  /** Releases every port and connection; later calls fail with `StoreClosedError`. */
  close(): Promise<void>;
  /** True once `close()` has been called. */
  readonly isClosed: boolean;
}

/** Options of {@link openBackend}: the common ones plus each adapter's own. */
export interface OpenBackendOptions extends EventStoreOptions {
  /** Time source of the ports (leases, timers, parked times); default the store's clock. */
  clock?: Clock;
  /** SQLite: `'FULL'` (default: an acknowledged append survives power loss), `'NORMAL'` or `'OFF'`. */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  /** SQLite: how long a writer waits for another process's write lock, in ms (default 5000). */
  busyTimeoutMs?: number;
  /** SQLite: the interval of the poll backing up the `-wal` file watch, in ms (default 100). */
  pollIntervalMs?: number;
  /** SQLite: whether `watch` follows other processes' commits by a watch of the `-wal` file (default true). */
  watchFile?: boolean;
  /** PostgreSQL: the schema holding Causeway's tables (default `public`, or `?schema=` in the URL). */
  schema?: string;
  /** PostgreSQL: most connections in the pool (default 10). */
  maxConnections?: number;
  /** PostgreSQL: announce commits with `NOTIFY` (default true). */
  notify?: boolean;
  /** PostgreSQL: how `watch` learns of other processes' commits (`LISTEN`, polling while it is down). */
  listen?: { pollIntervalMs?: number; reconnectDelayMs?: number };
}

/**
 * How one adapter is opened: the whole contract a new adapter registers (as Kysely's
 * `Dialect` is for a database). `schemes` are the URL schemes it serves (`sqlite`), `open`
 * makes its backend, and `openStore` its event store alone (what `openEventStore` returns).
 */
export interface BackendAdapter<
  Tx extends StoreTransaction = StoreTransaction,
  RM extends DocumentsHandle = DocumentsHandle,
> {
  /** URL schemes served, lower case, without the colon. */
  readonly schemes: readonly string[];
  /** Opens the backend at `url`, creating or migrating its tables as ports are first used. */
  open(url: string, options: OpenBackendOptions): Promise<Backend<Tx, RM>>;
  /** Opens only the event store at `url`. */
  openStore(url: string, options: OpenBackendOptions): Promise<TransactionalEventStore<Tx>>;
}
