import Database from 'better-sqlite3';
import {
  CausewayError,
  StorageFullError,
  StoreBusyError,
  StoreUnavailableError,
  WriteRejectedError,
} from '@causewayjs/core';

/** What a SQLite failure is mapped to, by its (primary) result code. */
const BY_CODE: Readonly<Record<string, 'busy' | 'full' | 'rejected'>> = {
  SQLITE_BUSY: 'busy',
  SQLITE_LOCKED: 'busy',
  SQLITE_FULL: 'full',
  // A trigger's RAISE(ABORT|FAIL|ROLLBACK), a CHECK, NOT NULL or foreign key of the database.
  SQLITE_CONSTRAINT: 'rejected',
  SQLITE_MISMATCH: 'rejected',
  SQLITE_TOOBIG: 'rejected',
};

/**
 * Turns whatever a SQLite call threw into a Causeway error with a stable code, the driver's
 * error as its `cause`: `STORE_BUSY` (the write lock was held past `busyTimeoutMs`),
 * `STORAGE_FULL` (no room left: a full disk or `max_page_count`), `WRITE_REJECTED` (a
 * trigger or constraint of the database refused the rows) and `STORE_UNAVAILABLE` for
 * everything else (I/O errors, a corrupt or read-only file, a closed connection). Causeway
 * errors pass through unchanged.
 *
 * @param operation what was being done, for the message (`'append'`, `'read'`...)
 * @param streams the streams of the append that failed, when there is one
 */
export function sqliteError(
  operation: string,
  error: unknown,
  streams: readonly string[] = [],
): CausewayError {
  if (error instanceof CausewayError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof Database.SqliteError))
    return new StoreUnavailableError(`SQLite ${operation} failed: ${message}`, error);
  const code = error.code;
  // Extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_CONSTRAINT_TRIGGER...) share their primary's fate.
  switch (BY_CODE[code.split('_', 2).join('_')]) {
    case 'busy':
      return new StoreBusyError(
        `SQLite ${operation} failed: the database is locked by another connection (${code}: ${message})`,
        error,
      );
    case 'full':
      return new StorageFullError(
        `SQLite ${operation} failed: the database or disk is full (${code}: ${message})`,
        error,
      );
    case 'rejected':
      return new WriteRejectedError(
        `SQLite refused the ${operation}${streams.length > 0 ? ` to ${streams.map((s) => JSON.stringify(s)).join(', ')}` : ''} (${code}: ${message})`,
        error,
        streams,
      );
    default:
      return new StoreUnavailableError(`SQLite ${operation} failed (${code}: ${message})`, error);
  }
}

/**
 * Runs a synchronous call to the driver and returns its result. A `SqliteError` it throws is
 * thrown on as {@link sqliteError} maps it; anything else (an argument check, a Causeway error,
 * an internal error) as it is. Every Causeway component of the SQLite adapter reaches the
 * database through this, by way of `SqliteStatementCache` or `openSqliteComponent`.
 *
 * @param operation what was being done, for the message (`'checkpoints read'`...)
 */
export function sqliteCall<T>(operation: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw error instanceof Database.SqliteError ? sqliteError(operation, error) : error;
  }
}
