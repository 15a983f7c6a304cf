import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync } from 'node:fs';
import {
  StreamDeletedError,
  decodeJson,
  partitionOf,
  type AppendResult,
  type DeleteStreamOptions,
  type EventStoreOptions,
  type RecordedEvent,
  type StoreTransaction,
  type StreamMetadata,
  type StreamSummary,
} from '@causewayjs/core';
import {
  BaseEventStore,
  Deleted,
  StagingTransaction,
  WriteLock,
  compareCodePoints,
  deletedLabel,
  planAppends,
  planDelete,
  resolveOutcome,
  streamNames,
  type AllWindow,
  type BaseStoreTransaction,
  type DeletedFlag,
  type PreparedAppend,
  type StoredEventRef,
  type StoredStream,
  type StreamState,
  type StreamWindow,
  type StreamsQuery,
  type UnitResult,
} from '@causewayjs/testing';

/**
 * An adapter written the way a third party would, from public exports only (`causeway` and
 * `@causewayjs/testing`): an event store kept as a journal of JSON lines in one file, fsynced at
 * every commit and replayed on open. Each line is one committed change (a batch of appends, a
 * delete or a metadata write), so a crash leaves whole changes or, at worst, a torn last line,
 * which replay ignores.
 */
export class JournalEventStore extends BaseEventStore {
  private readonly log: Row[] = [];
  private readonly streams = new Map<string, Entry>();
  private readonly ids = new Map<string, StoredEventRef>();

  private constructor(
    private readonly file: string,
    options: EventStoreOptions,
  ) {
    super(options, new WriteLock());
  }

  /** Opens (or creates) the journal at `file`. */
  static open(file: string, options: EventStoreOptions = {}): JournalEventStore {
    const store = new JournalEventStore(file, options);
    if (existsSync(file)) store.replay(readFileSync(file, 'utf8'));
    return store;
  }

  protected writeBatch(units: PreparedAppend[][]): Promise<UnitResult[]> {
    const plan = planAppends(units, this.states(units), this.ids);
    const base = this.log.length;
    const rows: Row[] = plan.rows.map((row, i) => ({
      id: row.event.id,
      type: row.event.type,
      stream: row.stream,
      revision: row.revision,
      position: base + 1 + i,
      data: row.event.data,
      metadata: row.event.metadata,
      schemaVersion: row.event.schemaVersion,
      recordedAt: this.clock.now(),
    }));
    const states = [...plan.streams].map(([stream, s]): [string, number, DeletedFlag] => [
      stream,
      s.revision,
      s.deleted,
    ]);
    if (rows.length > 0) this.commit({ kind: 'append', rows, states });
    return Promise.resolve(plan.outcomes.map((o) => (o.ok ? resolveOutcome(o, base) : o.error)));
  }

  protected loadStream(stream: string): Promise<StoredStream | undefined> {
    const entry = this.streams.get(stream);
    return Promise.resolve(
      entry && { state: { ...entry.state }, metadata: structuredClone(entry.metadata) },
    );
  }

  protected fetchStreamPage(
    stream: string,
    window: StreamWindow,
    next: number,
    size: number,
  ): Promise<RecordedEvent[]> {
    const positions = this.streams.get(stream)?.positions ?? [];
    const revisions = window.forward
      ? positions.slice(next)
      : positions.slice(window.lowest, next + 1).reverse();
    const page = revisions
      .map((position) => this.log[position - 1])
      .filter((row): row is Row => row !== undefined)
      .filter((row) => window.minRecordedAt === undefined || row.recordedAt >= window.minRecordedAt)
      .slice(0, size);
    return Promise.resolve(page.map(toEvent));
  }

  protected fetchAllPage(window: AllWindow, next: number, size: number): Promise<RecordedEvent[]> {
    const wanted = (row: Row) =>
      // Events of tombstoned streams are never read.
      this.streams.get(row.stream)?.state.deleted !== Deleted.hard &&
      (window.types === undefined || window.types.includes(row.type)) &&
      (window.streamPrefix === undefined || row.stream.startsWith(window.streamPrefix)) &&
      (window.partition === undefined ||
        partitionOf(row.stream, window.partition.count) === window.partition.index);
    const page: RecordedEvent[] = [];
    const step = window.forward ? 1 : -1;
    let position = window.forward ? next : Math.min(next, this.log.length);
    while (page.length < size && position >= 1 && position <= this.log.length) {
      const row = this.log[position - 1];
      if (row && wanted(row)) page.push(toEvent(row));
      position += step;
    }
    return Promise.resolve(page);
  }

  protected fetchStreamsPage(query: StreamsQuery, size: number): Promise<StreamSummary[]> {
    const listed = [...this.streams]
      .filter(([name, entry]) => {
        if (entry.state.revision < 0) return false;
        if (!query.includeDeleted && entry.state.deleted !== Deleted.none) return false;
        if (query.prefix !== undefined && !name.startsWith(query.prefix)) return false;
        return query.after === undefined || compareCodePoints(name, query.after) > 0;
      })
      .sort(([a], [b]) => compareCodePoints(a, b))
      .slice(0, size);
    return Promise.resolve(
      listed.map(([stream, entry]) => ({
        stream,
        revision: entry.state.revision,
        lastPosition: entry.positions[entry.state.revision] ?? 0,
        deleted: deletedLabel(entry.state.deleted),
      })),
    );
  }

  protected deleteStreamNow(stream: string, options: DeleteStreamOptions): Promise<void> {
    const entry = this.streams.get(stream);
    const plan = planDelete(stream, entry?.state, entry?.metadata ?? {}, options);
    if (plan.changed)
      this.commit({ kind: 'delete', stream, deleted: plan.deleted, metadata: plan.metadata });
    return Promise.resolve();
  }

  protected setStreamMetadataNow(stream: string, metadataJson: string): Promise<void> {
    if (this.streams.get(stream)?.state.deleted === Deleted.hard)
      return Promise.reject(new StreamDeletedError(stream));
    this.commit({ kind: 'metadata', stream, metadata: decodeJson<StreamMetadata>(metadataJson) });
    return Promise.resolve();
  }

  protected readHeadPosition(): Promise<number> {
    return Promise.resolve(this.log.length);
  }

  protected release(): Promise<void> {
    return Promise.resolve();
  }

  protected async runTransaction<T>(
    work: (tx: StoreTransaction) => Promise<T>,
  ): Promise<{ result: T; tx: BaseStoreTransaction }> {
    const tx = new StagingTransaction(this.maxEventBytes, (units) => this.tryUnits(units));
    let result: T;
    try {
      result = await work(tx);
    } finally {
      tx.end();
    }
    // The write lock is held for the whole transaction: the staged units plan as they did.
    if (tx.staged.length > 0) await this.writeBatch(tx.staged);
    return { result, tx };
  }

  /** Plans `units` without writing: the last unit's results, or its error. */
  private tryUnits(units: PreparedAppend[][]): AppendResult[] | Error {
    const plan = planAppends(units, this.states(units), this.ids);
    const last = plan.outcomes.at(-1);
    if (!last) return new Error('nothing planned');
    return last.ok ? resolveOutcome(last, this.log.length) : last.error;
  }

  private states(units: PreparedAppend[][]): Map<string, StreamState> {
    const states = new Map<string, StreamState>();
    for (const name of streamNames(units)) {
      const entry = this.streams.get(name);
      if (entry) states.set(name, entry.state);
    }
    return states;
  }

  /** Writes `line` to the journal, durably, then applies it. */
  private commit(line: Line): void {
    const fd = openSync(this.file, 'a');
    try {
      appendFileSync(fd, `${JSON.stringify(line)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.apply(line);
  }

  private replay(text: string): void {
    for (const raw of text.split('\n')) {
      if (raw === '') continue;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        return; // a torn last line: the change it began was never acknowledged
      }
      this.apply(line);
    }
  }

  private apply(line: Line): void {
    if (line.kind === 'append') {
      for (const row of line.rows) {
        this.log.push(row);
        this.ids.set(row.id, row);
        this.entry(row.stream).positions[row.revision] = row.position;
      }
      for (const [stream, revision, deleted] of line.states)
        this.entry(stream).state = { revision, deleted };
    } else if (line.kind === 'delete') {
      const entry = this.entry(line.stream);
      entry.state = { revision: entry.state.revision, deleted: line.deleted };
      if (line.metadata) entry.metadata = line.metadata;
    } else this.entry(line.stream).metadata = line.metadata;
  }

  private entry(stream: string): Entry {
    let entry = this.streams.get(stream);
    if (!entry) {
      entry = { state: { revision: -1, deleted: Deleted.none }, metadata: {}, positions: [] };
      this.streams.set(stream, entry);
    }
    return entry;
  }
}

/** An event as the journal stores it (data and metadata as JSON text). */
interface Row {
  id: string;
  type: string;
  stream: string;
  revision: number;
  position: number;
  data: string;
  metadata: string;
  schemaVersion: number;
  recordedAt: number;
}

interface Entry extends StoredStream {
  /** Positions of the stream's events, by revision. */
  positions: number[];
}

/** One committed change, one line of the journal. */
type Line =
  | { kind: 'append'; rows: Row[]; states: [string, number, DeletedFlag][] }
  | { kind: 'delete'; stream: string; deleted: DeletedFlag; metadata: StreamMetadata | undefined }
  | { kind: 'metadata'; stream: string; metadata: StreamMetadata };

function toEvent(row: Row): RecordedEvent {
  return {
    id: row.id,
    type: row.type,
    stream: row.stream,
    revision: row.revision,
    position: row.position,
    data: decodeJson(row.data),
    metadata: decodeJson(row.metadata),
    schemaVersion: row.schemaVersion,
    recordedAt: new Date(row.recordedAt),
  };
}
