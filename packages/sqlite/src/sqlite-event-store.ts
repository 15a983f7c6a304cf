import { mkdirSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  type RecordedEvent,
  InvalidArgumentError,
  StoreUnavailableError,
  StreamDeletedError,
  type AppendResult,
  type DeleteStreamOptions,
  type EventStoreOptions,
  type StoreTransaction,
  type StreamSummary,
  hiddenEvents,
  type HiddenEvents,
  fnv1a32,
  type ScavengeOptions,
  type ScavengeReport,
  type Scavengeable,
} from '@causewayjs/core';
import {
  Deleted,
  deletedLabel,
  planAppends,
  planDelete,
  resolveOutcome,
  streamNames,
  clientIds,
  type DeletedFlag,
  type PlannedRow,
  type StoredEventRef,
  type StreamState,
  type UnitResult,
  BaseEventStore,
  type StoredStream,
  decodeEventRow,
  decodeEventRows,
  PAGE_SIZE,
  parseStreamMetadata,
  prefixUpperBound,
  type AllWindow,
  type StreamWindow,
  type StreamsQuery,
  BaseStoreTransaction,
  type PreparedAppend,
  WriteLock,
  type ScavengeBatchOutcome,
  type ScavengeBatchRequest,
  countScavenged,
  newScavengeOutcome,
} from '@causewayjs/core/internals';
import {
  SqliteCommitWatcher,
  type SqliteWatchState,
  type SqliteWatchStats,
} from './sqlite-commit-watcher.js';
import { sqliteError } from './sqlite-errors.js';
import { SqliteWalFlusher } from './sqlite-wal-flusher.js';
import {
  STREAM_HASH_FUNCTION,
  migrateSqlite,
  registerStreamHash,
  sqliteEventStoreMigrations,
} from './sqlite-migrations.js';

/** Options of {@link SqliteEventStore.open}. */
export interface SqliteEventStoreOptions extends EventStoreOptions {
  /**
   * SQLite's `synchronous` setting. `'FULL'` (default) fsyncs every commit, so an
   * acknowledged append survives power loss; `'NORMAL'` survives a process crash but may lose
   * the last commits on power loss; `'OFF'` is for throwaway data.
   */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  /**
   * With `synchronous: 'FULL'`, whether a commit made while others wait (a writer queued for
   * the write lock, a flush under way, or several appends gathered into one batch by
   * concurrent callers) is flushed in the background (default true). Such
   * a commit writes its WAL frames without syncing them and hands the lock on; the `-wal`
   * file is then flushed (`fdatasync`) on libuv's thread pool, and commits made meanwhile
   * share the next flush. An append or transaction still resolves only once its commit is on
   * disk, and watchers in this process hear of it only then, but the event loop goes on
   * meanwhile. A lone commit is flushed on the spot, as before. The cost: until its flush
   * ends, the commit can be read (by other connections and processes, and by this store's
   * reads and commit callbacks), and a power failure in that window loses it after they saw
   * it. False keeps SQLite's own FULL: nothing sees a commit before it is durable, and the
   * event loop waits for every flush. See docs/event-store.md.
   */
  backgroundFlush?: boolean;
  /** How long a writer waits for another process's write lock, in ms (default 5000). */
  busyTimeoutMs?: number;
  /**
   * While someone {@link SqliteEventStore.watch}es, other connections' and processes' commits
   * to the same file are noticed through a file watch of its `-wal` file, at once; this is
   * the interval, in ms, of the poll that backs the watch up (default 100), and the only way
   * they are noticed when the watch cannot be set up or `watchFile` is false. Commits made
   * through this store are reported at once either way.
   */
  pollIntervalMs?: number;
  /**
   * Whether to watch the `-wal` file for other processes' commits (default true). Turn it
   * off on file systems whose watches miss other machines' writes (network mounts): the
   * poll of `pollIntervalMs` then notices them.
   */
  watchFile?: boolean;
}

/**
 * A transaction of a {@link SqliteEventStore}. Statements run on `database` while the
 * transaction's work runs are part of it.
 *
 * @example
 * ```ts
 * await store.transaction(async (tx) => {
 *   tx.database.prepare('INSERT INTO order_totals (id, total) VALUES (?, ?)').run(id, total);
 *   await tx.append('order-42', [{ type: 'order.totalled', data: { total } }]);
 * });
 * ```
 */
export interface SqliteTransaction extends StoreTransaction {
  /**
   * The connection the transaction runs on: a second connection to the store's file (the
   * store's own `database` for `:memory:`). Do not keep it past the transaction.
   */
  readonly database: Database.Database;
  /**
   * Whether the transaction resolves only once its commit is on disk: true at
   * `synchronous: 'FULL'` (the default), until {@link SqliteTransaction.relaxCommit} is called.
   */
  readonly waitsForFlush: boolean;
  /**
   * Lets the transaction resolve as soon as it commits, without waiting for its flush to
   * disk; the next commit that waits for its flush makes it durable too. For commits whose
   * loss in a crash of the machine (not of the process) only means work is done again, such as
   * a subscription's progress alone. The commit is still flushed in the background, only
   * not waited for. A transaction that appended events waits all the same. Only a store that
   * flushes in the background (`backgroundFlush`, the default) can relax a commit: elsewhere
   * this returns false and changes nothing.
   */
  relaxCommit(): boolean;
}

/** An events-table row as reads select it ({@link EVENT_COLUMNS}, raw mode). */
export type EventRow = [number, string, string, number, string, string, string, number, number];
type Row = EventRow;
/** Rows per multi-row INSERT statement (10 parameters each). */
const INSERT_CHUNK = 32;
/** The events-table columns reads select, in {@link EventRow} order. */
export const EVENT_COLUMNS =
  'position, id, stream, revision, type, data, metadata, schema_version, recorded_at';
/**
 * The columns an append writes: {@link EVENT_COLUMNS} and the stream name's `fnv1a32`, which
 * readAll's partition filter compares in SQL, so a consumer-group member decodes only its
 * own partitions' events.
 */
const INSERT_COLUMNS = `${EVENT_COLUMNS}, stream_hash`;
/** One row's placeholders in an INSERT of {@link INSERT_COLUMNS}. */
const INSERT_ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

/**
 * The head position: the highest position of a stored event, or of one that scavenging
 * removed (`causeway_position_floor`), so positions are never given twice.
 */
export const HEAD_SQL = `SELECT max(
  coalesce((SELECT max(position) FROM causeway_events), 0),
  coalesce((SELECT position FROM causeway_position_floor WHERE id = 1), 0)) AS head`;

/** Which of a stream's events scavenging removes (named parameters of {@link HiddenParams}). */
const HIDDEN_WHERE = `stream = @stream AND (@all = 1 OR revision < @below
  OR (@before IS NOT NULL AND recorded_at < @before))`;
/** UTF-8 bytes of an event's data and metadata. */
const EVENT_BYTES = 'length(CAST(data AS BLOB)) + length(CAST(metadata AS BLOB))';

/** Parameters of the scavenge statements. */
interface HiddenParams {
  stream: string;
  all: number;
  below: number;
  before: number | null;
}

/** The scavenge statements, prepared on the store's connection when first used. */
function prepareScavengeStatements(db: Database.Database) {
  return {
    candidates: db.prepare<[string | null, string | null, number], { name: string }>(
      `SELECT name FROM causeway_streams
       WHERE (deleted = ${Deleted.hard} OR metadata IS NOT NULL) AND (? IS NULL OR name > ?)
       ORDER BY name LIMIT ?`,
    ),
    count: db.prepare<[HiddenParams], { n: number; bytes: number }>(
      `SELECT count(*) AS n, coalesce(sum(${EVENT_BYTES}), 0) AS bytes
       FROM causeway_events WHERE ${HIDDEN_WHERE}`,
    ),
    remove: db.prepare<[HiddenParams & { limit: number }], { bytes: number }>(
      `DELETE FROM causeway_events WHERE position IN (
         SELECT position FROM causeway_events WHERE ${HIDDEN_WHERE}
         ORDER BY revision LIMIT @limit)
       RETURNING ${EVENT_BYTES} AS bytes`,
    ),
    any: db.prepare<[string], { one: number }>(
      'SELECT 1 AS one FROM causeway_events WHERE stream = ? LIMIT 1',
    ),
    keepFloor: db.prepare(
      `INSERT INTO causeway_position_floor (id, position)
       SELECT 1, coalesce(max(position), 0) FROM causeway_events WHERE true
       ON CONFLICT (id) DO UPDATE SET position = max(position, excluded.position)`,
    ),
  };
}

/** The store's statements, prepared on one connection. */
function prepareStatements(db: Database.Database) {
  return {
    stream: db.prepare<
      [string],
      { revision: number; deleted: DeletedFlag; metadata: string | null }
    >('SELECT revision, deleted, metadata FROM causeway_streams WHERE name = ?'),
    eventById: db.prepare<[string], StoredEventRef>(
      'SELECT stream, revision, position FROM causeway_events WHERE id = ?',
    ),
    // Scavenging may remove the newest events: the floor keeps their positions taken.
    head: db.prepare<[], { head: number }>(HEAD_SQL),
    insertChunk: db.prepare(
      `INSERT INTO causeway_events (${INSERT_COLUMNS}) VALUES ${Array.from({ length: INSERT_CHUNK }, () => INSERT_ROW).join(', ')}`,
    ),
    insertEvent: db.prepare(`INSERT INTO causeway_events (${INSERT_COLUMNS}) VALUES ${INSERT_ROW}`),
    upsertStream: db.prepare(
      `INSERT INTO causeway_streams (name, revision, deleted) VALUES (?, ?, 0)
       ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, deleted = 0`,
    ),
    setDeleted: db.prepare(
      `INSERT INTO causeway_streams (name, revision, deleted, metadata) VALUES (?, -1, ?, ?)
       ON CONFLICT (name) DO UPDATE SET deleted = excluded.deleted, metadata = excluded.metadata`,
    ),
    setMetadata: db.prepare(
      `INSERT INTO causeway_streams (name, revision, deleted, metadata) VALUES (?, -1, 0, ?)
       ON CONFLICT (name) DO UPDATE SET metadata = excluded.metadata`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** A row of a listStreams page. */
interface StreamListRow {
  name: string;
  revision: number;
  deleted: DeletedFlag;
  position: number;
}

/** The write lock shared by the stores of this process open on one file. */
interface FileLock {
  lock: WriteLock;
  release: () => void;
  /** The file's resolved path (transactions open a second connection to it). */
  path: string;
}

/**
 * One write lock per database file in this process, shared by every store open on it: a
 * transaction holds SQLite's write lock across awaits, and a second store of the same
 * process writing meanwhile would otherwise block the event loop in SQLite's busy wait.
 */
const fileLocks = new Map<string, { lock: WriteLock; users: number }>();

function takeFileLock(db: Database.Database): FileLock {
  if (db.memory) return { lock: new WriteLock(), release: () => undefined, path: db.name };
  const key = realpathSync(db.name);
  let entry = fileLocks.get(key);
  if (!entry) {
    entry = { lock: new WriteLock(), users: 0 };
    fileLocks.set(key, entry);
  }
  entry.users += 1;
  const taken = entry;
  return {
    lock: taken.lock,
    path: key,
    release: () => {
      taken.users -= 1;
      if (taken.users === 0 && fileLocks.get(key) === taken) fileLocks.delete(key);
    },
  };
}

/** The connection transactions run on, with its statements. */
interface TransactionConnection {
  db: Database.Database;
  statements: Statements;
  /** Writes units in a savepoint of the open transaction. */
  write: (units: PreparedAppend[][]) => UnitResult[];
}

/**
 * The embedded event store: one SQLite file in WAL mode, the default adapter. Several
 * processes may open the same file; writes are serialised by SQLite's write lock and
 * concurrent appends within a process share one transaction (group commit).
 *
 * {@link SqliteEventStore.transaction} runs on a second connection to the file, holding
 * SQLite's write lock until it ends; the store's own writes wait for it (in this process, on
 * an asynchronous lock; in others, in SQLite's busy timeout), and its readers keep seeing
 * only committed data. Components that write to the store's `database` themselves must do
 * so inside a transaction (on `tx.database`), never beside one.
 *
 * @example
 * ```ts
 * import { SqliteEventStore } from '@causewayjs/sqlite';
 * const store = SqliteEventStore.open('./data/events.db');
 * ```
 */
export class SqliteEventStore extends BaseEventStore<SqliteTransaction> implements Scavengeable {
  private readonly statements: Statements;
  private scavengeStatements: ReturnType<typeof prepareScavengeStatements> | undefined;
  private readonly cachedReads = new Map<string, Database.Statement<unknown[], Row>>();
  private readonly cachedStreamLists = new Map<
    string,
    Database.Statement<unknown[], StreamListRow>
  >();
  private readonly cachedStreamCounts = new Map<
    string,
    Database.Statement<unknown[], { n: number }>
  >();
  private readonly writeTransaction: (units: PreparedAppend[][]) => UnitResult[];
  private readonly synchronous: 'FULL' | 'NORMAL' | 'OFF';
  private readonly busyTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly watchFile: boolean;
  private transactionConnection: TransactionConnection | undefined;
  /** Flushes the commits of appends and transactions in the background (`backgroundFlush`). */
  private readonly flusher: SqliteWalFlusher | undefined;
  /** A poll waiting for a flush to end (see `poll`). */
  private pollDeferred = false;
  /** What a transaction's commit waits for (see `SqliteTransaction.waitsForFlush`). */
  private readonly commitFlushing: { waits: boolean; relaxable: boolean };
  /**
   * Pages of reads stay at the first page's size: without a round trip to save, a larger page
   * only keeps more events alive at once, and they outlive young-generation collections
   * (reads of 8,000-event pages ran about a quarter slower).
   */
  protected override readonly maxReadPageSize = PAGE_SIZE;
  /** Polls the head of a private in-memory database (which only this store writes). */
  private poller: ReturnType<typeof setInterval> | undefined;
  /** Notices other connections' commits to the file, while watched. */
  private commitWatcher: SqliteCommitWatcher | undefined;
  private readonly fileLock: FileLock;

  private constructor(
    /** The open database. Causeway components that keep tables in the same file use it. */
    readonly database: Database.Database,
    options: SqliteEventStoreOptions,
    fileLock: FileLock,
  ) {
    super(options, fileLock.lock);
    this.fileLock = fileLock;
    this.synchronous = options.synchronous ?? 'FULL';
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.watchFile = options.watchFile ?? true;
    const statements = prepareStatements(database);
    this.statements = statements;
    const transaction = database.transaction((units: PreparedAppend[][]) =>
      this.writeNow(statements, units),
    );
    const background =
      this.synchronous === 'FULL' && options.backgroundFlush !== false && !database.memory;
    const flusher = background ? openFlusher(`${fileLock.path}-wal`) : undefined;
    this.commitFlushing = { waits: this.synchronous === 'FULL', relaxable: flusher !== undefined };
    if (flusher) {
      this.flusher = flusher;
      // The connection stays at FULL for everything else written on it (snapshots, schema
      // storage): only the appends' commits leave their flush to the flusher.
      const relaxed = database.prepare('PRAGMA synchronous = NORMAL');
      const full = database.prepare('PRAGMA synchronous = FULL');
      this.writeTransaction = (units) => {
        // One caller's append, with no flush under way and no transaction waiting: nothing
        // would share the flush nor run meanwhile, so the commit flushes itself, as SQLite
        // does at FULL, sparing the hop to a thread. A batch gathered from several callers
        // means concurrent work (requests arriving, say), which goes on during the flush.
        if (units.length === 1 && this.flushesAlone()) return transaction.immediate(units);
        relaxed.run();
        try {
          const results = transaction.immediate(units);
          flusher.committed();
          return results;
        } finally {
          try {
            full.run();
          } catch (cause) {
            // Left at NORMAL, a lone commit would not sync: no more writes on this store.
            flusher.poison(cause);
          }
        }
      };
    } else {
      this.writeTransaction = (units) => transaction.immediate(units);
    }
  }

  protected override durable(tx?: BaseStoreTransaction): Promise<void> | undefined {
    // A transaction asked for its flush as it committed (see `flushTransaction`).
    if (tx instanceof SqliteStoreTransaction) return tx.flushed();
    return this.flusher?.durable();
  }

  protected override writeRefusal(): Error | undefined {
    return this.flusher?.failed;
  }

  /**
   * Whether commits of appends and transactions are flushed to disk in the background (see
   * `backgroundFlush`): then a transaction can relax its commit
   * ({@link SqliteTransaction.relaxCommit}).
   */
  get flushesInBackground(): boolean {
    return this.flusher !== undefined;
  }

  /**
   * Opens (creating if needed) the store in the SQLite file at `path` (`:memory:` for a
   * private in-memory database), and migrates its schema.
   *
   * @throws {StoreUnavailableError} when the file cannot be opened.
   * @throws {SchemaTooNewError} when a newer Causeway migrated the file.
   */
  static open(path: string, options: SqliteEventStoreOptions = {}): SqliteEventStore {
    let db: Database.Database;
    try {
      if (path !== ':memory:' && !path.startsWith('file:'))
        mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
    } catch (cause) {
      throw new StoreUnavailableError(
        `Cannot open SQLite database "${path}": ${(cause as Error).message}`,
        cause,
      );
    }
    try {
      const interval = options.pollIntervalMs;
      if (interval !== undefined && !(Number.isFinite(interval) && interval > 0))
        throw new InvalidArgumentError('pollIntervalMs', 'must be a number of milliseconds > 0');
      db.pragma('journal_mode = WAL');
      configure(db, options.synchronous ?? 'FULL', options.busyTimeoutMs ?? 5000);
      registerStreamHash(db);
      migrateSqlite(db, 'event-store', sqliteEventStoreMigrations);
      return new SqliteEventStore(db, options, takeFileLock(db));
    } catch (error) {
      db.close();
      throw sqliteError(`open of "${path}"`, error);
    }
  }

  protected writeBatch(units: PreparedAppend[][]): Promise<UnitResult[]> {
    try {
      return Promise.resolve(this.writeTransaction(units));
    } catch (error) {
      // Named when the batch is one append: the base class writes a batch that the database
      // refused again without the append at fault, down to that append alone.
      return Promise.reject(
        sqliteError('append', error, units.length === 1 ? streamNames(units) : []),
      );
    }
  }

  protected runTransaction<T>(
    work: (tx: SqliteTransaction) => Promise<T>,
  ): Promise<{ result: T; tx: BaseStoreTransaction }> {
    let connection: TransactionConnection;
    try {
      connection = this.openTransactionConnection();
      connection.db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      if (this.transactionConnection) this.abandon(this.transactionConnection);
      return Promise.reject(sqliteError('begin of a transaction', error));
    }
    const tx = new SqliteStoreTransaction(this.maxEventBytes, connection, this.commitFlushing);
    // Called from an async function: whatever `work` throws, even synchronously, rolls back.
    const running = (async () => work(tx))();
    return running.then(
      (result) => {
        tx.end();
        // A flush failed while the work ran: nothing more is committed.
        const failed = this.flusher?.failed;
        if (failed) {
          this.abandon(connection);
          throw failed;
        }
        try {
          connection.db.exec('COMMIT');
        } catch (error) {
          this.abandon(connection);
          throw sqliteError('commit of a transaction', error);
        }
        this.flushTransaction(tx);
        return { result, tx };
      },
      (error: unknown) => {
        tx.end();
        this.abandon(connection);
        // What `work` threw is passed on as is, but for the driver's own errors (a statement
        // on `tx.database` that met a full disk, say), which get their Causeway code.
        throw error instanceof Database.SqliteError ? sqliteError('transaction', error) : error;
      },
    );
  }

  /**
   * After a transaction that waits for its flush committed (at NORMAL, on its connection):
   * flushes at once when nobody waits for the write lock and no flush is under way (nothing
   * would share it), else leaves it to the flusher, which the transaction then waits for
   * outside the write lock while the next writer commits.
   */
  private flushTransaction(tx: SqliteStoreTransaction): void {
    const flusher = this.flusher;
    if (!flusher) return;
    flusher.committed();
    if (!tx.waitsForFlush) {
      // Relaxed: flushed in the background all the same (so it does not wait for the next
      // commit to become durable), but nobody waits for it.
      flusher.durable()?.catch(() => undefined);
      return;
    }
    // Asked for now, before the write lock passes on: a close() waiting for the lock finds
    // the flush under way (or done) and waits for it.
    if (this.flushesAlone()) {
      try {
        flusher.flushNow();
      } catch (error) {
        tx.flushedWith(awaitedLater(Promise.reject(error as Error)));
      }
      return;
    }
    tx.flushedWith(awaitedLater(flusher.durable()));
  }

  /**
   * Whether a commit now would have its flush to itself: no writer waits for the lock and no
   * flush is under way. It is then flushed on the spot, sparing the hop to a thread; else the
   * flusher takes it, and the lock passes on while it runs.
   */
  private flushesAlone(): boolean {
    return !this.flusher?.busy && this.fileLock.lock.queued === 0;
  }

  /**
   * Rolls back and closes the transaction's connection, so nothing the failed work may still
   * be doing with it (a handler that timed out, say) can reach a later transaction.
   */
  private abandon(connection: TransactionConnection): void {
    try {
      if (connection.db.open && connection.db.inTransaction) connection.db.exec('ROLLBACK');
    } catch {
      // Closing the connection below rolls back whatever is left.
    }
    if (this.transactionConnection === connection) this.transactionConnection = undefined;
    if (connection.db !== this.database && connection.db.open) connection.db.close();
  }

  /**
   * The connection of the transaction the caller runs inside of (its work, in the same async
   * context), or undefined outside one. A component of the store (its key store) that must
   * write from inside a transaction writes there, joining it: the store's write lock, and
   * SQLite's, are the transaction's until it ends.
   */
  transactionDatabase(): Database.Database | undefined {
    const db = this.insideTransaction() ? this.transactionConnection?.db : undefined;
    return db?.open && db.inTransaction ? db : undefined;
  }

  private openTransactionConnection(): TransactionConnection {
    if (this.transactionConnection?.db.open) return this.transactionConnection;
    let db = this.database;
    // A private in-memory database has no file to open twice: transactions share the
    // store's connection, and its readers see their writes before they commit.
    if (!this.database.memory) {
      db = new Database(this.fileLock.path, { fileMustExist: true });
      try {
        // Only transactions commit on this connection, and the flusher makes each durable.
        configure(db, this.flusher ? 'NORMAL' : this.synchronous, this.busyTimeoutMs);
      } catch (error) {
        db.close();
        throw error;
      }
    }
    const statements = db === this.database ? this.statements : prepareStatements(db);
    // Called inside the open transaction, a better-sqlite3 transaction is a savepoint.
    const savepoint = db.transaction((units: PreparedAppend[][]) =>
      this.writeNow(statements, units),
    );
    this.transactionConnection = { db, statements, write: (units) => savepoint(units) };
    return this.transactionConnection;
  }

  protected override startWatching(): void {
    let head = 0;
    try {
      head = this.statements.head.get()?.head ?? 0;
    } catch {
      // The poller reads it again on its first tick.
    }
    if (head > this.notifiedPosition) this.notifiedPosition = head;
    if (this.database.memory) {
      this.poller = setInterval(() => this.poll(), this.pollIntervalMs);
      // Watching alone never keeps the process alive.
      this.poller.unref();
      return;
    }
    this.commitWatcher ??= new SqliteCommitWatcher({
      database: this.database,
      file: this.fileLock.path,
      pollIntervalMs: this.pollIntervalMs,
      watchFile: this.watchFile,
      onChange: () => this.poll(),
    });
    this.commitWatcher.start();
  }

  protected override stopWatching(): void {
    clearInterval(this.poller);
    this.poller = undefined;
    this.commitWatcher?.stop();
  }

  /**
   * How other connections' commits are noticed while the store is watched: `'file'` (a watch
   * of the `-wal` file, backed by a poll), `'polling'` (the poll of `pollIntervalMs` alone) or
   * `'idle'` (nobody watches, or the database is a private in-memory one).
   */
  get watchState(): SqliteWatchState {
    return this.commitWatcher?.watchState ?? 'idle';
  }

  /** Counters of the commit watch (see {@link SqliteWatchStats}), zero until first watched. */
  get watchStats(): SqliteWatchStats {
    return (
      this.commitWatcher?.stats ?? {
        checks: 0,
        changes: 0,
        changesAfterFileEvent: 0,
        fileEvents: 0,
      }
    );
  }

  /**
   * Other processes' commits show as a head beyond what was last reported. While a commit
   * of this store waits for its flush, the poll waits too: the watch of the `-wal` file sees
   * the commit's frames before they are durable, and watchers must not hear of them before.
   */
  private poll(): void {
    if (this.isClosed || !this.database.open) return;
    // After a failed flush, commits seen in the file may be lost: watchers hear no more.
    if (this.flusher?.failed) return;
    const flushing = this.flusher?.durable();
    if (flushing) {
      if (!this.pollDeferred) {
        this.pollDeferred = true;
        const again = () => {
          this.pollDeferred = false;
          this.poll();
        };
        flushing.then(again, again);
      }
      return;
    }
    let head: number;
    try {
      head = this.statements.head.get()?.head ?? 0;
    } catch {
      return; // The next tick looks again.
    }
    if (head > this.notifiedPosition) this.notifyCommitted(head);
  }

  private writeNow(s: Statements, units: PreparedAppend[][]): UnitResult[] {
    const states = new Map<string, StreamState>();
    for (const name of streamNames(units)) {
      const row = s.stream.get(name);
      if (row) states.set(name, { revision: row.revision, deleted: row.deleted });
    }
    const stored = new Map<string, StoredEventRef>();
    for (const id of clientIds(units)) {
      const ref = s.eventById.get(id);
      if (ref) stored.set(id, ref);
    }
    const plan = planAppends(units, states, stored);
    const base = plan.rows.length > 0 ? (s.head.get()?.head ?? 0) : 0;
    if (plan.rows.length > 0) {
      const recordedAt = this.clock.now();
      // Rows go in chunks of a multi-row INSERT: one statement step per chunk instead of
      // one per event is what lets a batched append run near the raw driver's speed.
      const rows = plan.rows;
      const params: unknown[] = [];
      const push = rowPusher(params, recordedAt);
      let i = 0;
      for (; i + INSERT_CHUNK <= rows.length; i += INSERT_CHUNK) {
        params.length = 0;
        for (let j = i; j < i + INSERT_CHUNK; j++) push(rows[j] as PlannedRow, base + 1 + j);
        s.insertChunk.run(params);
      }
      for (; i < rows.length; i++) {
        params.length = 0;
        push(rows[i] as PlannedRow, base + 1 + i);
        s.insertEvent.run(params);
      }
      for (const [name, state] of plan.streams) s.upsertStream.run(name, state.revision);
    }
    return plan.outcomes.map((o) => (o.ok ? resolveOutcome(o, base) : o.error));
  }

  protected loadStream(stream: string): Promise<StoredStream | undefined> {
    return guard('read', () => {
      const row = this.statements.stream.get(stream);
      return row
        ? {
            state: { revision: row.revision, deleted: row.deleted },
            metadata: parseStreamMetadata(row.metadata),
          }
        : undefined;
    });
  }

  protected fetchStreamPage(
    stream: string,
    w: StreamWindow,
    next: number,
    size: number,
  ): Promise<RecordedEvent[]> {
    const age = w.minRecordedAt !== undefined;
    const sql = w.forward
      ? `SELECT ${EVENT_COLUMNS} FROM causeway_events WHERE stream = ? AND revision >= ?${age ? ' AND recorded_at >= ?' : ''} ORDER BY revision LIMIT ?`
      : `SELECT ${EVENT_COLUMNS} FROM causeway_events WHERE stream = ? AND revision <= ? AND revision >= ?${age ? ' AND recorded_at >= ?' : ''} ORDER BY revision DESC LIMIT ?`;
    const params: unknown[] = w.forward ? [stream, next] : [stream, next, w.lowest];
    if (age) params.push(w.minRecordedAt);
    params.push(size);
    return guard('read', () => this.read(sql, params));
  }

  protected fetchAllPage(w: AllWindow, next: number, size: number): Promise<RecordedEvent[]> {
    const where = [w.forward ? 'position >= ?' : 'position <= ?'];
    const params: unknown[] = [next];
    if (w.types) {
      where.push('type IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(w.types));
    }
    if (w.streamPrefix !== undefined) {
      where.push('substr(stream, 1, ?) = ?');
      // substr counts characters (code points), not UTF-16 units.
      params.push([...w.streamPrefix].length, w.streamPrefix);
    }
    if (w.partition) {
      // The hash is stored with each event: no join, and rows of other partitions are
      // skipped inside SQLite without being decoded. A row that a process of an older
      // version appended has the column's default, 0, and is hashed here (a stream whose
      // hash really is 0 gets 0 again).
      where.push(
        `(CASE stream_hash WHEN 0 THEN ${STREAM_HASH_FUNCTION}(stream) ELSE stream_hash END) % ? = ?`,
      );
      params.push(w.partition.count, w.partition.index);
    }
    params.push(size);
    // Events of tombstoned streams are never read, scavenged yet or not. The tombstones'
    // partial index makes this one small lookup per page (a correlated NOT EXISTS per row
    // costs a third more on a page query). With no tombstone at all (the common case) the
    // uncorrelated EXISTS, worked out once per page, skips the per-row list check: 4% of a
    // page query.
    where.push(
      `(NOT EXISTS (SELECT 1 FROM causeway_streams WHERE deleted = ${Deleted.hard}) OR stream NOT IN (SELECT name FROM causeway_streams WHERE deleted = ${Deleted.hard}))`,
    );
    const sql = `SELECT ${EVENT_COLUMNS} FROM causeway_events e WHERE ${where.join(' AND ')} ORDER BY position ${w.forward ? 'ASC' : 'DESC'} LIMIT ?`;
    return guard('read', () => this.read(sql, params));
  }

  /**
   * better-sqlite3 commits synchronously, blocking the event loop, so appends from separate
   * I/O callbacks (HTTP requests) never overlap a batch; flushing after the poll phase lets
   * all of a loop turn's arrivals share one commit and one fsync.
   */
  protected override scheduleFlush(flush: () => void): void {
    setImmediate(flush);
  }

  /** The WHERE clause of a streams query, over `causeway_streams s`, with its parameters. */
  private streamsWhere(query: StreamsQuery): { where: string[]; params: unknown[] } {
    // BINARY collation compares UTF-8 bytes: code point order, as the port promises.
    const where = ['s.revision >= 0'];
    const params: unknown[] = [];
    if (!query.includeDeleted) where.push('s.deleted = 0');
    if (query.after !== undefined) {
      where.push('s.name > ?');
      params.push(query.after);
    }
    if (query.prefix !== undefined) {
      where.push('s.name >= ?');
      params.push(query.prefix);
      const upper = prefixUpperBound(query.prefix);
      if (upper !== undefined) where.push('s.name < ?');
      else where.push('substr(s.name, 1, ?) = ?');
      params.push(...(upper !== undefined ? [upper] : [[...query.prefix].length, query.prefix]));
    }
    return { where, params };
  }

  protected override fetchStreamCount(query: StreamsQuery): Promise<number> {
    const { where, params } = this.streamsWhere(query);
    const sql = `SELECT count(*) AS n FROM causeway_streams s WHERE ${where.join(' AND ')}`;
    return guard('read', () => {
      let stmt = this.cachedStreamCounts.get(sql);
      if (!stmt) {
        stmt = this.database.prepare<unknown[], { n: number }>(sql);
        this.cachedStreamCounts.set(sql, stmt);
      }
      return stmt.get(...params)?.n ?? 0;
    });
  }

  protected fetchStreamsPage(query: StreamsQuery, size: number): Promise<StreamSummary[]> {
    const { where, params } = this.streamsWhere(query);
    params.push(size);
    const sql = `SELECT s.name, s.revision, s.deleted, coalesce(e.position, 0) AS position
      FROM causeway_streams s
      LEFT JOIN causeway_events e ON e.stream = s.name AND e.revision = s.revision
      WHERE ${where.join(' AND ')} ORDER BY s.name LIMIT ?`;
    return guard('read', () => {
      let stmt = this.cachedStreamLists.get(sql);
      if (!stmt) {
        stmt = this.database.prepare<unknown[], StreamListRow>(sql);
        this.cachedStreamLists.set(sql, stmt);
      }
      return stmt.all(...params).map((row) => ({
        stream: row.name,
        revision: row.revision,
        lastPosition: row.position,
        deleted: deletedLabel(row.deleted),
      }));
    });
  }

  private read(sql: string, params: unknown[]): RecordedEvent[] {
    let stmt = this.cachedReads.get(sql);
    if (!stmt) {
      stmt = this.database.prepare<unknown[], Row>(sql).raw(true);
      this.cachedReads.set(sql, stmt);
    }
    // A row that cannot be decoded becomes a placeholder that the read throws at its place.
    return decodeEventRows(stmt.all(...params));
  }

  protected deleteStreamNow(stream: string, options: DeleteStreamOptions): Promise<void> {
    return guard('deleteStream', () =>
      this.database
        .transaction(() => {
          const row = this.statements.stream.get(stream);
          const metadata = parseStreamMetadata(row?.metadata);
          const plan = planDelete(
            stream,
            row && { revision: row.revision, deleted: row.deleted },
            metadata,
            options,
          );
          if (!plan.changed) return;
          const newMetadata = plan.metadata ?? (row?.metadata ? metadata : undefined);
          this.statements.setDeleted.run(
            stream,
            plan.deleted,
            newMetadata ? JSON.stringify(newMetadata) : null,
          );
        })
        .immediate(),
    );
  }

  protected setStreamMetadataNow(stream: string, metadataJson: string): Promise<void> {
    return guard('setStreamMetadata', () =>
      this.database
        .transaction(() => {
          const row = this.statements.stream.get(stream);
          if (row?.deleted === Deleted.hard) throw new StreamDeletedError(stream);
          this.statements.setMetadata.run(stream, metadataJson);
        })
        .immediate(),
    );
  }

  /**
   * Removes the events no read shows any more (see `Scavengeable`), in batches, each one
   * `BEGIN IMMEDIATE` transaction with `secure_delete` on, so removed content is overwritten
   * in the file's pages; then checkpoints the WAL and truncates it, so no copy is left there
   * either, and, with `vacuum`, rewrites the file so it shrinks.
   */
  async scavenge(options?: ScavengeOptions): Promise<ScavengeReport> {
    const report = await this.scavengeWith(
      {
        candidates: (after, limit) =>
          guard('scavenge', () =>
            this.scavengeSql()
              .candidates.all(after ?? null, after ?? null, limit)
              .map((row) => row.name),
          ),
        batch: (request) => guard('scavenge', () => this.scavengeBatch(request)),
      },
      options,
    );
    if (report.dryRun) return report;
    const vacuum = options?.vacuum === true;
    return this.withWriteLock(() =>
      guard('scavenge', () => {
        const size = () =>
          Number(this.database.pragma('page_count', { simple: true })) *
          Number(this.database.pragma('page_size', { simple: true }));
        const before = size();
        if (vacuum) this.database.exec('VACUUM');
        if (!this.database.memory) this.database.pragma('wal_checkpoint(TRUNCATE)');
        return vacuum ? { ...report, fileBytesFreed: Math.max(0, before - size()) } : report;
      }),
    );
  }

  private scavengeSql(): ReturnType<typeof prepareScavengeStatements> {
    this.scavengeStatements ??= prepareScavengeStatements(this.database);
    return this.scavengeStatements;
  }

  private scavengeBatch(request: ScavengeBatchRequest): ScavengeBatchOutcome {
    const sql = this.scavengeSql();
    const work = () => {
      const outcome = newScavengeOutcome();
      if (!request.dryRun) sql.keepFloor.run();
      for (const name of request.streams) {
        const row = this.statements.stream.get(name);
        const hidden =
          row &&
          hiddenEvents(
            { revision: row.revision, deleted: row.deleted },
            parseStreamMetadata(row.metadata),
            request.now,
          );
        let removed = 0;
        let bytes = 0;
        if (hidden) {
          const params: HiddenParams = {
            stream: name,
            all: hidden.all ? 1 : 0,
            below: hidden.all ? 0 : hidden.belowRevision,
            before: hidden.all ? null : (hidden.recordedBefore ?? null),
          };
          if (request.dryRun) {
            const counted = sql.count.get(params);
            removed = counted?.n ?? 0;
            bytes = counted?.bytes ?? 0;
          } else {
            const rows = sql.remove.all({ ...params, limit: request.limit - outcome.removed });
            removed = rows.length;
            for (const r of rows) bytes += r.bytes;
          }
        }
        if (countScavenged(outcome, { name, removed, bytes }))
          if (request.dryRun || !sql.any.get(name)) outcome.emptied += 1;
        if (request.dryRun) {
          outcome.done += 1;
          continue;
        }
        if (outcome.removed === request.limit) {
          // Full: the stream is done only if nothing of it is left to remove.
          if (!hidden || (sql.count.get(hiddenParams(name, hidden))?.n ?? 0) === 0)
            outcome.done += 1;
          break;
        }
        outcome.done += 1;
      }
      return outcome;
    };
    if (request.dryRun) return work();
    // Removed rows' content is overwritten with zeros, not left in free pages: every
    // connection of the store runs with `secure_delete` on (see `configure`).
    return this.database.transaction(work).immediate();
  }

  protected readHeadPosition(): Promise<number> {
    return guard('read', () => this.statements.head.get()?.head ?? 0);
  }

  protected async release(): Promise<void> {
    // Commits made before close() still become durable, and their callers hear of it; a
    // relaxed commit nobody waits for is flushed here if no flush covered it yet.
    const flusher = this.flusher;
    if (flusher) {
      await flusher.settled();
      if (flusher.pending && !flusher.failed) {
        try {
          flusher.flushNow();
        } catch {
          // Nobody waits for those commits; the store is closing either way.
        }
      }
      flusher.close();
    }
    if (this.transactionConnection) this.abandon(this.transactionConnection);
    this.database.close();
    this.fileLock.release();
  }
}

/** A transaction of the SQLite store: each append runs in a savepoint of it. */
class SqliteStoreTransaction extends BaseStoreTransaction implements SqliteTransaction {
  private relaxed = false;
  /** The flush the commit waits for, if any (see `SqliteEventStore.flushTransaction`). */
  private flush: Promise<void> | undefined;

  constructor(
    maxEventBytes: number,
    private readonly connection: TransactionConnection,
    /** Whether commits wait for their flush, and whether the store can relax that. */
    private readonly flushing: { waits: boolean; relaxable: boolean },
  ) {
    super(maxEventBytes);
  }

  get waitsForFlush(): boolean {
    // A transaction that appended events waits, relaxed or not: they must not be reported
    // (nor read by subscriptions woken by the report) before they are durable.
    return this.flushing.waits && !(this.relaxed && this.lastPosition === 0);
  }

  flushedWith(flush: Promise<void> | undefined): void {
    this.flush = flush;
  }

  flushed(): Promise<void> | undefined {
    return this.flush;
  }

  relaxCommit(): boolean {
    if (!this.flushing.relaxable) return false;
    this.relaxed = true;
    return true;
  }

  get database(): Database.Database {
    return this.connection.db;
  }

  protected writeUnit(unit: PreparedAppend[]): Promise<AppendResult[]> {
    let result: UnitResult | undefined;
    try {
      [result] = this.connection.write([unit]);
    } catch (error) {
      return Promise.reject(sqliteError('append', error, streamNames([unit])));
    }
    if (result instanceof Error) return Promise.reject(result);
    if (!result) return Promise.reject(new Error('internal: append produced no result'));
    return Promise.resolve(result);
  }
}

/**
 * `promise`, marked as handled: it is awaited later (once the transaction's commit callbacks
 * ran), and a failure in between must not count as an unhandled rejection.
 */
function awaitedLater<T>(promise: Promise<T> | undefined): Promise<T> | undefined {
  promise?.catch(() => undefined);
  return promise;
}

/**
 * The flusher of a store's commits, or undefined when its `-wal` file cannot be opened (the
 * store then flushes inside each commit, as SQLite does at FULL).
 */
function openFlusher(walFile: string): SqliteWalFlusher | undefined {
  try {
    return new SqliteWalFlusher(walFile);
  } catch {
    return undefined;
  }
}

/** Per-connection settings (the journal mode belongs to the file and is set once). */
function configure(
  db: Database.Database,
  synchronous: 'FULL' | 'NORMAL' | 'OFF',
  busyTimeoutMs: number,
): void {
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  // Deleted and overwritten content is zeroed, not left in free space: erasing a forgotten
  // subject's copies (and deleting streams) leaves no old bytes in the file.
  db.pragma('secure_delete = ON');
}

/**
 * Runs a synchronous database call: its result, or its failure as a Causeway error (see
 * {@link sqliteError}), as a promise.
 */
function guard<T>(operation: string, call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(sqliteError(operation, error));
  }
}

function hiddenParams(stream: string, hidden: HiddenEvents): HiddenParams {
  return hidden.all
    ? { stream, all: 1, below: 0, before: null }
    : { stream, all: 0, below: hidden.belowRevision, before: hidden.recordedBefore ?? null };
}

/**
 * A function that pushes a planned row's {@link INSERT_COLUMNS} onto `params`. A stream's rows
 * come one after the other in a plan, so its hash is computed once per run of them, not per
 * event (hashing every row cost about 5% of a batched append).
 */
function rowPusher(
  params: unknown[],
  recordedAt: number,
): (row: PlannedRow, position: number) => void {
  let hashed: string | undefined;
  let hash = 0;
  return (row, position) => {
    if (row.stream !== hashed) {
      hashed = row.stream;
      hash = fnv1a32(row.stream);
    }
    const e = row.event;
    params.push(
      position,
      e.id,
      row.stream,
      row.revision,
      e.type,
      e.data,
      e.metadata,
      e.schemaVersion,
      recordedAt,
      hash,
    );
  };
}

/**
 * Decodes an events-table row (for Causeway components reading the same file).
 *
 * @throws {EventDecodeError} when a column does not hold what the store writes there.
 */
export function toEvent(r: Row): RecordedEvent {
  return decodeEventRow(r);
}
