import type { EventInput, RecordedEvent } from '../core/envelope.js';
import type { AppendResult, StoreTransaction } from '../store/event-store.js';
import type { SubscriptionStorage } from '../subscriptions/subscription-storage.js';
import type { ProjectionBuild, ProjectionMode } from './projection.js';

/**
 * Where a build is in its life:
 * - `'building'`: being filled from position 1 beside the serving build; not queried;
 * - `'serving'`: answering queries (one per projection at most);
 * - `'retired'`: replaced; its read model is dropped once the grace period ends.
 */
export type BuildStatus = 'building' | 'serving' | 'retired';

/** One build of a projection, as registered in the database (`causeway_projections`). */
export interface ProjectionRecord extends ProjectionBuild {
  mode: ProjectionMode;
  status: BuildStatus;
  /**
   * Inline builds only: the last position applied to it, once nobody maintains it any more
   * (a newer version is being built by a process without the old definition); null while it
   * is maintained. Queries then report this position.
   */
  frozenAt: number | null;
  createdAt: Date;
  /** When it started serving (or, retired, stopped serving); null before. */
  switchedAt: Date | null;
}

/** Options of {@link ProjectionStore.bind}. */
export interface BindOptions {
  /**
   * Hold document writes back until {@link ProjectionStore.flush} (default false: each
   * write goes to the database at once).
   */
  buffered?: boolean;
  /**
   * Called when the handle is first used to reach the database (its connection, or a
   * document collection). A projection batch that never calls it wrote nothing, and its
   * commit holds only the checkpoint: the subscription may then commit it without waiting
   * for the flush (`CheckpointStore.relaxCommit`). A store calls it only if it says so
   * (`ProjectionStore.reportsUse`); adapters whose commits cannot be relaxed need not.
   */
  onUse?: () => void;
}

/** One append made in a transaction, as the inline projector hands it to {@link ProjectionStore.appended}. */
export interface AppendedEvents {
  stream: string;
  /** The events as given to the append, each with its id. */
  events: readonly EventInput[];
  result: AppendResult;
}

/**
 * Where projections keep their read models and their registry of builds: the event store's
 * own database, so that read-model writes commit with the events (inline) or with the
 * checkpoint (async). One implementation per adapter: `memoryProjectionStore(store)` (in-memory
 * documents), `sqliteProjectionStore(store)` (`@causewayjs/sqlite`, SQL tables) and
 * `postgresProjectionStore(store)` (`@causewayjs/postgres`, SQL tables). `RM` is the read-model
 * handle that `setup`, `apply` and queries get.
 */
export interface ProjectionStore<Tx extends StoreTransaction = StoreTransaction, RM = unknown> {
  /** Checkpoints, parked events and leases of async projections, and the store itself. */
  readonly storage: SubscriptionStorage<Tx>;
  /**
   * Whether the handles `bind` makes call `BindOptions.onUse` on every way they reach the
   * database. Only then may a batch that never called it commit relaxed; with this absent or
   * false, every transaction a read model is bound in counts as one that wrote.
   */
  readonly reportsUse?: boolean;
  /** Registered builds (of one projection, or all), committed, by name, version and build. */
  listBuilds(name?: string): Promise<ProjectionRecord[]>;
  /** Registered builds of these projections, as `tx` sees them. */
  buildsIn(tx: Tx, names: readonly string[]): Promise<ProjectionRecord[]>;
  /** Registers or updates a build, in `tx`. */
  putBuild(tx: Tx, record: ProjectionRecord): Promise<void>;
  /** Forgets a build, in `tx`. */
  deleteBuild(tx: Tx, build: ProjectionBuild): Promise<void>;
  /**
   * Holds back every append to the store until `tx` ends, and returns the position of the last
   * committed event. Inline projections, setups and switches take it first, so that what they
   * read of the registry and the log stays true until they commit.
   */
  lockLog(tx: Tx): Promise<number>;
  /**
   * The read-model handle of `build`, writing in `tx` (for `setup` and `apply`). With
   * `{ buffered: true }`, document writes (`documents(name)`) wait in memory, one last write
   * per document, until {@link flush} writes them as multi-row statements; the handle's reads
   * see them meanwhile.
   */
  bind(tx: Tx, build: ProjectionBuild, options?: BindOptions): RM;
  /**
   * Writes out what buffered handles of `tx` hold back. Call it before `tx` commits, after
   * the calls of a batch. Synchronous (undefined) where the adapter's statements are, or when
   * nothing waits. A store whose handles never buffer may leave it out.
   */
  flush?(tx: Tx): void | Promise<void>;
  /** Runs a query on `build`'s committed read model. */
  read<T>(build: ProjectionBuild, query: (readModel: RM) => T | Promise<T>): Promise<T>;
  /** Drops every table (or collection) of `build`, in `tx`. */
  drop(tx: Tx, build: ProjectionBuild): Promise<void>;
  /** The tables (or collections) that exist for any build of projection `name`, sorted. */
  tables(name: string): Promise<string[]>;
  /**
   * The events `tx` appended after position `after` (in position order, as a reader will see
   * them once committed), given what the appends were. Called holding {@link lockLog}.
   */
  appended(tx: Tx, after: number, appends: readonly AppendedEvents[]): Promise<RecordedEvent[]>;
  /**
   * Whether `error`, thrown by a query, says that a table it used is gone: the build it read
   * was retired and dropped meanwhile. The query is then run again on the serving build.
   */
  isMissingTable(error: unknown): boolean;
}
