import type { RecordedEvent } from '../core/envelope.js';
import { decodeJson } from '../core/json-codec.js';
import { StreamDeletedError } from '../core/errors.js';
import {
  Deleted,
  deletedLabel,
  planAppends,
  planDelete,
  resolveOutcome,
  streamNames,
  type StoredEventRef,
  type StreamState,
} from './append-plan.js';
import type { UnitResult } from './append-queue.js';
import { BaseEventStore, type StoredStream } from './base-event-store.js';
import type {
  AppendResult,
  DeleteStreamOptions,
  EventStoreOptions,
  StoreTransaction,
  StreamSummary,
} from './event-store.js';
import {
  compareCodePoints,
  inStreamPartition,
  type AllWindow,
  type StreamWindow,
  type StreamsQuery,
} from './reading.js';
import type { BaseStoreTransaction } from './store-transaction.js';
import { StagingTransaction } from './staging-transaction.js';
import type { PreparedAppend, PreparedEvent } from './validation.js';
import { WriteLock } from './write-lock.js';
import {
  hiddenEvents,
  type ScavengeBatchOutcome,
  type ScavengeBatchRequest,
  newScavengeOutcome,
  type ScavengeOptions,
  type ScavengeReport,
  type Scavengeable,
} from './scavenge.js';

/** An event as the memory store keeps it: encoded, so readers never share one object. */
interface StoredRecord {
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

interface MemoryStream extends StoredStream {
  /** Positions of the stream's events, by revision (undefined once scavenged). */
  positions: (number | undefined)[];
}

/**
 * An event store in process memory: the reference for the append and read semantics, and
 * the store to use in unit tests. Nothing survives the process.
 *
 * A transaction holds the store's writes back until it ends and applies its appends when it
 * commits (readers never see them before); `tx.onCommit` does the same for in-memory
 * effects such as read models and checkpoints.
 *
 * @example
 * ```ts
 * const store = new MemoryEventStore();
 * ```
 */
export class MemoryEventStore extends BaseEventStore implements Scavengeable {
  /** The global log, by position - 1; a scavenged event leaves an empty slot. */
  private readonly log: (StoredRecord | undefined)[] = [];
  private readonly streams = new Map<string, MemoryStream>();
  private readonly ids = new Map<string, StoredEventRef>();

  constructor(options: EventStoreOptions = {}) {
    super(options, new WriteLock());
  }

  protected async runTransaction<T>(
    work: (tx: StoreTransaction) => Promise<T>,
  ): Promise<{ result: T; tx: BaseStoreTransaction }> {
    const tx = new StagingTransaction(this.maxEventBytes, (units) => this.planStaged(units));
    let result: T;
    try {
      result = await work(tx);
    } finally {
      tx.end();
    }
    // The write lock has been held throughout, so the staged units plan now exactly as
    // they did when they were appended.
    if (tx.staged.length > 0) {
      const outcomes = await this.writeBatch(tx.staged);
      if (outcomes.some((o) => o instanceof Error))
        throw new Error('internal: a staged append failed at commit');
    }
    return { result, tx };
  }

  /**
   * Plans `units` (the last one new, the others already accepted by a transaction) against
   * the committed log, without writing: the last unit's results, or its error.
   */
  private planStaged(units: PreparedAppend[][]): AppendResult[] | Error {
    const states = new Map<string, StreamState>();
    for (const name of streamNames(units)) {
      const s = this.streams.get(name);
      if (s) states.set(name, s.state);
    }
    const plan = planAppends(units, states, this.ids);
    const last = plan.outcomes[plan.outcomes.length - 1];
    if (!last) return new Error('internal: nothing planned');
    return last.ok ? resolveOutcome(last, this.log.length) : last.error;
  }

  protected writeBatch(units: PreparedAppend[][]): Promise<UnitResult[]> {
    const states = new Map<string, StreamState>();
    for (const name of streamNames(units)) {
      const s = this.streams.get(name);
      if (s) states.set(name, s.state);
    }
    const plan = planAppends(units, states, this.ids);
    const base = this.log.length;
    const recordedAt = this.clock.now();
    plan.rows.forEach((row, i) => {
      const position = base + 1 + i;
      const event: StoredRecord = {
        id: row.event.id,
        type: row.event.type,
        stream: row.stream,
        revision: row.revision,
        position,
        data: row.event.data,
        metadata: row.event.metadata,
        schemaVersion: row.event.schemaVersion,
        recordedAt,
      };
      this.log.push(event);
      this.ids.set(event.id, { stream: row.stream, revision: row.revision, position });
      let s = this.streams.get(row.stream);
      if (!s) {
        s = { state: { revision: -1, deleted: Deleted.none }, metadata: {}, positions: [] };
        this.streams.set(row.stream, s);
      }
      s.positions[row.revision] = position;
    });
    for (const [name, state] of plan.streams) {
      const s = this.streams.get(name);
      if (s) s.state = { revision: state.revision, deleted: state.deleted };
    }
    return Promise.resolve(plan.outcomes.map((o) => (o.ok ? resolveOutcome(o, base) : o.error)));
  }

  protected loadStream(stream: string): Promise<StoredStream | undefined> {
    const s = this.streams.get(stream);
    return Promise.resolve(
      s ? { state: { ...s.state }, metadata: structuredClone(s.metadata) } : undefined,
    );
  }

  protected fetchStreamPage(
    stream: string,
    w: StreamWindow,
    next: number,
    size: number,
  ): Promise<RecordedEvent[]> {
    const s = this.streams.get(stream);
    const page: RecordedEvent[] = [];
    if (!s) return Promise.resolve(page);
    for (
      let r = next;
      w.forward ? r < s.positions.length : r >= w.lowest;
      r += w.forward ? 1 : -1
    ) {
      const position = s.positions[r];
      if (position === undefined) continue;
      const event = this.log[position - 1];
      if (!event || (w.minRecordedAt !== undefined && event.recordedAt < w.minRecordedAt)) continue;
      page.push(materialise(event));
      if (page.length === size) break;
    }
    return Promise.resolve(page);
  }

  protected fetchAllPage(w: AllWindow, next: number, size: number): Promise<RecordedEvent[]> {
    const page: RecordedEvent[] = [];
    const types = w.types ? new Set(w.types) : undefined;
    const start = Math.min(next, this.log.length);
    for (
      let p = w.forward ? next : start;
      w.forward ? p <= this.log.length : p >= 1;
      p += w.forward ? 1 : -1
    ) {
      const event = this.log[p - 1];
      if (!event) continue;
      if (this.streams.get(event.stream)?.state.deleted === Deleted.hard) continue;
      if (types && !types.has(event.type)) continue;
      if (w.streamPrefix !== undefined && !event.stream.startsWith(w.streamPrefix)) continue;
      if (!inStreamPartition(event.stream, w.partition)) continue;
      page.push(materialise(event));
      if (page.length === size) break;
    }
    return Promise.resolve(page);
  }

  protected override fetchStreamCount(query: StreamsQuery): Promise<number> {
    let count = 0;
    for (const [name, s] of this.streams) {
      if (query.prefix !== undefined && !name.startsWith(query.prefix)) continue;
      if (s.state.revision < 0) continue;
      if (!query.includeDeleted && s.state.deleted !== Deleted.none) continue;
      count++;
    }
    return Promise.resolve(count);
  }

  protected fetchStreamsPage(query: StreamsQuery, size: number): Promise<StreamSummary[]> {
    const { prefix, after, includeDeleted } = query;
    const names = [...this.streams.keys()]
      .filter(
        (name) =>
          (prefix === undefined || name.startsWith(prefix)) &&
          (after === undefined || compareCodePoints(name, after) > 0),
      )
      .sort(compareCodePoints);
    const page: StreamSummary[] = [];
    for (const name of names) {
      const s = this.streams.get(name);
      if (!s || s.state.revision < 0) continue;
      if (!includeDeleted && s.state.deleted !== Deleted.none) continue;
      page.push({
        stream: name,
        revision: s.state.revision,
        lastPosition: s.positions[s.state.revision] ?? 0,
        deleted: deletedLabel(s.state.deleted),
      });
      if (page.length === size) break;
    }
    return Promise.resolve(page);
  }

  protected deleteStreamNow(stream: string, options: DeleteStreamOptions): Promise<void> {
    const s = this.streams.get(stream);
    const plan = planDelete(stream, s?.state, s?.metadata ?? {}, options);
    if (!plan.changed) return Promise.resolve();
    if (s) {
      s.state = { revision: s.state.revision, deleted: plan.deleted };
      if (plan.metadata) s.metadata = plan.metadata;
    } else {
      this.streams.set(stream, {
        state: { revision: -1, deleted: plan.deleted },
        metadata: {},
        positions: [],
      });
    }
    return Promise.resolve();
  }

  protected setStreamMetadataNow(stream: string, metadataJson: string): Promise<void> {
    const s = this.streams.get(stream);
    const metadata = decodeJson<StoredStream['metadata']>(metadataJson);
    if (s) {
      if (s.state.deleted === Deleted.hard) return Promise.reject(new StreamDeletedError(stream));
      s.metadata = metadata;
    } else {
      this.streams.set(stream, {
        state: { revision: -1, deleted: Deleted.none },
        metadata,
        positions: [],
      });
    }
    return Promise.resolve();
  }

  /**
   * Removes the events no read shows any more (see `Scavengeable`); their positions stay
   * unused, so the log has gaps where they were.
   */
  scavenge(options?: ScavengeOptions): Promise<ScavengeReport> {
    return this.scavengeWith(
      {
        candidates: (after, limit) => Promise.resolve(this.scavengeCandidates(after, limit)),
        batch: (request) => Promise.resolve(this.scavengeBatch(request)),
      },
      options,
    );
  }

  private scavengeCandidates(after: string | undefined, limit: number): string[] {
    return [...this.streams.entries()]
      .filter(
        ([name, s]) =>
          (after === undefined || compareCodePoints(name, after) > 0) &&
          (s.state.deleted === Deleted.hard || Object.keys(s.metadata).length > 0),
      )
      .map(([name]) => name)
      .sort(compareCodePoints)
      .slice(0, limit);
  }

  private scavengeBatch(request: ScavengeBatchRequest): ScavengeBatchOutcome {
    const outcome = newScavengeOutcome();
    for (const name of request.streams) {
      const s = this.streams.get(name);
      const hidden = s && hiddenEvents(s.state, s.metadata, request.now);
      let removedHere = 0;
      let full = false;
      if (s && hidden) {
        for (let r = 0; r < s.positions.length; r++) {
          const position = s.positions[r];
          const event = position === undefined ? undefined : this.log[position - 1];
          if (position === undefined || !event) continue;
          const gone =
            hidden.all ||
            r < hidden.belowRevision ||
            (hidden.recordedBefore !== undefined && event.recordedAt < hidden.recordedBefore);
          if (!gone) continue;
          if (!request.dryRun && outcome.removed === request.limit) {
            full = true;
            break;
          }
          outcome.removed += 1;
          removedHere += 1;
          outcome.bytes += Buffer.byteLength(event.data) + Buffer.byteLength(event.metadata);
          if (request.dryRun) continue;
          this.log[position - 1] = undefined;
          s.positions[r] = undefined;
          this.ids.delete(event.id);
        }
      }
      if (removedHere > 0) {
        outcome.touched.push(name);
        if (s && s.positions.every((p) => p === undefined || !this.log[p - 1]))
          outcome.emptied += 1;
      }
      if (full) break;
      outcome.done += 1;
      if (!request.dryRun && outcome.removed === request.limit) break;
    }
    return outcome;
  }

  protected readHeadPosition(): Promise<number> {
    return Promise.resolve(this.log.length);
  }

  protected release(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The events a transaction of a {@link MemoryEventStore} has appended so far, by id, as they
 * will be stored (through whatever decorators wrote them: encrypted, stamped); undefined for a
 * transaction of another store. The memory projection store reads them back from here, as the
 * SQL adapters read their rows back inside the transaction.
 */
export function stagedEvents(tx: StoreTransaction): ReadonlyMap<string, PreparedEvent> | undefined {
  const staged: unknown = (tx as { staged?: unknown }).staged;
  if (!Array.isArray(staged)) return undefined;
  const events = new Map<string, PreparedEvent>();
  for (const unit of staged as PreparedAppend[][])
    for (const append of unit) for (const event of append.events) events.set(event.id, event);
  return events;
}

function materialise(stored: StoredRecord): RecordedEvent {
  return {
    ...stored,
    data: decodeJson(stored.data),
    metadata: decodeJson(stored.metadata),
    recordedAt: new Date(stored.recordedAt),
  };
}
