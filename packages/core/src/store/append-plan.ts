import {
  type CausewayError,
  DuplicateEventIdError,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedRevisionError,
} from '../core/errors.js';
import type {
  AppendResult,
  DeleteStreamOptions,
  ExpectedRevision,
  StreamMetadata,
} from './event-store.js';
import {
  type PreparedAppend,
  type PreparedEvent,
  assertExpectedRevision,
  assertStreamName,
} from './validation.js';

/** How a stream is marked deleted in every adapter's storage. */
export const Deleted = { none: 0, soft: 1, hard: 2 } as const;
export type DeletedFlag = (typeof Deleted)[keyof typeof Deleted];

/** How the port reports a stored deleted flag. */
export function deletedLabel(flag: DeletedFlag): false | 'soft' | 'hard' {
  return flag === Deleted.hard ? 'hard' : flag === Deleted.soft ? 'soft' : false;
}

/** A stream's row as adapters store it. */
export interface StreamState {
  /** Revision of the last event ever written, -1 if none. */
  revision: number;
  deleted: DeletedFlag;
}

/** Where an already stored event id lives. */
export interface StoredEventRef {
  stream: string;
  revision: number;
  position: number;
}

/** One event row to insert; its position is `base + 1 + index in rows`. */
export interface PlannedRow {
  stream: string;
  revision: number;
  event: PreparedEvent;
}

/** What one unit (an `append` or a whole `appendMany`) came to. */
export type PlannedOutcome =
  | { ok: true; parts: { stream: string; revision: number; row?: number; position?: number }[] }
  | { ok: false; error: CausewayError };

/** The writes of a whole batch of units, and each unit's outcome. */
export interface AppendPlan {
  rows: PlannedRow[];
  /** New state of every stream the batch writes to. `created` when it had no row before. */
  streams: Map<string, StreamState & { created: boolean }>;
  outcomes: PlannedOutcome[];
}

/** The revision an expected-revision check compares with. */
export function actualRevision(state: StreamState | undefined): number | 'no_stream' {
  if (!state || state.revision < 0 || state.deleted === Deleted.soft) return 'no_stream';
  return state.revision;
}

/** Throws {@link WrongExpectedRevisionError} unless `expected` matches the stream's state. */
export function checkExpectedRevision(
  stream: string,
  expected: ExpectedRevision,
  state: StreamState | undefined,
): void {
  const actual = actualRevision(state);
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && actual === 'no_stream') ||
    (expected === 'stream_exists' && actual !== 'no_stream') ||
    expected === actual;
  if (!ok) throw new WrongExpectedRevisionError(stream, expected, actual);
}

/**
 * Plans a batch of appends against the streams' current states: the single place where the
 * append semantics (expected revisions, tombstones, idempotent retries, revisions) are decided,
 * so every adapter behaves alike. Units are planned in order, each against the state left by
 * the units before it; a unit that fails leaves no trace in the plan, so one conflict fails
 * only its own call (the "isolated" half of group commit).
 *
 * @param streams current state of every stream named in the batch (absent = never written)
 * @param stored  where each client-supplied event id of the batch is already stored, if it is
 */
export function planAppends(
  units: readonly (readonly PreparedAppend[])[],
  streams: ReadonlyMap<string, StreamState>,
  stored: ReadonlyMap<string, StoredEventRef>,
): AppendPlan {
  let rows: PlannedRow[] = [];
  const written = new Map<string, StreamState & { created: boolean }>();
  const batchIds = new Set<string>();
  const outcomes = units.map((unit): PlannedOutcome => {
    const local = new Map<string, StreamState & { created: boolean }>();
    const unitRows: PlannedRow[] = [];
    const parts: { stream: string; revision: number; row?: number; position?: number }[] = [];
    try {
      for (const append of unit) {
        const state =
          local.get(append.stream) ?? written.get(append.stream) ?? streams.get(append.stream);
        if (state?.deleted === Deleted.hard) throw new StreamDeletedError(append.stream);
        const retry = idempotentRetry(append, stored, batchIds);
        if (retry) {
          parts.push(retry);
          continue;
        }
        checkExpectedRevision(append.stream, append.expectedRevision, state);
        let revision = state?.revision ?? -1;
        for (const event of append.events) {
          revision += 1;
          unitRows.push({ stream: append.stream, revision, event });
        }
        local.set(append.stream, {
          revision,
          deleted: Deleted.none,
          created: state === undefined || ('created' in state && state.created === true),
        });
        parts.push({ stream: append.stream, revision, row: rows.length + unitRows.length - 1 });
      }
    } catch (error) {
      return { ok: false, error: error as CausewayError };
    }
    // Only a caller's ids can clash with another unit's (generated ones are unique), so
    // only those are remembered. The first unit's rows become the batch's rows as they are
    // (a lone append's hundred rows are not copied into a second growing array).
    for (const row of unitRows) if (row.event.clientId) batchIds.add(row.event.id);
    if (rows.length === 0) rows = unitRows;
    else for (const row of unitRows) rows.push(row);
    for (const [name, state] of local) written.set(name, state);
    return { ok: true, parts };
  });
  return { rows, streams: written, outcomes };
}

/**
 * If every event of `append` is already stored, consecutively, in its stream, and at the
 * place the expected revision names, the append is a retry of a committed one: its result
 * is the stored one. Some but not all ids stored, or stored elsewhere, is an error.
 */
function idempotentRetry(
  append: PreparedAppend,
  stored: ReadonlyMap<string, StoredEventRef>,
  batchIds: ReadonlySet<string>,
): AppendResult | undefined {
  let first: StoredEventRef | undefined;
  let last: StoredEventRef | undefined;
  let found = 0;
  for (const event of append.events) {
    if (!event.clientId) continue;
    if (batchIds.has(event.id)) throw new DuplicateEventIdError(event.id, append.stream);
    const ref = stored.get(event.id);
    if (!ref) continue;
    found += 1;
    if (ref.stream !== append.stream) throw new DuplicateEventIdError(event.id, append.stream);
    if (last && ref.revision !== last.revision + 1)
      throw new DuplicateEventIdError(event.id, append.stream);
    first ??= ref;
    last = ref;
  }
  if (found === 0 || !first || !last) return undefined;
  const firstId = append.events[0]?.id ?? '';
  if (found !== append.events.length) throw new DuplicateEventIdError(firstId, append.stream);
  const expected = append.expectedRevision;
  if (typeof expected === 'number' && first.revision !== expected + 1) {
    throw new DuplicateEventIdError(firstId, append.stream);
  }
  return { stream: append.stream, revision: last.revision, position: last.position };
}

/** Turns a unit's planned outcome into its results once the batch's base position is known. */
export function resolveOutcome(
  outcome: PlannedOutcome & { ok: true },
  base: number,
): AppendResult[] {
  return outcome.parts.map((p) => ({
    stream: p.stream,
    revision: p.revision,
    position: p.row === undefined ? (p.position ?? 0) : base + 1 + p.row,
  }));
}

/** The client-supplied ids of a batch: the only ones that can already be stored. */
export function clientIds(units: readonly (readonly PreparedAppend[])[]): string[] {
  const ids: string[] = [];
  for (const unit of units)
    for (const a of unit) for (const e of a.events) if (e.clientId) ids.push(e.id);
  return ids;
}

/** The distinct stream names of a batch, sorted (a stable lock order across processes). */
export function streamNames(units: readonly (readonly PreparedAppend[])[]): string[] {
  const names = new Set<string>();
  for (const unit of units) for (const a of unit) names.add(a.stream);
  return [...names].sort();
}

/** What a delete changes: the stream's flag and, for a soft delete, its truncateBefore. */
export interface DeletePlan {
  deleted: DeletedFlag;
  /** New metadata (soft delete hides every existing revision), or undefined if unchanged. */
  metadata: StreamMetadata | undefined;
  /** Whether anything changes at all (soft-deleting a soft-deleted stream does not). */
  changed: boolean;
}

/**
 * Decides what `deleteStream` does, the same way for every adapter.
 */
export function planDelete(
  stream: string,
  state: StreamState | undefined,
  metadata: StreamMetadata,
  options: DeleteStreamOptions,
): DeletePlan {
  assertStreamName(stream);
  const expected = options.expectedRevision === undefined ? 'any' : options.expectedRevision;
  assertExpectedRevision(expected);
  if (state?.deleted === Deleted.hard) throw new StreamDeletedError(stream);
  checkExpectedRevision(stream, expected, state);
  if (options.hard === true) return { deleted: Deleted.hard, metadata: undefined, changed: true };
  if (state?.deleted === Deleted.soft)
    return { deleted: Deleted.soft, metadata: undefined, changed: false };
  if (!state || state.revision < 0) throw new StreamNotFoundError(stream);
  return {
    deleted: Deleted.soft,
    metadata: { ...metadata, truncateBefore: state.revision + 1 },
    changed: true,
  };
}
