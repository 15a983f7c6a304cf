import { DatabaseError } from 'pg';
import {
  CausewayError,
  StorageFullError,
  StoreBusyError,
  StoreUnavailableError,
  WriteRejectedError,
} from '../../core/errors.js';
import { messageOf } from './postgres-support.js';

/** SQLSTATEs after which nothing was written and trying again later can succeed. */
const BUSY = new Set([
  '55P03', // lock_not_available: lock_timeout, NOWAIT
  '57014', // query_canceled: statement_timeout, pg_cancel_backend
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
]);

/** SQLSTATE classes of a write refused for what it would store. */
const REJECTED_CLASSES = new Set([
  '09', // triggered_action_exception
  '22', // data_exception
  '23', // integrity_constraint_violation
  '27', // triggered_data_change_violation
  '44', // with_check_option_violation
  'P0', // PL/pgSQL: RAISE EXCEPTION in a trigger
]);

/**
 * Turns whatever a `pg` call threw into a Causeway error with a stable code, the driver's
 * error as its `cause`: `STORE_BUSY` (a lock or statement timeout, a cancelled statement, a
 * deadlock), `STORAGE_FULL` (`disk_full`), `WRITE_REJECTED` (a trigger, constraint or data
 * check of the database refused the rows) and `STORE_UNAVAILABLE` for everything else (the
 * connection, the server, permissions). Causeway errors pass through unchanged.
 *
 * @param operation what was being done, for the message (`'append'`, `'read'`...)
 * @param streams the streams of the append that failed, when there is one
 */
export function postgresError(
  operation: string,
  error: unknown,
  streams: readonly string[] = [],
): CausewayError {
  if (error instanceof CausewayError) return error;
  const message = messageOf(error);
  const code = error instanceof DatabaseError ? error.code : undefined;
  if (code === undefined)
    return new StoreUnavailableError(`PostgreSQL ${operation} failed: ${message}`, error);
  if (BUSY.has(code))
    return new StoreBusyError(`PostgreSQL ${operation} failed: ${message} (${code})`, error);
  if (code === '53100')
    return new StorageFullError(`PostgreSQL ${operation} failed: ${message} (${code})`, error);
  if (REJECTED_CLASSES.has(code.slice(0, 2)))
    return new WriteRejectedError(
      `PostgreSQL refused the ${operation}${streams.length > 0 ? ` to ${streams.map((s) => JSON.stringify(s)).join(', ')}` : ''}: ${message} (${code})`,
      error,
      streams,
    );
  return new StoreUnavailableError(`PostgreSQL ${operation} failed: ${message} (${code})`, error);
}
