import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  type Clock,
  CausewayError,
  StreamDeletedError,
  WrongExpectedRevisionError,
  type CausewayErrorCode,
  SchemaValidationError,
  type StoreTransaction,
} from '@causewayjs/core';
import { CliConflictError, CliInputError, CliUsageError } from './cli-errors.js';
import { type CliIo, printJson, printLine } from './cli-io.js';
import { parseExportLine, type ImportedEvent, type ImportedStreamState } from './event-json.js';
import { startProgress } from './progress.js';
import type { StoreContext } from './store-context.js';

/** Default number of events committed per transaction by an import. */
export const DEFAULT_IMPORT_BATCH = 500;

/**
 * A clock an import sets to each event's original `recordedAt` just before appending it, so
 * the target store records the same time. Outside an import it reads the system clock.
 */
export class ImportClock implements Clock {
  private fixed: number | undefined;

  now(): number {
    return this.fixed ?? Date.now();
  }

  /** Pins "now" to `ms` (or releases it with `undefined`). */
  set(ms: number | undefined): void {
    this.fixed = ms;
  }
}

/** Options of {@link importEvents}. */
export interface ImportOptions {
  /** The JSONL file to read; `-` reads stdin. */
  file: string;
  /** Events per transaction (default {@link DEFAULT_IMPORT_BATCH}). */
  batchSize?: number;
  /** The clock the target store was opened with, to keep `recordedAt` (see {@link ImportClock}). */
  clock?: ImportClock;
  json?: boolean;
}

/** What an import did. */
export interface ImportSummary {
  /** Events read from the file and committed (new or already there). */
  events: number;
  /** Of those, events that were already in the store (an earlier run): left as they were. */
  alreadyPresent: number;
  /** Stream states (metadata, soft and hard deletions) applied after the events. */
  streams: number;
  /** Last line committed. */
  lastLine: number;
  /** The target store's head after the import. */
  headPosition: number;
}

/** The progress of an import that failed part way: how far it committed before the error. */
export interface PartialImport {
  events: number;
  /** Stream states (metadata, deletions) applied. */
  streams: number;
  lastLine: number;
}

/**
 * Restores events from a JSONL export into the store, preserving each event's id, type,
 * stream, revision, data, metadata, schema version and (with {@link ImportOptions.clock})
 * `recordedAt`, in the file's order. Positions are assigned by the target, in that order.
 *
 * Events are committed in batches of `batchSize`, each in one transaction, appended with the
 * exact expected revision the file implies, so an import into a store whose streams differ
 * fails with a conflict instead of renumbering. Re-running an import (after a failure, or
 * twice) is safe: events already stored at the same place are idempotent successes.
 *
 * Events are appended through the context's store, so each is validated against the schema
 * registry stored in the target (at the schema version the file gives it), like any append.
 *
 * @throws {CliInputError} for a malformed line, or an event its schema refuses (its line
 *   given); every batch before the one holding it is committed, nothing of that batch is.
 *   A file that fits in one batch is thus imported whole or not at all.
 * @throws {CliConflictError} when a stream in the target is not at the revision the file
 *   expects (or an id is stored elsewhere).
 */
export async function importEvents(
  context: StoreContext,
  io: CliIo,
  options: ImportOptions,
): Promise<ImportSummary> {
  const batchSize = options.batchSize ?? DEFAULT_IMPORT_BATCH;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000)
    throw new CliUsageError('--batch-size must be an integer from 1 to 100000');
  const fromStdin = options.file === '-';
  let total = 0;
  if (!fromStdin) {
    try {
      total = statSync(options.file).size;
    } catch (error) {
      throw new CliUsageError(
        `cannot read ${options.file}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  const input = fromStdin ? process.stdin : createReadStream(options.file);
  const lines = createInterface({ input, crlfDelay: Infinity });
  const progress = startProgress(io, {
    total,
    label: 'bytes',
    enabled: options.json !== true && !fromStdin,
  });
  const done: PartialImport = { events: 0, streams: 0, lastLine: 0 };
  let alreadyPresent = 0;
  let bytes = 0;
  let batch: ImportedEvent[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const appended = await commitBatch(context, batch, options.clock);
    alreadyPresent += batch.length - appended.newEvents;
    done.events += batch.length;
    done.lastLine = batch[batch.length - 1]!.line;
    batch = [];
    progress.update(bytes);
  };
  try {
    let line = 0;
    for await (const text of lines) {
      line++;
      bytes += Buffer.byteLength(text) + 1;
      if (io.signal.aborted) break;
      if (text.trim() === '') continue;
      const parsed = parseExportLine(text, line);
      if ('kind' in parsed) {
        await flush();
        await applyStreamState(context, parsed);
        done.streams++;
        done.lastLine = line;
        continue;
      }
      batch.push(parsed);
      if (batch.length >= batchSize) await flush();
    }
    if (!io.signal.aborted) await flush();
  } catch (error) {
    if (error instanceof CausewayError) Object.assign(error, { imported: { ...done } });
    throw error;
  } finally {
    lines.close();
    if (!fromStdin) (input as ReturnType<typeof createReadStream>).destroy();
    progress.stop();
  }
  const summary: ImportSummary = {
    events: done.events,
    alreadyPresent,
    streams: done.streams,
    lastLine: done.lastLine,
    headPosition: await context.store.headPosition(),
  };
  if (options.json) printJson(io, summary);
  else
    printLine(
      io,
      `imported ${summary.events} events (${summary.alreadyPresent} already present) and ${summary.streams} stream states up to line ${summary.lastLine}; head at position ${summary.headPosition}`,
    );
  return summary;
}

/** Runs of consecutive events of one stream, with consecutive revisions and one `recordedAt`. */
function groups(batch: readonly ImportedEvent[]): ImportedEvent[][] {
  const out: ImportedEvent[][] = [];
  let current: ImportedEvent[] = [];
  for (const event of batch) {
    const last = current[current.length - 1];
    if (
      last &&
      (last.stream !== event.stream ||
        last.revision + 1 !== event.revision ||
        last.recordedAt !== event.recordedAt)
    ) {
      out.push(current);
      current = [];
    }
    current.push(event);
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Appends one batch in one transaction; returns how many of its events were new. A stream the
 * target has tombstoned, whose revision already covers a group, was imported by an earlier
 * run (the tombstone comes after its events in an export): that group is skipped.
 */
async function commitBatch(
  context: StoreContext,
  batch: readonly ImportedEvent[],
  clock: ImportClock | undefined,
): Promise<{ newEvents: number }> {
  try {
    return await commitGroups(context, groups(batch), clock);
  } catch (error) {
    if (!(error instanceof CausewayError) || !(error.cause instanceof StreamDeletedError))
      throw error;
    const kept: ImportedEvent[][] = [];
    for (const group of groups(batch)) {
      const first = group[0]!;
      const info = await context.store.streamInfo(first.stream);
      const last = group[group.length - 1]!.revision;
      if (info.deleted === 'hard' && info.revision !== null && info.revision >= last) continue;
      kept.push(group);
    }
    return commitGroups(context, kept, clock);
  }
}

async function commitGroups(
  context: StoreContext,
  runs: readonly ImportedEvent[][],
  clock: ImportClock | undefined,
): Promise<{ newEvents: number }> {
  const store = context.store;
  const count = runs.reduce((n, g) => n + g.length, 0);
  const headBefore = await store.headPosition();
  try {
    await store.transaction(async (tx: StoreTransaction) => {
      for (const group of runs) {
        const first = group[0]!;
        clock?.set(first.recordedAt);
        try {
          await tx.append(
            first.stream,
            group.map((e) => ({
              id: e.id,
              type: e.type,
              data: e.data,
              metadata: e.metadata,
              schemaVersion: e.schemaVersion,
            })),
            { expectedRevision: first.revision === 0 ? 'no_stream' : first.revision - 1 },
          );
        } catch (error) {
          throw describeFailure(error, group);
        } finally {
          clock?.set(undefined);
        }
      }
    });
  } finally {
    clock?.set(undefined);
  }
  const headAfter = await store.headPosition();
  // Other writers may append meanwhile; this is only a report, never used for correctness.
  return { newEvents: Math.min(count, Math.max(0, headAfter - headBefore)) };
}

const DATA_ERRORS = new Set<CausewayErrorCode>([
  'INVALID_EVENT',
  'NOT_JSON',
  'EVENT_TOO_LARGE',
  'INVALID_STREAM_NAME',
  'STREAM_DELETED',
  'UNKNOWN_SCHEMA_VERSION',
  'UNREGISTERED_EVENT_TYPE',
]);

function describeFailure(error: unknown, group: readonly ImportedEvent[]): unknown {
  const first = group[0]!;
  const failed = error instanceof SchemaValidationError ? error.failures[0] : undefined;
  if (failed) {
    const issues = failed.issues.map((i) => `${i.path} ${i.message}`).join('; ');
    return new CliInputError(
      `${failed.eventType} does not match its schema v${failed.version} (${issues}); nothing of this batch was imported`,
      group[failed.index]?.line ?? first.line,
      error,
    );
  }
  if (error instanceof WrongExpectedRevisionError)
    return new CliConflictError(
      `line ${first.line}: stream "${first.stream}" is at revision ${String(error.actual)} in the target store, but the file continues it at revision ${first.revision}; nothing of this batch was imported`,
      error,
    );
  if (error instanceof CausewayError && error.code === 'DUPLICATE_EVENT_ID')
    return new CliConflictError(
      `line ${first.line}: ${error.message}; nothing of this batch was imported`,
      error,
    );
  if (error instanceof CausewayError && DATA_ERRORS.has(error.code))
    return new CliInputError(
      `${error.message}; nothing of this batch was imported`,
      first.line,
      error,
    );
  return error;
}

/**
 * Gives a stream the metadata and deletion state an export recorded, idempotently: a soft
 * delete (then the metadata, which carries its `truncateBefore`), or the metadata then a
 * tombstone; nothing that is already so.
 */
async function applyStreamState(context: StoreContext, state: ImportedStreamState): Promise<void> {
  const store = context.store;
  try {
    const info = await store.streamInfo(state.stream);
    if (info.deleted === 'hard') {
      if (state.deleted === 'hard') return;
      throw new CliConflictError(
        `line ${state.line}: stream "${state.stream}" is tombstoned in the target store, and the file does not have it so`,
      );
    }
    if (state.deleted === 'soft' && info.deleted === false) await store.deleteStream(state.stream);
    if (
      JSON.stringify(info.metadata) !== JSON.stringify(state.metadata) ||
      state.deleted === 'soft'
    )
      await store.setStreamMetadata(state.stream, state.metadata);
    if (state.deleted === 'hard') await store.deleteStream(state.stream, { hard: true });
  } catch (error) {
    throw describeStateFailure(error, state);
  }
}

function describeStateFailure(error: unknown, state: ImportedStreamState): unknown {
  if (
    error instanceof CausewayError &&
    !(error instanceof CliConflictError) &&
    DATA_ERRORS.has(error.code)
  )
    return new CliInputError(
      `${error.message} (stream state of "${state.stream}")`,
      state.line,
      error,
    );
  return error;
}
