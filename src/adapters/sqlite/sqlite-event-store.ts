import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { RecordedEvent } from '../../core/envelope.js';
import { StoreUnavailableError, StreamDeletedError } from '../../core/errors.js';
import {
  Deleted,
  planAppends,
  planDelete,
  resolveOutcome,
  streamNames,
  clientIds,
} from '../../store/append-plan.js';
import type {
  DeletedFlag,
  PlannedRow,
  StoredEventRef,
  StreamState,
} from '../../store/append-plan.js';
import type { UnitResult } from '../../store/append-queue.js';
import { BaseEventStore, type StoredStream } from '../../store/base-event-store.js';
import type { DeleteStreamOptions, EventStoreOptions } from '../../store/event-store.js';
import { parseStreamMetadata, type AllWindow, type StreamWindow } from '../../store/reading.js';
import type { PreparedAppend } from '../../store/validation.js';
import { migrateSqlite, sqliteEventStoreMigrations } from './sqlite-migrations.js';

/** Options of {@link SqliteEventStore.open}. */
export interface SqliteEventStoreOptions extends EventStoreOptions {
  /**
   * SQLite's `synchronous` setting. `'FULL'` (default) fsyncs every commit, so an
   * acknowledged append survives power loss; `'NORMAL'` survives a process crash but may lose
   * the last commits on power loss; `'OFF'` is for throwaway data.
   */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  /** How long a writer waits for another process's write lock, in ms (default 5000). */
  busyTimeoutMs?: number;
}

type Row = [number, string, string, number, string, string, string, number, number];
/** Rows per multi-row INSERT statement (9 parameters each). */
const INSERT_CHUNK = 32;
const COLUMNS = 'position, id, stream, revision, type, data, metadata, schema_version, recorded_at';

/**
 * The embedded event store: one SQLite file in WAL mode, the default adapter. Several
 * processes may open the same file; writes are serialised by SQLite's write lock and
 * concurrent appends within a process share one transaction (group commit).
 *
 * @example
 * ```ts
 * import { SqliteEventStore } from 'causeway/sqlite';
 * const store = SqliteEventStore.open('./data/events.db');
 * ```
 */
export class SqliteEventStore extends BaseEventStore {
  private readonly statements;
  private readonly cachedReads = new Map<string, Database.Statement<unknown[], Row>>();
  private readonly writeTransaction: (units: PreparedAppend[][]) => UnitResult[];

  private constructor(
    /** The open database. Causeway components that keep tables in the same file use it. */
    readonly database: Database.Database,
    options: SqliteEventStoreOptions,
  ) {
    super(options);
    const db = database;
    this.statements = {
      stream: db.prepare<
        [string],
        { revision: number; deleted: DeletedFlag; metadata: string | null }
      >('SELECT revision, deleted, metadata FROM causeway_streams WHERE name = ?'),
      eventById: db.prepare<[string], StoredEventRef>(
        'SELECT stream, revision, position FROM causeway_events WHERE id = ?',
      ),
      head: db.prepare<[], { head: number }>(
        'SELECT coalesce(max(position), 0) AS head FROM causeway_events',
      ),
      insertChunk: db.prepare(
        `INSERT INTO causeway_events (${COLUMNS}) VALUES ${Array.from({ length: INSERT_CHUNK }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      ),
      insertEvent: db.prepare(
        `INSERT INTO causeway_events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
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
    const transaction = db.transaction((units: PreparedAppend[][]) => this.writeNow(units));
    this.writeTransaction = (units) => transaction.immediate(units);
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
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
      db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
      migrateSqlite(db, 'event-store', sqliteEventStoreMigrations);
      return new SqliteEventStore(db, options);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  protected writeBatch(units: PreparedAppend[][]): Promise<UnitResult[]> {
    try {
      return Promise.resolve(this.writeTransaction(units));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private writeNow(units: PreparedAppend[][]): UnitResult[] {
    const s = this.statements;
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
      let i = 0;
      for (; i + INSERT_CHUNK <= rows.length; i += INSERT_CHUNK) {
        params.length = 0;
        for (let j = i; j < i + INSERT_CHUNK; j++)
          pushRow(params, rows[j] as PlannedRow, base + 1 + j, recordedAt);
        s.insertChunk.run(params);
      }
      for (; i < rows.length; i++) {
        params.length = 0;
        pushRow(params, rows[i] as PlannedRow, base + 1 + i, recordedAt);
        s.insertEvent.run(params);
      }
      for (const [name, state] of plan.streams) s.upsertStream.run(name, state.revision);
    }
    return plan.outcomes.map((o) => (o.ok ? resolveOutcome(o, base) : o.error));
  }

  protected loadStream(stream: string): Promise<StoredStream | undefined> {
    const row = this.statements.stream.get(stream);
    return Promise.resolve(
      row
        ? {
            state: { revision: row.revision, deleted: row.deleted },
            metadata: parseStreamMetadata(row.metadata),
          }
        : undefined,
    );
  }

  protected fetchStreamPage(
    stream: string,
    w: StreamWindow,
    next: number,
    size: number,
  ): Promise<RecordedEvent[]> {
    const age = w.minRecordedAt !== undefined;
    const sql = w.forward
      ? `SELECT ${COLUMNS} FROM causeway_events WHERE stream = ? AND revision >= ?${age ? ' AND recorded_at >= ?' : ''} ORDER BY revision LIMIT ?`
      : `SELECT ${COLUMNS} FROM causeway_events WHERE stream = ? AND revision <= ? AND revision >= ?${age ? ' AND recorded_at >= ?' : ''} ORDER BY revision DESC LIMIT ?`;
    const params: unknown[] = w.forward ? [stream, next] : [stream, next, w.lowest];
    if (age) params.push(w.minRecordedAt);
    params.push(size);
    return Promise.resolve(this.read(sql, params));
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
      params.push(w.streamPrefix.length, w.streamPrefix);
    }
    params.push(size);
    const sql = `SELECT ${COLUMNS} FROM causeway_events WHERE ${where.join(' AND ')} ORDER BY position ${w.forward ? 'ASC' : 'DESC'} LIMIT ?`;
    return Promise.resolve(this.read(sql, params));
  }

  private read(sql: string, params: unknown[]): RecordedEvent[] {
    let stmt = this.cachedReads.get(sql);
    if (!stmt) {
      stmt = this.database.prepare<unknown[], Row>(sql).raw(true);
      this.cachedReads.set(sql, stmt);
    }
    return stmt.all(...params).map(toEvent);
  }

  protected deleteStreamNow(stream: string, options: DeleteStreamOptions): Promise<void> {
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
      .immediate();
    return Promise.resolve();
  }

  protected setStreamMetadataNow(stream: string, metadataJson: string): Promise<void> {
    this.database
      .transaction(() => {
        const row = this.statements.stream.get(stream);
        if (row?.deleted === Deleted.hard) throw new StreamDeletedError(stream);
        this.statements.setMetadata.run(stream, metadataJson);
      })
      .immediate();
    return Promise.resolve();
  }

  protected readHeadPosition(): Promise<number> {
    return Promise.resolve(this.statements.head.get()?.head ?? 0);
  }

  protected release(): Promise<void> {
    this.database.close();
    return Promise.resolve();
  }
}

function pushRow(params: unknown[], row: PlannedRow, position: number, recordedAt: number): void {
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
  );
}

function toEvent(r: Row): RecordedEvent {
  return {
    id: r[1],
    type: r[4],
    stream: r[2],
    revision: r[3],
    position: r[0],
    data: JSON.parse(r[5]) as unknown,
    metadata: r[6] === '{}' ? {} : (JSON.parse(r[6]) as RecordedEvent['metadata']),
    schemaVersion: r[7],
    recordedAt: new Date(r[8]),
  };
}
