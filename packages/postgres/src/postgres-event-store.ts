import {
  DatabaseError,
  Pool,
  escapeIdentifier,
  escapeLiteral,
  type PoolClient,
  type QueryArrayConfig,
} from 'pg';
import {
  type RecordedEvent,
  CausewayError,
  InvalidArgumentError,
  StoreClosedError,
  StoreUnavailableError,
  StreamDeletedError,
  encodeJson,
  fnv1a32,
  type AppendResult,
  type DeleteStreamOptions,
  type EventStoreOptions,
  type StoreTransaction,
  type StreamMetadata,
  type StreamSummary,
  hiddenEvents,
  type ScavengeOptions,
  type ScavengeReport,
  type Scavengeable,
} from '@causewayjs/core';
import {
  clientIds,
  planAppends,
  planDelete,
  resolveOutcome,
  streamNames,
  Deleted,
  deletedLabel,
  type DeletedFlag,
  type PlannedRow,
  type StoredEventRef,
  type StreamState,
  type UnitResult,
  BaseEventStore,
  type StoredStream,
  decodeEventRow,
  decodeEventRows,
  prefixUpperBound,
  type AllWindow,
  type StreamWindow,
  type StreamsQuery,
  BaseStoreTransaction,
  type PreparedAppend,
  type ScavengeBatchOutcome,
  type ScavengeBatchRequest,
  countScavenged,
  newScavengeOutcome,
} from '@causewayjs/core/internals';
import {
  PostgresCommitListener,
  commitChannel,
  listenerLockKey,
  type CommitListenerState,
} from './postgres-commit-listener.js';
import { checkOut, guardPool, type CheckedOutClient } from './postgres-connection.js';
import { postgresError } from './postgres-errors.js';
import { migrateEventStore } from './postgres-migrations.js';
import { assertSchemaName, messageOf, redact } from './postgres-support.js';

/** Options of {@link PostgresEventStore.open}. */
export interface PostgresEventStoreOptions extends EventStoreOptions {
  /**
   * The PostgreSQL schema holding the store's tables, created if missing. Default: the
   * URL's `?schema=` parameter, else `public`.
   */
  schema?: string;
  /** Most connections in the pool. Default 10. */
  maxConnections?: number;
  /**
   * For tests: `beforeCommit` is awaited inside every append transaction that writes
   * events, after positions are allocated and just before COMMIT. Delaying there holds the
   * commit-order lock; throwing there rolls the whole batch back and rejects its appends
   * with that error.
   */
  hooks?: {
    beforeCommit?: () => Promise<void>;
  };
  /**
   * Whether append transactions send a `NOTIFY` that watchers in other processes receive
   * (default true). `NOTIFY` serialises the commits of notifying transactions database-wide
   * (the store's commits are serialised per schema anyway), so it is sent only while some
   * process listens on the schema's channel (see `docs/postgres-ordering.md`). `false` never
   * sends it, and watchers then poll the head position instead.
   */
  notify?: boolean;
  /** How {@link PostgresEventStore.watch} learns of other processes' commits. */
  listen?: {
    /** Head-position polling interval while the listening connection is down, in ms (default 500). */
    pollIntervalMs?: number;
    /** First delay before listening again after the connection dropped, in ms (default 500). */
    reconnectDelayMs?: number;
  };
}

/**
 * A transaction of a {@link PostgresEventStore}: a pooled connection inside `BEGIN`. Queries
 * run on `client` while the work runs are part of the transaction.
 *
 * Appending takes the store's commit-order lock (see `docs/postgres-ordering.md`) and holds
 * it until the transaction ends, stalling every other writer of the schema meanwhile:
 * append last, and keep transactions that append short.
 *
 * @example
 * ```ts
 * await store.transaction(async (tx) => {
 *   await tx.client.query('UPDATE order_totals SET total = total + $2 WHERE id = $1', [id, n]);
 * });
 * ```
 */
export interface PostgresTransaction extends StoreTransaction {
  /** The connection, inside the transaction. Do not keep it past the transaction. */
  readonly client: PoolClient;
}

/** How an append batch is framed: its own transaction, or a savepoint of the caller's. */
interface BatchFrame {
  begin: string;
  /** Ends it after writing. */
  end: string;
  /** Ends it when there was nothing to write. */
  empty: string;
  /** Undoes it after a failure. */
  undo: string;
}

const OWN_TRANSACTION: BatchFrame = {
  begin: 'BEGIN',
  end: 'COMMIT',
  empty: 'ROLLBACK',
  undo: 'ROLLBACK',
};

const SAVEPOINT: BatchFrame = {
  begin: 'SAVEPOINT causeway_append',
  end: 'RELEASE SAVEPOINT causeway_append',
  empty: 'RELEASE SAVEPOINT causeway_append',
  undo: 'ROLLBACK TO SAVEPOINT causeway_append',
};

/** Default size of the connection pool. */
const DEFAULT_MAX_CONNECTIONS = 10;

/**
 * How often a batch is re-planned after losing a race with another process (a unique key
 * or deadlock error). Each retry sees the winner's committed state, so one or two suffice.
 */
const MAX_ATTEMPTS = 5;

/** SQLSTATEs after which re-running the whole batch gives the right answer. */
const RETRYABLE = new Set([
  '23505', // unique_violation: another process wrote the same stream revision or event id
  '40P01', // deadlock_detected
  '40001', // serialization_failure
]);

/** Longest identifier PostgreSQL keeps without truncating (NAMEDATALEN - 1 bytes). */

/** Query parameters the `pg` driver reads from a connection URL; others are removed. */
const DRIVER_URL_PARAMS = new Set([
  'host',
  'port',
  'user',
  'password',
  'db',
  'encoding',
  'ssl',
  'sslmode',
  'sslcert',
  'sslkey',
  'sslrootcert',
  'sslnegotiation',
  'uselibpqcompat',
  'options',
  'client_encoding',
  'replication',
  'application_name',
  'fallback_application_name',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
]);

/** Column list of event reads, and the row it gives in array mode. */
const EVENT_COLUMNS =
  'position, id, stream, revision, type, data, metadata, schema_version, stream_hash, recorded_at';
/**
 * What reads select: `recorded_at` comes back as epoch milliseconds, a float the driver turns
 * into a number far faster than it parses timestamp text (a quarter of a long read's time).
 * `data` and `metadata` come back as text, parsed by the store's decoder rather than the
 * driver's, so a row that does not decode fails alone, as an `EventDecodeError`.
 */
export const READ_COLUMNS =
  'position, id, stream, revision, type, data::text, metadata::text, schema_version, (extract(epoch FROM recorded_at) * 1000)::float8';
/** An events-table row as reads select it ({@link READ_COLUMNS}, array mode). */
export type EventRow = [
  string,
  string,
  string,
  string,
  string,
  string | null,
  string | null,
  number,
  number,
];

/** Carries an error thrown by `hooks.beforeCommit`, which is passed on unchanged. */
class HookError extends Error {}

/**
 * An event store in PostgreSQL (13 or newer), for several processes sharing one database.
 *
 * Every append transaction allocates its positions from a one-row counter as its last write
 * before COMMIT. That row lock makes transactions commit in position order, so a reader that
 * has seen position p never later finds a newly committed event below p, and positions have
 * no gaps (see `docs/postgres-ordering.md`). Concurrent appends in one process share one
 * transaction (group commit). Reads are keyset-paged: no cursor or connection is held while
 * the caller consumes a page.
 *
 * @example
 * ```ts
 * import { PostgresEventStore } from '@causewayjs/postgres';
 *
 * const store = await PostgresEventStore.open('postgres://app@db:5432/shop?schema=events');
 * await store.append('order-42', [{ type: 'order.placed', data: { total: 10 } }], {
 *   expectedRevision: 'no_stream',
 * });
 * await store.close();
 * ```
 */
export class PostgresEventStore
  extends BaseEventStore<PostgresTransaction>
  implements Scavengeable
{
  private readonly sql: ReturnType<typeof statements>;
  private readonly beforeCommit: (() => Promise<void>) | undefined;
  private readonly listenOptions: {
    pollIntervalMs: number;
    reconnectDelayMs: number;
    listen: boolean;
  };
  private listener: PostgresCommitListener | undefined;
  /**
   * Transactions hold a connection while their work runs, and that work may need another:
   * a read through the store (a hash chain's head), a component's query (a data key). Were
   * every connection of the pool held by a transaction waiting for one, none would ever come
   * back: so one is always left to the rest.
   */
  private readonly transactionSlots: Slots;

  private constructor(
    /**
     * The store's connection pool. Causeway components keeping tables beside the events
     * (snapshots, schema storage) can share it: `PostgresSnapshotStore.open(store)`.
     */
    readonly pool: Pool,
    /** The PostgreSQL schema holding the tables. */
    readonly schema: string,
    options: PostgresEventStoreOptions,
  ) {
    super(options);
    this.transactionSlots = new Slots(
      Math.max(1, (options.maxConnections ?? DEFAULT_MAX_CONNECTIONS) - 1),
    );
    this.sql = statements(schema, options.notify === false ? undefined : commitChannel(schema));
    this.beforeCommit = options.hooks?.beforeCommit;
    this.listenOptions = {
      pollIntervalMs: options.listen?.pollIntervalMs ?? 500,
      reconnectDelayMs: options.listen?.reconnectDelayMs ?? 500,
      // Without NOTIFY from the writers (configured alike), LISTEN would hear nothing.
      listen: options.notify !== false,
    };
  }

  /**
   * How watchers learn of other processes' commits right now: `'listening'` (LISTEN),
   * `'polling'` (the listening connection is down; polling the head until it is back),
   * `'connecting'`, or `'idle'` (nobody watches).
   */
  get watchState(): CommitListenerState {
    return this.listener?.state ?? 'idle';
  }

  protected override startWatching(): void {
    this.listener = new PostgresCommitListener({
      connection: { connectionString: this.pool.options.connectionString },
      channel: commitChannel(this.schema),
      readHead: () => this.readHeadPosition(),
      // This process's own commits come back as NOTIFY too, after its watchers were told of
      // them: passing those on would wake every subscription again for a read that finds
      // nothing, and a commit arriving meanwhile would wait for that read.
      onCommit: (position, via) => {
        if (via === 'notify' && position > 0 && position <= this.notifiedPosition) return;
        this.notifyCommitted(position);
      },
      ...this.listenOptions,
    });
    this.listener.start();
  }

  protected override async stopWatching(): Promise<void> {
    const listener = this.listener;
    await listener?.stop();
    // A watch started meanwhile has its own listener, which stays.
    if (this.listener === listener) this.listener = undefined;
  }

  protected async runTransaction<T>(
    work: (tx: PostgresTransaction) => Promise<T>,
  ): Promise<{ result: T; tx: BaseStoreTransaction }> {
    await this.transactionSlots.acquire();
    try {
      return await this.transactionOnConnection(work);
    } finally {
      this.transactionSlots.release();
    }
  }

  private async transactionOnConnection<T>(
    work: (tx: PostgresTransaction) => Promise<T>,
  ): Promise<{ result: T; tx: BaseStoreTransaction }> {
    const lease = await this.connect();
    const client = lease.client;
    const tx = new PostgresStoreTransaction(this.maxEventBytes, client, (unit) =>
      this.writeInTransaction(client, unit),
    );
    let committed = false;
    try {
      // Not waited for: the connection is pipelined, so BEGIN goes ahead of the work's first
      // statement in the same flight and the transaction costs one round trip less. Its
      // answer comes before any later statement's, so it is known (and checked) first.
      const begun = client.query('BEGIN').then(
        () => undefined,
        (error: unknown) => this.unavailable('transaction', error),
      );
      let result: T;
      try {
        result = await work(tx);
      } catch (error) {
        const failedBegin = await begun;
        if (failedBegin) throw failedBegin;
        // Passed on as is, but for the driver's own errors, which get their Causeway code.
        throw error instanceof DatabaseError ? this.unavailable('transaction', error) : error;
      }
      const failedBegin = await begun;
      if (failedBegin) throw failedBegin;
      tx.end();
      let outcome: string;
      try {
        outcome = (await client.query('COMMIT')).command;
      } catch (error) {
        throw this.unavailable('commit', error);
      }
      // COMMIT of a transaction that an earlier statement aborted answers ROLLBACK.
      if (outcome !== 'COMMIT')
        throw new StoreUnavailableError(
          'PostgreSQL rolled the transaction back: a statement in it failed and the error was caught',
        );
      committed = true;
      return { result, tx };
    } catch (error) {
      tx.end();
      // A connection that broke under the work (a terminated backend, a restart) has said so
      // by the time its ROLLBACK fails: whatever the work made of its failed statements, the
      // transaction failed because PostgreSQL went away.
      if (!(await rollback(client)) || !lease.lost) throw error;
      throw error instanceof StoreUnavailableError ? error : this.connectionLost(lease.lost);
    } finally {
      tx.end();
      // After a failure the connection is discarded, so nothing the failed work may still be
      // doing with it (a handler that timed out, say) reaches a later transaction.
      lease.release(!committed);
    }
  }

  /** One append unit inside a caller's transaction, in a savepoint that a conflict rolls back. */
  private async writeInTransaction(
    client: PoolClient,
    unit: PreparedAppend[],
  ): Promise<AppendResult[]> {
    const units = [unit];
    const names = streamNames(units);
    const ids = clientIds(units);
    let lastConflict: unknown;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      let result: UnitResult | undefined;
      try {
        [result] = await this.tryWriteBatch(client, units, names, ids, SAVEPOINT);
      } catch (error) {
        try {
          await client.query(SAVEPOINT.undo);
        } catch (undoError) {
          throw this.unavailable('append', undoError);
        }
        if (isRetryable(error)) {
          lastConflict = error;
          continue;
        }
        throw this.unavailable('append', error, names);
      }
      if (result instanceof Error) throw result;
      if (!result) throw new Error('internal: append produced no result');
      return result;
    }
    throw new StoreUnavailableError(
      `Append still conflicted with other writers after ${MAX_ATTEMPTS} attempts`,
      lastConflict,
    );
  }

  /**
   * Connects, creates or migrates the store's tables, and returns the open store.
   *
   * @param url `postgres://user:password@host:5432/database`, optionally with `?schema=name`
   *   and any parameter the `pg` driver understands (such as `sslmode`).
   * @throws {StoreUnavailableError} when the server cannot be reached or refuses the
   *   connection (the driver's error is the `cause`).
   * @throws {SchemaTooNewError} when a newer Causeway migrated the schema further.
   */
  static async open(
    url: string,
    options: PostgresEventStoreOptions = {},
  ): Promise<PostgresEventStore> {
    const { connectionString, schema: urlSchema } = splitPostgresUrl(url);
    const schema = options.schema ?? urlSchema ?? 'public';
    assertSchemaName(schema);
    const max = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new InvalidArgumentError('maxConnections', 'must be an integer >= 1');
    }
    // A connection that breaks (a server restart, a terminated backend, the network) must
    // not end the process: see `guardPool`.
    const pool = guardPool(new Pool({ connectionString, max, pipeline: true }));
    let lease: CheckedOutClient;
    try {
      lease = await checkOut(pool);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new StoreUnavailableError(
        `Cannot connect to PostgreSQL at ${redact(connectionString)}: ${messageOf(error)}`,
        error,
      );
    }
    try {
      await migrateEventStore(lease.client, schema);
      lease.release();
    } catch (error) {
      lease.release(true);
      await pool.end().catch(() => undefined);
      if (error instanceof CausewayError) throw error;
      throw new StoreUnavailableError(
        `Cannot prepare schema "${schema}" at ${redact(connectionString)}: ${messageOf(error)}`,
        error,
      );
    }
    return new PostgresEventStore(pool, schema, options);
  }

  protected async writeBatch(units: PreparedAppend[][]): Promise<UnitResult[]> {
    const fast = await this.tryFastAppend(units);
    if (fast) return fast;
    const names = streamNames(units);
    const ids = clientIds(units);
    const lease = await this.connect();
    const client = lease.client;
    let broken: Error | undefined;
    let lastConflict: unknown;
    try {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        try {
          return await this.tryWriteBatch(client, units, names, ids);
        } catch (error) {
          broken = await rollback(client);
          if (broken) throw error;
          if (isRetryable(error)) {
            lastConflict = error;
            continue;
          }
          throw error;
        }
      }
    } catch (error) {
      if (error instanceof HookError) throw error.cause;
      // Named when the batch is one append: the base class writes a batch that the database
      // refused again without the append at fault, down to that append alone.
      throw this.unavailable('append', error, units.length === 1 ? names : []);
    } finally {
      lease.release(broken !== undefined);
    }
    throw new StoreUnavailableError(
      `Append still conflicted with other writers after ${MAX_ATTEMPTS} attempts`,
      lastConflict,
    );
  }

  /**
   * The common case in one round trip: a batch of one append to one stream that expects an
   * exact revision (or no stream). One autocommit statement advances the stream row only if
   * it is still at the expected revision and not deleted, takes positions from the counter
   * (still the last lock taken, so commit order is kept) and inserts the events. When the
   * check fails, or an id is already stored, nothing is written and the caller falls back to
   * the full path, which works out the precise outcome (conflict, idempotent retry, revival
   * of a soft-deleted stream...). Returns undefined when the fast path does not apply.
   */
  private async tryFastAppend(units: PreparedAppend[][]): Promise<UnitResult[] | undefined> {
    if (units.length !== 1 || this.beforeCommit) return undefined;
    const unit = units[0];
    const append = unit?.length === 1 ? unit[0] : undefined;
    if (!append) return undefined;
    const expected = append.expectedRevision;
    if (typeof expected !== 'number' && expected !== 'no_stream') return undefined;
    const first = typeof expected === 'number' ? expected + 1 : 0;
    const n = append.events.length;
    const last = first + n - 1;
    const recordedAt = new Date(this.clock.now());
    const event = append.events[0];
    let statement: Statement;
    let values: unknown[];
    if (n === 1 && event) {
      values = [
        event.id,
        append.stream,
        last,
        event.type,
        event.data,
        event.metadata,
        event.schemaVersion,
        fnv1a32(append.stream),
        recordedAt,
      ];
      statement = this.sql.fastAppendOneNew;
    } else {
      const columns = eventColumns(
        append.events.map((e, i) => ({ stream: append.stream, revision: first + i, event: e })),
      );
      values = [n, ...columns, recordedAt, last, append.stream];
      statement = this.sql.fastAppendNew;
    }
    if (typeof expected === 'number') {
      statement = n === 1 ? this.sql.fastAppendOneExisting : this.sql.fastAppendExisting;
      // The one-event statement takes the expected revision as $10, the other as $13: both
      // come right after the values above.
      values.push(expected);
    }
    let rows: unknown[][];
    try {
      rows = (await this.pool.query<unknown[]>(arrayQuery(statement, values))).rows;
    } catch (error) {
      // A stored id or a race on a new stream: the full path sorts it out. Anything else
      // (the server is gone, say) is for the full path to meet and report as well.
      if (error instanceof DatabaseError) return undefined;
      throw this.unavailable('append', error);
    }
    const base = rows[0]?.[0];
    if (base === undefined) return undefined;
    return [[{ stream: append.stream, revision: last, position: Number(base) + n }]];
  }

  /**
   * One attempt at a batch: lock the streams, plan in JS, write, commit. The connection is
   * pipelined, so this costs two round trips: BEGIN + lock (+ id lookup), then stream upsert
   * + event insert + COMMIT (three with a `beforeCommit` hook, which runs before COMMIT).
   */
  private async tryWriteBatch(
    client: PoolClient,
    units: PreparedAppend[][],
    names: string[],
    ids: string[],
    frame: BatchFrame = OWN_TRANSACTION,
  ): Promise<UnitResult[]> {
    // Locked in name order, so two batches sharing streams cannot deadlock on them.
    const [, locked, found] = await Promise.all([
      client.query(frame.begin),
      client.query<[string, string, DeletedFlag]>(arrayQuery(this.sql.lockStreams, [names])),
      ids.length > 0
        ? client.query<[string, string, string, string]>(arrayQuery(this.sql.findIds, [ids]))
        : undefined,
    ]);
    const streams = new Map<string, StreamState>();
    for (const [name, revision, deleted] of locked.rows) {
      streams.set(name, { revision: Number(revision), deleted });
    }
    // The id lookup runs after the lock statement, with a fresh snapshot: a batch whose
    // locks we waited for has committed by then, so its ids are seen. Ids committed by a
    // batch that shared no locked stream may be missed; the insert's unique key on id then
    // fails and the batch is re-planned.
    const stored = new Map<string, StoredEventRef>();
    for (const [id, stream, revision, position] of found?.rows ?? []) {
      stored.set(id, { stream, revision: Number(revision), position: Number(position) });
    }
    const plan = planAppends(units, streams, stored);
    if (plan.rows.length === 0) {
      await client.query(frame.empty);
      return plan.outcomes.map((o) => (o.ok ? resolveOutcome(o, 0) : o.error));
    }

    const written = [...plan.streams.keys()].sort();
    const n = plan.rows.length;
    const columns = eventColumns(plan.rows);
    const recordedAt = new Date(this.clock.now());
    // Streams first. One that did not exist when locked may have been created since: by
    // another append (the event insert then fails on (stream, revision)) or as a tombstone
    // (the upsert then fails, see `upsertStreams`). Either way the batch is re-planned.
    // Doing this before taking the counter means its holder never waits on a stream row.
    const upsert = client.query({
      ...this.sql.upsertStreams,
      values: [written, written.map((name) => plan.streams.get(name)?.revision ?? -1)],
    });
    // Positions last: from here to COMMIT this transaction holds the counter row, so
    // transactions commit in position order (see docs/postgres-ordering.md).
    const insert = client.query<[string]>(
      arrayQuery(this.sql.insertEvents, [n, ...columns, recordedAt]),
    );
    let base: number;
    if (this.beforeCommit && frame === OWN_TRANSACTION) {
      const [, inserted] = await Promise.all([upsert, insert]);
      base = Number(inserted.rows[0]?.[0]);
      try {
        await this.beforeCommit();
      } catch (error) {
        throw new HookError('beforeCommit failed', { cause: error });
      }
      await client.query('COMMIT');
    } else {
      // COMMIT goes in the same round trip. Should either write fail, the transaction is
      // already aborted and this COMMIT only ends it, writing nothing; the failure itself
      // comes back from that write's own promise.
      const [, inserted] = await Promise.all([upsert, insert, client.query(frame.end)]);
      base = Number(inserted.rows[0]?.[0]);
    }
    return plan.outcomes.map((o) => (o.ok ? resolveOutcome(o, base) : o.error));
  }

  protected async loadStream(stream: string): Promise<StoredStream | undefined> {
    const [row] = await this.read<[string, DeletedFlag, StreamMetadata | null]>(
      this.sql.loadStream,
      [stream],
    );
    if (!row) return undefined;
    return { state: { revision: Number(row[0]), deleted: row[1] }, metadata: row[2] ?? {} };
  }

  protected async fetchStreamPage(
    stream: string,
    w: StreamWindow,
    next: number,
    size: number,
  ): Promise<RecordedEvent[]> {
    const minRecordedAt = w.minRecordedAt === undefined ? null : new Date(w.minRecordedAt);
    const query = w.forward ? this.sql.streamForward : this.sql.streamBackward;
    const rows = await this.read<EventRow>(query, [stream, next, w.lowest, minRecordedAt, size]);
    return decodeEventRows(rows);
  }

  protected async fetchAllPage(w: AllWindow, next: number, size: number): Promise<RecordedEvent[]> {
    const query = w.forward ? this.sql.allForward : this.sql.allBackward;
    const rows = await this.read<EventRow>(query, [
      next,
      w.types ?? null,
      w.streamPrefix ?? null,
      size,
      w.partition?.count ?? null,
      w.partition?.index ?? null,
    ]);
    return decodeEventRows(rows);
  }

  /**
   * The WHERE clause of a streams query, over `streams s`, with its parameters. COLLATE "C"
   * compares UTF-8 bytes (code point order, as the port promises) and matches the
   * causeway_streams_name_c index, so a page or a count is one index range scan. The text is
   * built per shape rather than prepared with "$n IS NULL OR" guards, which a generic plan
   * could not turn into a range.
   */
  private streamsWhere(query: StreamsQuery): { where: string[]; values: unknown[] } {
    const where = ['s.revision >= 0'];
    const values: unknown[] = [];
    const param = (value: unknown) => {
      values.push(value);
      return `$${values.length}::text`;
    };
    if (!query.includeDeleted) where.push('s.deleted = 0');
    if (query.after !== undefined) where.push(`s.name COLLATE "C" > ${param(query.after)}`);
    if (query.prefix !== undefined) {
      where.push(`s.name COLLATE "C" >= ${param(query.prefix)}`);
      const upper = prefixUpperBound(query.prefix);
      where.push(
        upper !== undefined
          ? `s.name COLLATE "C" < ${param(upper)}`
          : `starts_with(s.name, ${param(query.prefix)})`,
      );
    }
    return { where, values };
  }

  protected override async fetchStreamCount(query: StreamsQuery): Promise<number> {
    const { where, values } = this.streamsWhere(query);
    try {
      const result = await this.pool.query<[string]>({
        text: `SELECT count(*) FROM ${this.sql.streamsTable} s WHERE ${where.join(' AND ')}`,
        values,
        rowMode: 'array',
      });
      return Number(result.rows[0]?.[0] ?? 0);
    } catch (error) {
      throw this.unavailable('read', error);
    }
  }

  protected async fetchStreamsPage(query: StreamsQuery, size: number): Promise<StreamSummary[]> {
    const { where, values } = this.streamsWhere(query);
    values.push(size);
    const text = `SELECT s.name, s.revision, s.deleted, coalesce(e.position, 0)
      FROM ${this.sql.streamsTable} s
      LEFT JOIN ${this.sql.eventsTable} e ON e.stream = s.name AND e.revision = s.revision
      WHERE ${where.join(' AND ')}
      ORDER BY s.name COLLATE "C" LIMIT $${values.length}::int`;
    try {
      const result = await this.pool.query<[string, string, DeletedFlag, string]>({
        text,
        values,
        rowMode: 'array',
      });
      return result.rows.map(([name, revision, deleted, position]) => ({
        stream: name,
        revision: Number(revision),
        lastPosition: Number(position),
        deleted: deletedLabel(deleted),
      }));
    } catch (error) {
      throw this.unavailable('read', error);
    }
  }

  protected async deleteStreamNow(stream: string, options: DeleteStreamOptions): Promise<void> {
    const lease = await this.connect();
    const client = lease.client;
    let broken: Error | undefined;
    try {
      // Make sure there is a row to lock, so a concurrent append creating the stream waits
      // for this delete (or this delete for it); the rollback below removes it if unused.
      const [, , locked] = await Promise.all([
        client.query('BEGIN'),
        client.query({ ...this.sql.ensureStream, values: [stream] }),
        client.query<[string, DeletedFlag, StreamMetadata | null]>(
          arrayQuery(this.sql.lockStream, [stream]),
        ),
      ]);
      const row = locked.rows[0];
      const state = row ? { revision: Number(row[0]), deleted: row[1] } : undefined;
      const plan = planDelete(stream, state, row?.[2] ?? {}, options);
      if (!plan.changed) {
        await client.query('ROLLBACK');
        return;
      }
      const metadata = plan.metadata ? encodeJson(plan.metadata) : null;
      await Promise.all([
        client.query({ ...this.sql.markDeleted, values: [stream, plan.deleted, metadata] }),
        client.query('COMMIT'),
      ]);
    } catch (error) {
      broken = await rollback(client);
      if (error instanceof CausewayError) throw error;
      throw this.unavailable('deleteStream', error);
    } finally {
      lease.release(broken !== undefined);
    }
  }

  protected async setStreamMetadataNow(stream: string, metadataJson: string): Promise<void> {
    // One statement: it creates the row or locks and updates it, unless it is a tombstone.
    let count: number | null;
    try {
      count = (await this.pool.query({ ...this.sql.setMetadata, values: [stream, metadataJson] }))
        .rowCount;
    } catch (error) {
      throw this.unavailable('setStreamMetadata', error);
    }
    if (count === 0) throw new StreamDeletedError(stream);
  }

  protected async readHeadPosition(): Promise<number> {
    const [row] = await this.read<[string]>(this.sql.headPosition, []);
    return Number(row?.[0] ?? 0);
  }

  protected async release(): Promise<void> {
    await this.pool.end();
  }

  /** A pooled connection, listened to while checked out (see {@link checkOut}). */
  private async connect(): Promise<CheckedOutClient> {
    try {
      return await checkOut(this.pool);
    } catch (error) {
      throw this.unavailable('connect', error);
    }
  }

  /** What a call fails with when its connection broke under it. */
  private connectionLost(error: Error): Error {
    if (this.isClosed) return new StoreClosedError();
    return new StoreUnavailableError(
      `PostgreSQL connection lost during the transaction: ${messageOf(error)}`,
      error,
    );
  }

  private async read<R extends unknown[]>(query: Statement, values: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(arrayQuery(query, values))).rows;
    } catch (error) {
      throw this.unavailable('read', error);
    }
  }

  /**
   * Removes the events no read shows any more (see `Scavengeable`), in batches, each one
   * transaction that locks the stream rows it works on (as appends do, so their metadata
   * cannot change under it) and deletes at most `batchSize` events. Positions come from the
   * log counter, which never goes back, so none is given twice. PostgreSQL reclaims the
   * space of deleted rows at `VACUUM` (autovacuum, or `VACUUM FULL` to shrink the files).
   */
  async scavenge(options?: ScavengeOptions): Promise<ScavengeReport> {
    return this.scavengeWith(
      {
        candidates: async (after, limit) =>
          (await this.read<[string]>(this.sql.scavengeCandidates, [after ?? null, limit])).map(
            ([name]) => name,
          ),
        batch: (request) => this.scavengeBatch(request),
      },
      options,
    );
  }

  private async scavengeBatch(request: ScavengeBatchRequest): Promise<ScavengeBatchOutcome> {
    const names = request.streams.slice(0, SCAVENGE_LOCKS);
    let lastConflict: unknown;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const lease = await this.connect();
      const client = lease.client;
      let broken: Error | undefined;
      try {
        return await this.tryScavengeBatch(client, names, request);
      } catch (error) {
        broken = await rollback(client);
        if (!broken && isRetryable(error)) {
          lastConflict = error;
          continue;
        }
        throw this.unavailable('scavenge', error);
      } finally {
        lease.release(broken !== undefined);
      }
    }
    throw new StoreUnavailableError(
      `Scavenge still conflicted with other writers after ${MAX_ATTEMPTS} attempts`,
      lastConflict,
    );
  }

  private async tryScavengeBatch(
    client: PoolClient,
    names: readonly string[],
    request: Omit<ScavengeBatchRequest, 'streams'>,
  ): Promise<ScavengeBatchOutcome> {
    const outcome = newScavengeOutcome();
    await client.query('BEGIN');
    const rows = await client.query<[string, string, DeletedFlag, StreamMetadata | null]>(
      arrayQuery(request.dryRun ? this.sql.scavengeRead : this.sql.scavengeLock, [names]),
    );
    const found = new Map(rows.rows.map((row) => [row[0], row]));
    for (const name of names) {
      const row = found.get(name);
      const hidden =
        row &&
        hiddenEvents({ revision: Number(row[1]), deleted: row[2] }, row[3] ?? {}, request.now);
      let removed = 0;
      let bytes = 0;
      const params = hidden
        ? [
            name,
            hidden.all,
            hidden.all ? 0 : hidden.belowRevision,
            hidden.all || hidden.recordedBefore === undefined
              ? null
              : new Date(hidden.recordedBefore),
          ]
        : [];
      if (hidden) {
        const query = request.dryRun
          ? arrayQuery(this.sql.scavengeCount, params)
          : arrayQuery(this.sql.scavengeRemove, [...params, request.limit - outcome.removed]);
        const [counted] = (await client.query<[number, number]>(query)).rows;
        removed = counted?.[0] ?? 0;
        bytes = counted?.[1] ?? 0;
      }
      if (countScavenged(outcome, { name, removed, bytes })) {
        const left = request.dryRun
          ? 0
          : (await client.query(arrayQuery(this.sql.scavengeAny, [name]))).rowCount;
        if (!left) outcome.emptied += 1;
      }
      if (request.dryRun) {
        outcome.done += 1;
        continue;
      }
      if (outcome.removed === request.limit) {
        // Full: the stream is done only if nothing of it is left to remove.
        const [rest] = (
          await client.query<[number, number]>(arrayQuery(this.sql.scavengeCount, params))
        ).rows;
        if ((rest?.[0] ?? 0) === 0) outcome.done += 1;
        break;
      }
      outcome.done += 1;
    }
    await client.query('COMMIT');
    return outcome;
  }

  /** The Causeway error for a driver failure (see {@link postgresError}). */
  private unavailable(operation: string, error: unknown, streams?: readonly string[]): Error {
    if (error instanceof CausewayError) return error;
    if (this.isClosed) return new StoreClosedError();
    return postgresError(operation, error, streams);
  }
}

/** Which of a stream's events scavenging removes: $1 stream, $2 all, $3 below, $4 before. */
const HIDDEN_WHERE = `stream = $1::text AND ($2::boolean OR revision < $3::bigint
  OR ($4::timestamptz IS NOT NULL AND recorded_at < $4::timestamptz))`;
/** UTF-8 bytes of an event's data and metadata. */
const EVENT_BYTES = 'octet_length(data::text) + octet_length(metadata::text)';
/** Streams locked per scavenge batch. */
const SCAVENGE_LOCKS = 64;

/** A named (server-side prepared) statement. */
interface Statement {
  name: string;
  text: string;
}

/**
 * The store's SQL for one schema. Names are per connection, and a pool serves one schema.
 * With a `channel`, the statement allocating positions also queues a `NOTIFY` carrying the
 * new head, which PostgreSQL delivers when (and only if) the transaction commits; it does so
 * only while another connection listens (see {@link listenerLockKey}).
 */
function statements(schema: string, channel: string | undefined) {
  const s = escapeIdentifier(schema);
  const streams = `${s}.causeway_streams`;
  const events = `${s}.causeway_events`;
  const log = `${s}.causeway_log`;
  const st = (name: string, text: string): Statement => ({ name: `causeway.${name}`, text });
  // The appending store writes stream_hash; a row an older version wrote may lack it.
  const partitionHash = `coalesce(stream_hash, ${s}.causeway_fnv1a32(stream))`;
  // The last column of an allocating statement: NOTIFY of the new head, sent only when the
  // listeners' lock cannot be had, i.e. someone listens (see listenerLockKey).
  const notifyHead = (head: string) =>
    channel === undefined
      ? ''
      : `, CASE WHEN pg_try_advisory_xact_lock(${listenerLockKey(channel)}) THEN NULL
           ELSE pg_notify(${escapeLiteral(channel)}, (${head})::text) END`;
  const fastAppend = (checkStream: string) =>
    `WITH checked AS (${checkStream}),
     alloc AS (
       UPDATE ${log} SET position = position + $1::bigint
       WHERE id = 1 AND EXISTS (SELECT 1 FROM checked)
       RETURNING position - $1::bigint AS base
     ), ins AS (
       INSERT INTO ${events} (${EVENT_COLUMNS})
       SELECT alloc.base + r.n, r.id, r.stream, r.revision, r.type, r.data, r.metadata, r.schema_version, r.stream_hash, $10::timestamptz
       FROM alloc, unnest($2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::json[], $7::json[], $8::int[], $9::bigint[])
         WITH ORDINALITY AS r(id, stream, revision, type, data, metadata, schema_version, stream_hash, n)
     )
     SELECT base${notifyHead('base + $1::bigint')} FROM alloc`;
  // The same for one event, its columns as plain parameters: unnest's arrays cost the server
  // more than the rest of the statement. $1-$8 the event's columns (revision is $3, the
  // stream's new revision), $9 recorded_at, $10 the expected revision.
  const fastAppendOne = (checkStream: string) =>
    `WITH checked AS (${checkStream}),
     alloc AS (
       UPDATE ${log} SET position = position + 1
       WHERE id = 1 AND EXISTS (SELECT 1 FROM checked)
       RETURNING position
     ), ins AS (
       INSERT INTO ${events} (${EVENT_COLUMNS})
       SELECT alloc.position, $1::uuid, $2::text, $3::bigint, $4::text, $5::json, $6::json, $7::int, $8::bigint, $9::timestamptz
       FROM alloc
     )
     SELECT position - 1${notifyHead('position')} FROM alloc`;
  return {
    streamsTable: streams,
    eventsTable: events,
    lockStreams: st(
      'lock_streams',
      `SELECT name, revision, deleted FROM ${streams} WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`,
    ),
    findIds: st(
      'find_ids',
      `SELECT id::text, stream, revision, position FROM ${events} WHERE id = ANY($1::uuid[])`,
    ),
    upsertStreams: st(
      'upsert_streams',
      // A tombstone met here (set since the rows were locked) would be NULLed: the NOT NULL
      // violation aborts the transaction, which matters because COMMIT is already on its way.
      `INSERT INTO ${streams} AS s (name, revision)
       SELECT * FROM unnest($1::text[], $2::bigint[])
       ON CONFLICT (name) DO UPDATE SET revision = EXCLUDED.revision,
         deleted = CASE WHEN s.deleted = ${Deleted.hard} THEN NULL ELSE ${Deleted.none} END`,
    ),
    insertEvents: st(
      channel === undefined ? 'insert_events' : 'insert_events_notify',
      `WITH alloc AS (
         UPDATE ${log} SET position = position + $1::bigint WHERE id = 1
         RETURNING position - $1::bigint AS base
       ), ins AS (
         INSERT INTO ${events} (${EVENT_COLUMNS})
         SELECT alloc.base + r.n, r.id, r.stream, r.revision, r.type, r.data, r.metadata, r.schema_version, r.stream_hash, $10::timestamptz
         FROM alloc, unnest($2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::json[], $7::json[], $8::int[], $9::bigint[])
           WITH ORDINALITY AS r(id, stream, revision, type, data, metadata, schema_version, stream_hash, n)
       )
       SELECT base${notifyHead('base + $1::bigint')} FROM alloc`,
    ),
    // The one-statement append (see `tryFastAppend`): the stream row's check-and-advance, the
    // position counter and the inserts, in autocommit. No row back means the check failed.
    fastAppendExisting: st(
      channel === undefined ? 'fast_append_existing' : 'fast_append_existing_notify',
      fastAppend(
        `UPDATE ${streams} SET revision = $11::bigint
         WHERE name = $12 AND revision = $13::bigint AND deleted = ${Deleted.none} RETURNING 1`,
      ),
    ),
    fastAppendNew: st(
      channel === undefined ? 'fast_append_new' : 'fast_append_new_notify',
      fastAppend(
        `INSERT INTO ${streams} (name, revision) VALUES ($12, $11::bigint)
         ON CONFLICT (name) DO NOTHING RETURNING 1`,
      ),
    ),
    fastAppendOneExisting: st(
      channel === undefined ? 'fast_append_one_existing' : 'fast_append_one_existing_notify',
      fastAppendOne(
        `UPDATE ${streams} SET revision = $3::bigint
         WHERE name = $2::text AND revision = $10::bigint AND deleted = ${Deleted.none} RETURNING 1`,
      ),
    ),
    fastAppendOneNew: st(
      channel === undefined ? 'fast_append_one_new' : 'fast_append_one_new_notify',
      fastAppendOne(
        `INSERT INTO ${streams} (name, revision) VALUES ($2::text, $3::bigint)
         ON CONFLICT (name) DO NOTHING RETURNING 1`,
      ),
    ),
    loadStream: st(
      'load_stream',
      `SELECT revision, deleted, metadata FROM ${streams} WHERE name = $1`,
    ),
    lockStream: st(
      'lock_stream',
      `SELECT revision, deleted, metadata FROM ${streams} WHERE name = $1 FOR UPDATE`,
    ),
    ensureStream: st(
      'ensure_stream',
      `INSERT INTO ${streams} (name, revision) VALUES ($1, -1) ON CONFLICT (name) DO NOTHING`,
    ),
    markDeleted: st(
      'mark_deleted',
      `UPDATE ${streams} SET deleted = $2, metadata = coalesce($3::json, metadata) WHERE name = $1`,
    ),
    setMetadata: st(
      'set_metadata',
      `INSERT INTO ${streams} AS s (name, revision, metadata) VALUES ($1, -1, $2::json)
       ON CONFLICT (name) DO UPDATE SET metadata = EXCLUDED.metadata WHERE s.deleted <> 2`,
    ),
    headPosition: st('head_position', `SELECT position FROM ${log} WHERE id = 1`),
    scavengeCandidates: st(
      'scavenge_candidates',
      `SELECT name FROM ${streams}
       WHERE (deleted = ${Deleted.hard} OR metadata IS NOT NULL)
         AND ($1::text IS NULL OR name COLLATE "C" > $1::text)
       ORDER BY name COLLATE "C" LIMIT $2::int`,
    ),
    // Locked in the order appends lock streams in (see lockStreams): no deadlock with them.
    scavengeLock: st(
      'scavenge_lock',
      `SELECT name, revision, deleted, metadata FROM ${streams}
       WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`,
    ),
    scavengeRead: st(
      'scavenge_read',
      `SELECT name, revision, deleted, metadata FROM ${streams} WHERE name = ANY($1::text[])`,
    ),
    scavengeCount: st(
      'scavenge_count',
      `SELECT count(*)::int, coalesce(sum(${EVENT_BYTES}), 0)::float8 FROM ${events}
       WHERE ${HIDDEN_WHERE}`,
    ),
    scavengeRemove: st(
      'scavenge_remove',
      `WITH removed AS (
         DELETE FROM ${events} WHERE position IN (
           SELECT position FROM ${events} WHERE ${HIDDEN_WHERE} ORDER BY revision LIMIT $5::int)
         RETURNING ${EVENT_BYTES} AS bytes)
       SELECT count(*)::int, coalesce(sum(bytes), 0)::float8 FROM removed`,
    ),
    scavengeAny: st('scavenge_any', `SELECT 1 FROM ${events} WHERE stream = $1 LIMIT 1`),
    streamForward: st(
      'stream_forward',
      `SELECT ${READ_COLUMNS} FROM ${events}
       WHERE stream = $1 AND revision >= $2::bigint AND revision >= $3::bigint
         AND ($4::timestamptz IS NULL OR recorded_at >= $4::timestamptz)
       ORDER BY revision LIMIT $5`,
    ),
    streamBackward: st(
      'stream_backward',
      `SELECT ${READ_COLUMNS} FROM ${events}
       WHERE stream = $1 AND revision <= $2::bigint AND revision >= $3::bigint
         AND ($4::timestamptz IS NULL OR recorded_at >= $4::timestamptz)
       ORDER BY revision DESC LIMIT $5`,
    ),
    allForward: st(
      'all_forward',
      `SELECT ${READ_COLUMNS} FROM ${events} e
       WHERE position >= $1::bigint
         AND ($2::text[] IS NULL OR type = ANY($2::text[]))
         AND ($3::text IS NULL OR left(stream, char_length($3::text)) = $3::text)
         AND ($5::int IS NULL OR ${partitionHash} % $5::int = $6::int)
         AND stream NOT IN (SELECT name FROM ${streams} WHERE deleted = ${Deleted.hard})
       ORDER BY position LIMIT $4`,
    ),
    allBackward: st(
      'all_backward',
      `SELECT ${READ_COLUMNS} FROM ${events} e
       WHERE position <= $1::bigint
         AND ($2::text[] IS NULL OR type = ANY($2::text[]))
         AND ($3::text IS NULL OR left(stream, char_length($3::text)) = $3::text)
         AND ($5::int IS NULL OR ${partitionHash} % $5::int = $6::int)
         AND stream NOT IN (SELECT name FROM ${streams} WHERE deleted = ${Deleted.hard})
       ORDER BY position DESC LIMIT $4`,
    ),
  };
}

/** A named statement whose rows come back as arrays (cheaper than one object per row). */
function arrayQuery(query: Statement, values: unknown[]): QueryArrayConfig {
  return { name: query.name, text: query.text, values, rowMode: 'array' };
}

/**
 * The events' columns as arrays, for one INSERT over `unnest`; the last is each stream's
 * FNV-1a hash, which readAll's partition filter reads (see `ReadAllFilter.partition`).
 */
function eventColumns(rows: readonly PlannedRow[]): unknown[][] {
  const n = rows.length;
  const ids = new Array<string>(n);
  const streams = new Array<string>(n);
  const revisions = new Array<number>(n);
  const types = new Array<string>(n);
  const data = new Array<string>(n);
  const metadata = new Array<string>(n);
  const versions = new Array<number>(n);
  const hashes = new Array<number>(n);
  let lastStream: string | undefined;
  let lastHash = 0;
  rows.forEach((row, i) => {
    // Rows come grouped by stream: one hash per run of the same stream.
    if (row.stream !== lastStream) {
      lastStream = row.stream;
      lastHash = fnv1a32(row.stream);
    }
    hashes[i] = lastHash;
    ids[i] = row.event.id;
    streams[i] = row.stream;
    revisions[i] = row.revision;
    types[i] = row.event.type;
    data[i] = row.event.data;
    metadata[i] = row.event.metadata;
    versions[i] = row.event.schemaVersion;
  });
  return [ids, streams, revisions, types, data, metadata, versions, hashes];
}

/**
 * Decodes an events-table row (for Causeway components reading the same schema).
 *
 * @throws {EventDecodeError} when a column does not hold what the store writes there.
 */
export function toEvent(row: EventRow): RecordedEvent {
  return decodeEventRow(row);
}

/** Rolls back; returns the error if that failed too, so the connection is discarded. */
async function rollback(client: PoolClient): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function isRetryable(error: unknown): boolean {
  if (!(error instanceof DatabaseError)) return false;
  if (error.code !== undefined && RETRYABLE.has(error.code)) return true;
  // The upsert met a tombstone set after the batch was planned (see `upsertStreams`).
  return error.code === '23502' && error.column === 'deleted' && error.table === 'causeway_streams';
}

/**
 * Splits a PostgreSQL URL into the connection string handed to the driver and Causeway's own
 * `schema` parameter. Query parameters the `pg` driver does not read are dropped, so they
 * never reach the server. Internal to this adapter; exported for its tests.
 *
 * @example
 * ```ts
 * splitPostgresUrl('postgres://app@db/shop?schema=events&sslmode=require&x=1');
 * // { connectionString: 'postgres://app@db/shop?sslmode=require', schema: 'events' }
 * ```
 */
export function splitPostgresUrl(url: string): {
  connectionString: string;
  schema: string | undefined;
} {
  const q = url.indexOf('?');
  if (q < 0) return { connectionString: url, schema: undefined };
  const params = new URLSearchParams(url.slice(q + 1));
  const schema = params.get('schema') ?? undefined;
  const kept = new URLSearchParams();
  for (const [key, value] of params) if (DRIVER_URL_PARAMS.has(key)) kept.append(key, value);
  const query = kept.toString();
  return { connectionString: url.slice(0, q) + (query ? `?${query}` : ''), schema };
}

/** A transaction of the PostgreSQL store; appends go through the store's savepoint writer. */
class PostgresStoreTransaction extends BaseStoreTransaction implements PostgresTransaction {
  /**
   * The connection, guarded: once the transaction has ended its queries throw, so work that
   * outlives its transaction (a handler that timed out) can never run a statement outside
   * it, nor in a later transaction on the same connection.
   */
  readonly client: PoolClient;

  constructor(
    maxEventBytes: number,
    connection: PoolClient,
    private readonly writer: (unit: PreparedAppend[]) => Promise<AppendResult[]>,
  ) {
    super(maxEventBytes);
    this.client = new Proxy(connection, {
      get: (target, property) => {
        if (property === 'query' || property === 'release') {
          return (...args: unknown[]): unknown => {
            this.assertActive();
            if (property === 'release')
              throw new InvalidArgumentError(
                'tx.client',
                'belongs to its transaction: do not release it',
              );
            return (target.query as (...a: unknown[]) => unknown)(...args);
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
  }

  protected writeUnit(unit: PreparedAppend[]): Promise<AppendResult[]> {
    return this.writer(unit);
  }
}

/** At most `size` holders at once, served in arrival order. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}
