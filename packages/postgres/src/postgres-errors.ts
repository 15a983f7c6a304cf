import { DatabaseError } from 'pg';
import {
  CausewayError,
  StorageFullError,
  StoreBusyError,
  StoreClosedError,
  StoreUnavailableError,
  WriteRejectedError,
} from '@causewayjs/core';
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

/**
 * The failure of a statement of a Causeway component on PostgreSQL (checkpoints, leases,
 * sagas, snapshots, projections, documents...): a Causeway error as it is, `StoreClosedError`
 * when the store or its pool was closed (the driver's complaint is then about that), else
 * {@link postgresError}. Every component's driver calls end here, through the helpers they
 * share (`PostgresSubscriptionTables`, `connectPostgresComponent`), so a full disk or a
 * trigger's refusal reads the same from a component as from the event store.
 *
 * @param operation what was being done, for the message (`'subscriptions checkpoint save'`...)
 * @param closed whether the store or its pool has been closed
 */
export function postgresComponentError(
  operation: string,
  error: unknown,
  closed: boolean,
): CausewayError {
  if (error instanceof CausewayError) return error;
  if (closed) return new StoreClosedError();
  return postgresError(operation, error);
}
