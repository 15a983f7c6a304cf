import type { RecordedEvent } from './envelope.js';

/**
 * Stable error codes. A code never changes meaning once published; match on `error.code`
 * rather than on messages or classes when crossing process boundaries.
 */
export const ErrorCode = {
  WRONG_EXPECTED_REVISION: 'WRONG_EXPECTED_REVISION',
  STREAM_DELETED: 'STREAM_DELETED',
  STREAM_NOT_FOUND: 'STREAM_NOT_FOUND',
  INVALID_STREAM_NAME: 'INVALID_STREAM_NAME',
  INVALID_EVENT: 'INVALID_EVENT',
  EMPTY_APPEND: 'EMPTY_APPEND',
  NOT_JSON: 'NOT_JSON',
  EVENT_TOO_LARGE: 'EVENT_TOO_LARGE',
  DUPLICATE_EVENT_ID: 'DUPLICATE_EVENT_ID',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  STORE_CLOSED: 'STORE_CLOSED',
  SCHEMA_TOO_NEW: 'SCHEMA_TOO_NEW',
  UNSUPPORTED_STORE_URL: 'UNSUPPORTED_STORE_URL',
  ADAPTER_NOT_INSTALLED: 'ADAPTER_NOT_INSTALLED',
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  STORE_BUSY: 'STORE_BUSY',
  STORAGE_FULL: 'STORAGE_FULL',
  WRITE_REJECTED: 'WRITE_REJECTED',
  EVENT_DECODE_FAILED: 'EVENT_DECODE_FAILED',
} as const;

/** One of the values of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The codes of every module, by module: the core's {@link ErrorCode} here, and each module
 * adds the codes of its own map where it declares them, by declaration merging. The core
 * imports nothing of ours, so the vocabulary is gathered this way rather than listed here;
 * the union {@link CausewayErrorCode} is the values of this interface.
 *
 * @example
 * ```ts
 * // src/bus/bus-errors.ts
 * declare module '../core/errors.js' {
 *   interface CausewayErrorCodes {
 *     bus: BusErrorCode;
 *   }
 * }
 * ```
 *
 * An application whose own extensions (an access guard, say) throw `CausewayError`s with
 * codes of their own adds them the same way, from `'@causewayjs/core'` (as the server, the
 * CLI and the MQTT adapter do).
 */
export interface CausewayErrorCodes {
  core: ErrorCode;
}

/**
 * One of the codes of every `CausewayError`: the union of every module's code map. A
 * misspelt code, given to an error or compared with `error.code`, does not compile.
 */
export type CausewayErrorCode = CausewayErrorCodes[keyof CausewayErrorCodes];

/**
 * Base class of every error Causeway throws on purpose.
 *
 * @example
 * ```ts
 * try { await store.append('order-1', events, { expectedRevision: 3 }); }
 * catch (e) { if (e instanceof CausewayError && e.code === 'WRONG_EXPECTED_REVISION') retry(); }
 * ```
 */
export class CausewayError extends Error {
  /**
   * Stable code: one of {@link ErrorCode} or of a module's own code map (e.g. the domain's
   * and the schema registry's); see {@link CausewayErrorCode}.
   */
  readonly code: CausewayErrorCode;

  constructor(code: CausewayErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The revision an append expected, as the caller wrote it. */
export type ExpectedRevisionValue = 'any' | 'no_stream' | 'stream_exists' | number;

/** The stream was not at the revision the caller expected (optimistic concurrency). */
export class WrongExpectedRevisionError extends CausewayError {
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevisionValue,
    /** The stream's last revision, or `'no_stream'` if it has no (visible) events. */
    readonly actual: number | 'no_stream',
  ) {
    super(
      ErrorCode.WRONG_EXPECTED_REVISION,
      `Stream "${stream}" expected revision ${String(expected)} but is at ${String(actual)}`,
    );
  }
}

/** The stream was hard-deleted (tombstoned); it can never be written or read again. */
export class StreamDeletedError extends CausewayError {
  constructor(readonly stream: string) {
    super(ErrorCode.STREAM_DELETED, `Stream "${stream}" has been deleted permanently`);
  }
}

/** An operation needed an existing stream and there was none. */
export class StreamNotFoundError extends CausewayError {
  constructor(readonly stream: string) {
    super(ErrorCode.STREAM_NOT_FOUND, `Stream "${stream}" does not exist`);
  }
}

/** A stream name was empty, too long, not a string or used a reserved form. */
export class InvalidStreamNameError extends CausewayError {
  constructor(
    readonly stream: unknown,
    readonly reason: string,
  ) {
    super(ErrorCode.INVALID_STREAM_NAME, `Invalid stream name ${describe(stream)}: ${reason}`);
  }
}

/** An event to append was malformed (missing type, bad id, bad metadata...). */
export class InvalidEventError extends CausewayError {
  constructor(
    /** Index of the event in the list passed to append. */
    readonly index: number,
    readonly reason: string,
  ) {
    super(ErrorCode.INVALID_EVENT, `Invalid event at index ${index}: ${reason}`);
  }
}

/** `append` was called with no events. */
export class EmptyAppendError extends CausewayError {
  constructor(readonly stream: string) {
    super(
      ErrorCode.EMPTY_APPEND,
      `Nothing to append to stream "${stream}": the event list is empty`,
    );
  }
}

/** A value cannot be represented in JSON without changing it. */
export class NotJsonError extends CausewayError {
  constructor(
    /** Where the bad value sits, as a JSON path such as `$.items[2].price`. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(ErrorCode.NOT_JSON, `Value at ${path} cannot be stored as JSON: ${reason}`);
  }
}

/** An event's encoded data and metadata exceed the store's size limit. */
export class EventTooLargeError extends CausewayError {
  constructor(
    readonly index: number,
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      ErrorCode.EVENT_TOO_LARGE,
      `Event at index ${index} is ${size} bytes, over the limit of ${limit} bytes`,
    );
  }
}

/** An event id is already stored somewhere other than where this append would put it. */
export class DuplicateEventIdError extends CausewayError {
  constructor(
    readonly eventId: string,
    readonly stream: string,
  ) {
    super(
      ErrorCode.DUPLICATE_EVENT_ID,
      `Event id ${eventId} is already stored and this append to "${stream}" is not an exact retry of it`,
    );
  }
}

/** An option or argument was outside what the operation accepts. */
export class InvalidArgumentError extends CausewayError {
  constructor(
    readonly argument: string,
    readonly reason: string,
  ) {
    super(ErrorCode.INVALID_ARGUMENT, `Invalid ${argument}: ${reason}`);
  }
}

/** The store was closed; no operation is accepted after `close()`. */
export class StoreClosedError extends CausewayError {
  constructor() {
    super(ErrorCode.STORE_CLOSED, 'The event store is closed');
  }
}

/** The database was written by a newer Causeway whose schema this code does not know. */
export class SchemaTooNewError extends CausewayError {
  constructor(
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      ErrorCode.SCHEMA_TOO_NEW,
      `The database schema is at version ${found} but this version of Causeway knows only up to ${supported}; upgrade Causeway to open it`,
    );
  }
}

/** `openEventStore` was given a URL it cannot serve. */
export class UnsupportedStoreUrlError extends CausewayError {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(ErrorCode.UNSUPPORTED_STORE_URL, `Cannot open event store "${url}": ${reason}`);
  }
}

/**
 * A store URL names an adapter whose package is not installed: `sqlite:` needs
 * `@causewayjs/sqlite`, `postgres://` needs `@causewayjs/postgres`. The core carries no driver.
 */
export class AdapterNotInstalledError extends CausewayError {
  constructor(
    readonly url: string,
    /** The npm package to install. */
    readonly packageName: string,
    cause?: unknown,
  ) {
    super(
      ErrorCode.ADAPTER_NOT_INSTALLED,
      `Cannot open event store "${url}": its adapter is not installed (npm install ${packageName})`,
      { cause },
    );
  }
}

/** The database could not be reached or failed in a way that is not the caller's fault. */
export class StoreUnavailableError extends CausewayError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.STORE_UNAVAILABLE, message, { cause });
  }
}

/**
 * The database did not finish in time: another writer held its lock past the timeout (SQLite's
 * `busyTimeoutMs`, PostgreSQL's `lock_timeout`) or the statement was cancelled (a
 * `statement_timeout`, `pg_cancel_backend`). Nothing was written; trying again later can
 * succeed. The driver's error is the `cause`.
 */
export class StoreBusyError extends CausewayError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.STORE_BUSY, message, { cause });
  }
}

/**
 * The database has no room left (a full disk, SQLite's `max_page_count`, PostgreSQL's
 * `disk_full`). Nothing was written. The driver's error is the `cause`.
 */
export class StorageFullError extends CausewayError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.STORAGE_FULL, message, { cause });
  }
}

/**
 * The database refused what a write would store: a trigger of its own raised, a constraint
 * or check failed. Nothing of that write was stored; appends that shared its commit are
 * written without it. The driver's error is the `cause`.
 */
export class WriteRejectedError extends CausewayError {
  constructor(
    message: string,
    cause?: unknown,
    /** The streams of the refused append (empty when the write was not an append). */
    readonly streams: readonly string[] = [],
  ) {
    super(ErrorCode.WRITE_REJECTED, message, { cause });
  }
}

/** Where a stored event that cannot be decoded sits, and what is wrong with it. */
export interface EventDecodeFailure {
  /** The event's position: reading on from `position + 1` passes over it. */
  position: number;
  /** Its stream, event id, type and revision, as far as they could be read. */
  stream: string;
  eventId: string;
  type: string;
  revision: number;
  /** The stored column that cannot be decoded: `data`, `metadata`, `recorded_at`... */
  column: string;
  /** What is wrong with it. */
  reason: string;
}

/**
 * A stored event cannot be decoded (its JSON is invalid, a column is NULL or of the wrong
 * type), typically after rows were written around the store with raw SQL. Reads throw it
 * at the event's place, after the events before it; reading again from `position + 1` goes
 * on past it, and subscriptions park it like a failing event. Subclasses (the encrypting
 * store's `DecryptionError`) carry their own code and are parked the same way.
 */
export class EventDecodeError extends CausewayError {
  readonly position: number;
  readonly stream: string;
  readonly eventId: string;
  readonly type: string;
  readonly revision: number;
  readonly column: string;
  readonly reason: string;

  constructor(
    failure: EventDecodeFailure,
    cause?: unknown,
    /** A more precise code for a subclass (a field that does not decrypt, say). */
    code: CausewayErrorCode = ErrorCode.EVENT_DECODE_FAILED,
  ) {
    super(
      code,
      `The stored event at position ${failure.position} (stream ${describe(failure.stream)}) cannot be decoded: column "${failure.column}" ${failure.reason}`,
      { cause },
    );
    this.position = failure.position;
    this.stream = failure.stream;
    this.eventId = failure.eventId;
    this.type = failure.type;
    this.revision = failure.revision;
    this.column = failure.column;
    this.reason = failure.reason;
  }

  /**
   * The event as a reader that skips or parks it shows it: its identity and place, without
   * data or metadata.
   */
  standIn(): RecordedEvent {
    return {
      id: this.eventId,
      type: this.type,
      stream: this.stream,
      revision: this.revision,
      position: this.position,
      data: undefined,
      metadata: {},
      schemaVersion: 1,
      recordedAt: new Date(0),
    };
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > 40 ? JSON.stringify(value.slice(0, 40) + '...') : JSON.stringify(value);
  }
  return `(${value === null ? 'null' : typeof value})`;
}
