import { CausewayError, InvalidArgumentError } from '../core/errors.js';
import { Deleted, type StreamState } from './append-plan.js';
import type { StreamMetadata } from './event-store.js';

/**
 * Stable error codes of scavenging. Like the core's `ErrorCode`, a code never changes meaning
 * once published.
 */
export const ScavengeErrorCode = {
  /** The store (or the adapter under a decorated stack) cannot scavenge. */
  SCAVENGE_UNSUPPORTED: 'SCAVENGE_UNSUPPORTED',
  /** A scavenge was asked for while one is running (the HTTP route runs one at a time). */
  SCAVENGE_RUNNING: 'SCAVENGE_RUNNING',
} as const;

/** One of the values of {@link ScavengeErrorCode}. */
export type ScavengeErrorCode = (typeof ScavengeErrorCode)[keyof typeof ScavengeErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '../core/errors.js' {
  interface CausewayErrorCodes {
    scavenge: ScavengeErrorCode;
  }
}

/** `scavenge()` was asked of a store that has no such capability. */
export class ScavengeUnsupportedError extends CausewayError {
  constructor(readonly store: string) {
    super(ScavengeErrorCode.SCAVENGE_UNSUPPORTED, `The store ${store} cannot scavenge`);
  }
}

/** A scavenge is already running here: wait for it, then ask again. */
export class ScavengeRunningError extends CausewayError {
  constructor() {
    super(ScavengeErrorCode.SCAVENGE_RUNNING, 'A scavenge is already running');
  }
}

/** Default of {@link ScavengeOptions.batchSize}. */
export const DEFAULT_SCAVENGE_BATCH_SIZE = 1000;
/** Largest accepted {@link ScavengeOptions.batchSize}. */
export const MAX_SCAVENGE_BATCH_SIZE = 100_000;

/** Where a scavenge is, told after each batch (see {@link ScavengeOptions.onProgress}). */
export interface ScavengeProgress {
  /** 1 for the first batch. */
  batch: number;
  /** Events this batch removed (dry run: would remove). */
  eventsRemoved: number;
  /** Events removed so far, this batch included. */
  totalEventsRemoved: number;
  /** The streams this batch removed events from, in code point order. */
  streams: readonly string[];
}

/** Options of {@link Scavengeable.scavenge}. */
export interface ScavengeOptions {
  /**
   * Most events removed per batch; each batch is its own short transaction, so writers wait
   * at most one batch. Default 1000, at most 100,000.
   */
  batchSize?: number;
  /** Count what would go, remove nothing. Default false. */
  dryRun?: boolean;
  /** Called after each batch that removed (or, dry, found) events. Must not throw. */
  onProgress?: (progress: ScavengeProgress) => void;
  /**
   * SQLite: also `VACUUM` the file at the end, so it shrinks by what was freed (rewrites the
   * whole file: needs as much free disk and holds the write lock while it runs). Default
   * false: the WAL is checkpointed and truncated, freed pages are reused by later writes.
   * Ignored by the other adapters (PostgreSQL: run `VACUUM` yourself, see docs).
   */
  vacuum?: boolean;
  /**
   * Stops the scavenge between two batches once aborted: what the batches so far removed
   * stays removed, and the report says `interrupted`. Running it again goes on.
   */
  signal?: AbortSignal;
}

/** What a scavenge removed (dry run: would remove). */
export interface ScavengeReport {
  dryRun: boolean;
  /** Events removed. */
  eventsRemoved: number;
  /** Streams that lost at least one event. */
  streamsScavenged: number;
  /** Of those, streams left with no stored event (their stream row and tombstone stay). */
  streamsEmptied: number;
  /** UTF-8 bytes of the removed events' `data` and `metadata`. */
  bytesRemoved: number;
  /** Batches (transactions) that removed events. */
  batches: number;
  /**
   * SQLite: bytes the database file shrank by, when {@link ScavengeOptions.vacuum} was set;
   * undefined otherwise.
   */
  fileBytesFreed?: number;
  /**
   * Through `Backend.scavenge`: tombstoned streams whose events were removed and whose
   * snapshots (any they had) were deleted with them. Undefined from a store's own `scavenge`.
   */
  snapshotsCleared?: number;
  /** True when {@link ScavengeOptions.signal} stopped it before the end. */
  interrupted?: boolean;
}

/**
 * The capability of physically removing what a store no longer shows: events of hard-deleted
 * (tombstoned) streams, and events hidden by stream metadata (`truncateBefore`, which a soft
 * delete sets, `maxCount`, `maxAge`). Positions are never reused: the log gets gaps where
 * removed events were, and readers keep their order guarantees. Implemented by the memory,
 * SQLite and PostgreSQL stores and forwarded by every store decorator; see
 * {@link isScavengeable} and docs/event-store.md.
 *
 * @example
 * ```ts
 * if (isScavengeable(store)) {
 *   const report = await store.scavenge({ batchSize: 500, onProgress: (p) => log.info(p) });
 *   log.info(report, 'scavenged');
 * }
 * ```
 */
export interface Scavengeable {
  /**
   * Removes the hidden events, in batches of at most `batchSize` events, each in its own
   * transaction. Once it resolves, none of them is stored any more. Hidden events that become
   * hidden during the run (an append pushing a `maxCount`) may be left to the next run.
   *
   * @throws InvalidArgumentError for bad options; StoreClosedError; ScavengeUnsupportedError
   *   through a decorator whose inner store cannot scavenge.
   */
  scavenge(options?: ScavengeOptions): Promise<ScavengeReport>;
}

/**
 * True when `store` can scavenge: it has `scavenge()`, and, for a decorated stack, so has
 * the adapter's store at the bottom of it.
 */
export function isScavengeable<T extends object>(store: T): store is T & Scavengeable {
  let s: unknown = store;
  for (;;) {
    if (typeof (s as Partial<Scavengeable>).scavenge !== 'function') return false;
    const inner = (s as { inner?: unknown }).inner;
    if (inner === undefined || inner === null || typeof inner !== 'object') return true;
    s = inner;
  }
}

/** Checked scavenge options. */
export interface ScavengeSettings {
  batchSize: number;
  dryRun: boolean;
  vacuum: boolean;
  onProgress: ((progress: ScavengeProgress) => void) | undefined;
  signal: AbortSignal | undefined;
}

/** Checks {@link ScavengeOptions}, filling in the defaults. */
export function scavengeSettings(options: ScavengeOptions = {}): ScavengeSettings {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('options', 'must be an object');
  const batchSize = options.batchSize ?? DEFAULT_SCAVENGE_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_SCAVENGE_BATCH_SIZE)
    throw new InvalidArgumentError(
      'batchSize',
      `must be an integer from 1 to ${MAX_SCAVENGE_BATCH_SIZE}`,
    );
  for (const key of ['dryRun', 'vacuum'] as const)
    if (options[key] !== undefined && typeof options[key] !== 'boolean')
      throw new InvalidArgumentError(key, 'must be a boolean');
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function')
    throw new InvalidArgumentError('onProgress', 'must be a function');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal))
    throw new InvalidArgumentError('signal', 'must be an AbortSignal');
  return {
    batchSize,
    dryRun: options.dryRun ?? false,
    vacuum: options.vacuum ?? false,
    onProgress: options.onProgress,
    signal: options.signal,
  };
}

/**
 * Which of a stream's stored events no read shows any more, by the same rules as
 * `streamWindow`: every one of a tombstoned stream; otherwise those below `belowRevision`
 * (`truncateBefore`, `maxCount`) or, with `maxAge`, recorded before `recordedBefore` (epoch
 * ms). Undefined when none is hidden.
 */
export type HiddenEvents =
  { all: true } | { all: false; belowRevision: number; recordedBefore: number | undefined };

/** The events of a stream that no read shows at `now` (see {@link HiddenEvents}). */
export function hiddenEvents(
  state: StreamState,
  metadata: StreamMetadata,
  now: number,
): HiddenEvents | undefined {
  if (state.deleted === Deleted.hard) return { all: true };
  if (state.revision < 0) return undefined;
  let below = typeof metadata.truncateBefore === 'number' ? metadata.truncateBefore : 0;
  if (typeof metadata.maxCount === 'number')
    below = Math.max(below, state.revision - metadata.maxCount + 1);
  const recordedBefore =
    typeof metadata.maxAge === 'number' ? now - metadata.maxAge * 1000 : undefined;
  if (below <= 0 && recordedBefore === undefined) return undefined;
  return { all: false, belowRevision: Math.max(below, 0), recordedBefore };
}

/** What one scavenge batch of an adapter did. */
export interface ScavengeBatchOutcome {
  /** Events removed (dry run: found). */
  removed: number;
  /** Their data + metadata bytes. */
  bytes: number;
  /** How many of the given streams are done (from the front of the list). */
  done: number;
  /** Streams that lost events in this batch, in order. */
  touched: string[];
  /** Streams of `touched` left with no stored event. */
  emptied: number;
}

/** A fresh outcome: nothing removed, no stream done. */
export function newScavengeOutcome(): ScavengeBatchOutcome {
  return { removed: 0, bytes: 0, done: 0, touched: [], emptied: 0 };
}

/**
 * Adds what was removed from one stream (dry run: found) to a batch's outcome, naming the
 * stream among the touched when it lost events; says whether it did (the caller then checks
 * whether it was emptied).
 */
export function countScavenged(
  outcome: ScavengeBatchOutcome,
  stream: { name: string; removed: number; bytes: number },
): boolean {
  outcome.removed += stream.removed;
  outcome.bytes += stream.bytes;
  if (stream.removed === 0) return false;
  outcome.touched.push(stream.name);
  return true;
}

/** One scavenge batch an adapter is asked for (see {@link ScavengeIo.batch}). */
export interface ScavengeBatchRequest {
  /** The streams, in order. */
  streams: readonly string[];
  /** The time hidden-by-age is judged against (ms since the epoch). */
  now: number;
  /** The most events to remove in the batch. */
  limit: number;
  dryRun: boolean;
}

/** The storage side of a scavenge, as an adapter provides it. */
export interface ScavengeIo {
  /**
   * Up to `limit` names of streams that may hold hidden events (tombstoned, or with
   * metadata), after `after`, in code point order.
   */
  candidates(after: string | undefined, limit: number): Promise<string[]>;
  /**
   * One transaction: reads each stream's row again (so its metadata is current), removes its
   * hidden events, and moves on while fewer than `limit` events were removed. Dry run: counts
   * every hidden event of each stream, removing nothing.
   */
  batch(request: ScavengeBatchRequest): Promise<ScavengeBatchOutcome>;
}

/** Streams fetched per candidate page. */
const CANDIDATE_PAGE = 256;

/**
 * The scavenge loop shared by the adapters: candidate streams in name order, batches of at
 * most `batchSize` events, a progress report after each.
 *
 * @param runBatch runs one batch (the adapter wraps it in its write lock)
 */
export async function runScavenge(
  io: ScavengeIo,
  settings: ScavengeSettings,
  context: { now: number; runBatch?: <T>(work: () => Promise<T>) => Promise<T> },
): Promise<ScavengeReport> {
  const report: ScavengeReport = {
    dryRun: settings.dryRun,
    eventsRemoved: 0,
    streamsScavenged: 0,
    streamsEmptied: 0,
    bytesRemoved: 0,
    batches: 0,
  };
  const run = context.runBatch ?? (<T>(work: () => Promise<T>) => work());
  const pending: string[] = [];
  let after: string | undefined;
  let exhausted = false;
  let lastTouched: string | undefined;
  for (;;) {
    if (!exhausted && pending.length < CANDIDATE_PAGE) {
      const page = await io.candidates(after, CANDIDATE_PAGE);
      pending.push(...page);
      const last = page[page.length - 1];
      if (last !== undefined) after = last;
      if (page.length < CANDIDATE_PAGE) exhausted = true;
    }
    if (pending.length === 0) break;
    if (settings.signal?.aborted) {
      report.interrupted = true;
      break;
    }
    const outcome = await run(() =>
      io.batch({
        streams: pending,
        now: context.now,
        limit: settings.batchSize,
        dryRun: settings.dryRun,
      }),
    );
    if (outcome.done === 0 && outcome.removed === 0)
      throw new Error('internal: a scavenge batch made no progress');
    pending.splice(0, outcome.done);
    for (const name of outcome.touched) {
      if (name !== lastTouched) report.streamsScavenged += 1;
      lastTouched = name;
    }
    report.streamsEmptied += outcome.emptied;
    if (outcome.removed > 0) {
      report.batches += 1;
      report.eventsRemoved += outcome.removed;
      report.bytesRemoved += outcome.bytes;
      settings.onProgress?.({
        batch: report.batches,
        eventsRemoved: outcome.removed,
        totalEventsRemoved: report.eventsRemoved,
        streams: [...outcome.touched],
      });
    }
  }
  return report;
}
