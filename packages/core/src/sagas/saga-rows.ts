import { InvalidArgumentError } from '../core/errors.js';
import { decodeJson, encodeJson } from '../core/json-codec.js';
import type { CommandReply } from '../domain/command-dispatcher.js';
import type {
  OutboxEntry,
  OutboxStatus,
  SagaInstanceRecord,
  SagaTimerRecord,
} from './saga-store.js';
import { toInstanceView } from './saga-records.js';
import type { SagaHistoryEntry, SagaInstanceView } from './saga-view.js';

/**
 * The rows of the saga tables as SQL adapters read them. Integer columns arrive as numbers
 * (SQLite) or as strings (PostgreSQL `bigint`), and booleans as 0/1 (SQLite) or booleans, so
 * one decoding serves both.
 */
type Int = number | string;

/** A `saga_instances` row as a step reads it: all but the history ({@link INSTANCE_COLUMNS}). */
export interface SagaInstanceRow {
  saga: string;
  id: string;
  status: string;
  step: string;
  /** JSON of state, trail, last position and compensations ({@link sagaInstanceBody}). */
  body: string;
  started_at: Int;
  updated_at: Int;
}

/** A whole `saga_instances` row, as views read it. */
export interface SagaInstanceViewRow extends SagaInstanceRow {
  /** The history, one JSON entry per line ({@link sagaHistoryText}). */
  history: string;
}

/** The instance columns a step reads: all but the history, which it only appends to. */
export const INSTANCE_COLUMNS = 'saga, id, status, step, body, started_at, updated_at';

/** A `saga_timers` row. */
export interface SagaTimerRow {
  id: string;
  saga: string;
  instance_id: string;
  type: string;
  due_at: Int;
  data: string;
}

/** A `saga_outbox` row, its columns in {@link OUTBOX_COLUMNS} order. */
export interface SagaOutboxRow {
  seq: Int;
  command_id: string;
  source: string;
  instance_id: string | null;
  compensation: number | boolean;
  type: string;
  data: string;
  metadata: string;
  status: string;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Int;
  created_at: Int;
  settled_at: Int | null;
  reply: string | null;
}

/** The outbox columns every SQL adapter selects. */
export const OUTBOX_COLUMNS =
  'seq, command_id, source, instance_id, compensation, type, data, metadata, status, attempts, last_error, next_attempt_at, created_at, settled_at, reply';

/** What the `body` column of an instance holds. */
type InstanceBody = Pick<
  SagaInstanceRecord,
  'state' | 'trail' | 'lastPosition' | 'pendingCompensations' | 'failedCompensations'
>;

/**
 * A body as a process of an older version writes it, still running after the tables were
 * migrated: its history inside, no last position.
 */
type LegacyBody = Omit<InstanceBody, 'lastPosition'> & {
  lastPosition?: number;
  history?: SagaHistoryEntry[];
};

/**
 * The last position of an instance whose body an older version wrote: unknown, so every event
 * is told new or redelivered by the history.
 */
const UNKNOWN_POSITION = Number.MAX_SAFE_INTEGER;

/**
 * Decodes an instance row. Its `newHistory` is empty, but for a body an older version wrote:
 * the history found inside is handed on as new, so the next save moves it to the history
 * column, in order.
 */
export function sagaInstanceFromRow(row: SagaInstanceRow): SagaInstanceRecord {
  const body = decodeJson<LegacyBody>(row.body);
  return {
    saga: row.saga,
    id: row.id,
    status: row.status as SagaInstanceRecord['status'],
    step: row.step,
    state: body.state,
    trail: body.trail,
    lastPosition: body.lastPosition ?? UNKNOWN_POSITION,
    newHistory: body.history ?? [],
    pendingCompensations: body.pendingCompensations,
    failedCompensations: body.failedCompensations,
    startedAt: Number(row.started_at),
    updatedAt: Number(row.updated_at),
  };
}

/** The JSON of what an instance keeps beyond its key, status, step, times and history. */
export function sagaInstanceBody(record: SagaInstanceRecord): string {
  const body: InstanceBody = {
    state: record.state,
    trail: record.trail,
    lastPosition: record.lastPosition,
    pendingCompensations: record.pendingCompensations,
    failedCompensations: record.failedCompensations,
  };
  return encodeJson(body);
}

/**
 * History entries as the text appended to the `history` column: one JSON entry per line
 * (JSON text never holds a raw line feed), so appending is concatenation, and a step neither
 * reads nor rewrites what is there.
 */
export function sagaHistoryText(entries: readonly SagaHistoryEntry[]): string {
  let text = '';
  for (const entry of entries) text += `${encodeJson(entry)}\n`;
  return text;
}

/** Decodes a `history` column ({@link sagaHistoryText}). */
export function sagaHistoryFromText(text: string): SagaHistoryEntry[] {
  if (text.length === 0) return [];
  return decodeJson<SagaHistoryEntry[]>(`[${text.slice(0, -1).replaceAll('\n', ',')}]`);
}

/** The view of a whole instance row and its timers. */
export function sagaViewFromRow(
  row: SagaInstanceViewRow,
  timers: readonly SagaTimerRecord[],
): SagaInstanceView {
  const record = sagaInstanceFromRow(row);
  const stored = sagaHistoryFromText(row.history);
  // A body an older version wrote holds history the column does not have yet.
  return toInstanceView(record, [...stored, ...record.newHistory], timers);
}

/** Decodes a timer row. */
export function sagaTimerFromRow(row: SagaTimerRow): SagaTimerRecord {
  return {
    id: row.id,
    saga: row.saga,
    instanceId: row.instance_id,
    type: row.type,
    dueAt: Number(row.due_at),
    data: decodeJson(row.data),
  };
}

/** Decodes an outbox row. */
export function outboxEntryFromRow(row: SagaOutboxRow): OutboxEntry {
  return {
    seq: Number(row.seq),
    command: {
      id: row.command_id,
      type: row.type,
      data: decodeJson(row.data),
      metadata: decodeJson<Record<string, unknown>>(row.metadata),
    },
    source: row.source,
    instanceId: row.instance_id,
    compensation: row.compensation === true || row.compensation === 1,
    status: row.status as OutboxStatus,
    attempts: row.attempts,
    lastError: row.last_error,
    nextAttemptAt: Number(row.next_attempt_at),
    createdAt: Number(row.created_at),
    settledAt: row.settled_at === null ? null : Number(row.settled_at),
    reply: row.reply === null ? null : decodeJson<CommandReply>(row.reply),
  };
}

/** Checks the page size of a saga store query. */
export function assertPageLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new InvalidArgumentError('limit', 'must be an integer >= 1');
}
