import { InvalidArgumentError, type EventDecodeError } from '../core/errors.js';
import type { RecordedEvent } from '../core/envelope.js';
import type { StoreTransaction } from '../store/event-store.js';
import { assertPosition } from './validation.js';

/** Why an event was parked. */
export type ParkReason =
  /** The handler kept failing until the attempts ran out. */
  | 'failed'
  /** The handler asked for it (`nack.park`). */
  | 'requested';

/** The failure recorded with a parked event. */
export interface ParkedError {
  name: string;
  message: string;
  stack?: string;
  /** The error's `code`, when it has a string one (Causeway errors do). */
  code?: string;
}

/** What is stored about an error with a parked event: name, message, stack and code. */
export function parkedErrorRecord(error: unknown): ParkedError {
  const e = error instanceof Error ? error : new Error(String(error));
  const code = (e as { code?: unknown }).code;
  return {
    name: e.name,
    message: e.message,
    ...(e.stack === undefined ? {} : { stack: e.stack }),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

/** An event a subscription set aside (dead-lettered), with why. */
export interface ParkedEvent {
  subscription: string;
  /** The event's position: parked events are kept by reference, the store keeps the event. */
  position: number;
  eventId: string;
  stream: string;
  type: string;
  reason: ParkReason;
  error: ParkedError;
  /** Attempts made before parking (1 when the handler asked to park at once). */
  attempts: number;
  parkedAt: Date;
  /** True once a retry was asked for and the subscription has not yet retried it. */
  retryRequested: boolean;
}

/** The identity of an event that cannot be decoded, as its error names it, for parking. */
export function undecodableEventRef(
  error: EventDecodeError,
): Pick<RecordedEvent, 'position' | 'id' | 'stream' | 'type'> {
  return { position: error.position, id: error.eventId, stream: error.stream, type: error.type };
}

/** What a subscription records when it parks an event. */
export type ParkEntry = Omit<ParkedEvent, 'subscription' | 'retryRequested'>;

/** Which parked events an operation is about: some positions, or all of a subscription's. */
export type ParkedSelection = readonly number[] | 'all';

/** Options of {@link ParkedEventStore.list}. */
export interface ListParkedOptions {
  /** Only events at positions above this. */
  after?: number;
  /** At most this many (default 100). */
  limit?: number;
  /** Only those with (true) or without (false) a pending retry request. */
  retryRequested?: boolean;
}

/**
 * The dead-letter store of subscriptions: events set aside after failing, per subscription,
 * in position order. Kept in the event store's database (so parking commits with the
 * checkpoint that moves past the event). Writes take an optional transaction of the store.
 */
export interface ParkedEventStore<Tx extends StoreTransaction = StoreTransaction> {
  /** Parks an event, or re-parks it (replacing the entry; its retry request is cleared). */
  park(subscription: string, entry: ParkEntry, tx?: Tx): Promise<void>;
  /** The subscription's parked events in position order. */
  list(subscription: string, options?: ListParkedOptions): Promise<ParkedEvent[]>;
  /** How many events the subscription has parked. */
  count(subscription: string): Promise<number>;
  /** Marks parked events for retry; returns how many were marked. */
  requestRetry(subscription: string, which: ParkedSelection, tx?: Tx): Promise<number>;
  /** Removes parked events (after a successful retry, or to skip them); returns how many. */
  remove(subscription: string, which: ParkedSelection, tx?: Tx): Promise<number>;
}

/** A {@link ParkEntry} checked, with its time as milliseconds since the epoch. */
export type PreparedParkEntry = Omit<ParkEntry, 'parkedAt'> & { parkedAt: number };

const REASONS = new Set<string>(['failed', 'requested']);

/**
 * Checks a park entry before any adapter stores it.
 *
 * @throws {InvalidArgumentError} naming the bad field.
 */
export function prepareParkEntry(entry: ParkEntry): PreparedParkEntry {
  if (typeof entry !== 'object' || entry === null)
    throw new InvalidArgumentError('entry', 'must be a park entry object');
  assertPosition(entry.position, 'entry.position');
  if (entry.position < 1) throw new InvalidArgumentError('entry.position', 'must be >= 1');
  for (const key of ['eventId', 'stream', 'type'] as const) {
    if (typeof entry[key] !== 'string' || entry[key].length === 0)
      throw new InvalidArgumentError(`entry.${key}`, 'must be a non-empty string');
  }
  if (!REASONS.has(entry.reason))
    throw new InvalidArgumentError('entry.reason', "must be 'failed' or 'requested'");
  const error = entry.error as Partial<ParkedError> | undefined;
  if (typeof error?.name !== 'string' || typeof error.message !== 'string')
    throw new InvalidArgumentError('entry.error', 'must be { name, message, stack?, code? }');
  if (!Number.isSafeInteger(entry.attempts) || entry.attempts < 1)
    throw new InvalidArgumentError('entry.attempts', 'must be an integer >= 1');
  if (!(entry.parkedAt instanceof Date) || Number.isNaN(entry.parkedAt.getTime()))
    throw new InvalidArgumentError('entry.parkedAt', 'must be a valid Date');
  return {
    position: entry.position,
    eventId: entry.eventId,
    stream: entry.stream,
    type: entry.type,
    reason: entry.reason,
    error: {
      name: error.name,
      message: error.message,
      ...(typeof error.stack === 'string' ? { stack: error.stack } : {}),
      ...(typeof error.code === 'string' ? { code: error.code } : {}),
    },
    attempts: entry.attempts,
    parkedAt: entry.parkedAt.getTime(),
  };
}

/** Default number of parked events one `list` call returns. */
export const DEFAULT_PARKED_LIST_LIMIT = 100;

/** Checks {@link ListParkedOptions} and fills in the defaults. */
export function resolveListOptions(options: ListParkedOptions): {
  after: number;
  limit: number;
  retryRequested: boolean | undefined;
} {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('options', 'must be an object { after, limit, retryRequested }');
  const after = options.after ?? 0;
  assertPosition(after, 'after');
  const limit = options.limit ?? DEFAULT_PARKED_LIST_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new InvalidArgumentError('limit', 'must be an integer >= 1');
  const retryRequested = options.retryRequested;
  if (retryRequested !== undefined && typeof retryRequested !== 'boolean')
    throw new InvalidArgumentError('retryRequested', 'must be a boolean');
  return { after, limit, retryRequested };
}
