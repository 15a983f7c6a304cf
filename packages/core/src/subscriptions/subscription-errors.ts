import { CausewayError } from '../core/errors.js';

/**
 * Stable error codes of the subscriptions module. Like the core's `ErrorCode`, a code never
 * changes meaning once published.
 */
export const SubscriptionErrorCode = {
  CHECKPOINT_AHEAD: 'CHECKPOINT_AHEAD',
  SUBSCRIPTION_LEASED: 'SUBSCRIPTION_LEASED',
  LEASE_LOST: 'LEASE_LOST',
  HANDLER_TIMEOUT: 'HANDLER_TIMEOUT',
  HANDLER_THREW_NON_ERROR: 'HANDLER_THREW_NON_ERROR',
  INVALID_HANDLER_RESULT: 'INVALID_HANDLER_RESULT',
  STOPPED_BY_HANDLER: 'STOPPED_BY_HANDLER',
  HANDLER_COMMIT_FAILED: 'HANDLER_COMMIT_FAILED',
  PARKED_EVENT_MISSING: 'PARKED_EVENT_MISSING',
  WAIT_TIMEOUT: 'WAIT_TIMEOUT',
} as const;

/** One of the values of {@link SubscriptionErrorCode}. */
export type SubscriptionErrorCode =
  (typeof SubscriptionErrorCode)[keyof typeof SubscriptionErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '../core/errors.js' {
  interface CausewayErrorCodes {
    subscriptions: SubscriptionErrorCode;
  }
}

/**
 * A subscription's stored checkpoint is beyond the last event of the store: the checkpoints
 * belong to another (or a restored, older) store. Nothing is delivered until it is resolved,
 * for instance by resetting the checkpoint.
 */
export class CheckpointAheadError extends CausewayError {
  constructor(
    readonly subscription: string,
    readonly checkpoint: number,
    readonly head: number,
  ) {
    super(
      SubscriptionErrorCode.CHECKPOINT_AHEAD,
      `Subscription "${subscription}" has a checkpoint at position ${checkpoint} but the store ends at ${head}: the checkpoint belongs to another or a newer store`,
    );
  }
}

/** Another process holds the subscription's lease, so this one may not run it now. */
export class SubscriptionLeasedError extends CausewayError {
  constructor(
    readonly subscription: string,
    /** Who holds the lease. */
    readonly owner: string,
    /** When the lease runs out unless its holder renews it. */
    readonly expiresAt: Date,
  ) {
    super(
      SubscriptionErrorCode.SUBSCRIPTION_LEASED,
      `Subscription "${subscription}" is already running in ${owner} (lease until ${expiresAt.toISOString()}); start it with lease.wait to take over when that one stops`,
    );
  }
}

/**
 * The subscription's lease passed to another owner while it ran (it could not renew it in
 * time). It stops without committing anything more, so two owners never both commit.
 */
export class LeaseLostError extends CausewayError {
  constructor(
    readonly subscription: string,
    readonly owner: string,
  ) {
    super(
      SubscriptionErrorCode.LEASE_LOST,
      `Subscription "${subscription}" lost its lease (owner ${owner}): another process took it over`,
    );
  }
}

/** A handler did not settle within the per-event timeout. */
export class HandlerTimeoutError extends CausewayError {
  constructor(
    readonly subscription: string,
    readonly position: number,
    readonly timeoutMs: number,
  ) {
    super(
      SubscriptionErrorCode.HANDLER_TIMEOUT,
      `The handler of subscription "${subscription}" did not finish the event at position ${position} within ${timeoutMs} ms`,
    );
  }
}

/** A handler threw (or rejected with) something that is not an `Error`. */
export class NonErrorThrownError extends CausewayError {
  constructor(
    /** What was thrown, as is. */
    readonly thrown: unknown,
  ) {
    super(
      SubscriptionErrorCode.HANDLER_THREW_NON_ERROR,
      `The handler threw a non-Error value: ${describeValue(thrown)}; throw Error objects so failures keep a stack`,
    );
  }
}

/** A handler returned something other than nothing or a result made by `ack()` / `nack`. */
export class InvalidHandlerResultError extends CausewayError {
  constructor(
    /** What the handler returned, as is. */
    readonly result: unknown,
  ) {
    super(
      SubscriptionErrorCode.INVALID_HANDLER_RESULT,
      `The handler returned ${describeValue(result)}; return nothing to acknowledge an event, or nack.park(), nack.retry(), nack.skip() or nack.stop()`,
    );
  }
}

/** A handler asked the subscription to stop (`nack.stop`). */
export class SubscriptionStoppedByHandlerError extends CausewayError {
  constructor(
    readonly subscription: string,
    readonly position: number,
    readonly reason: string,
  ) {
    super(
      SubscriptionErrorCode.STOPPED_BY_HANDLER,
      `The handler of subscription "${subscription}" stopped it at position ${position}: ${reason}`,
    );
  }
}

/**
 * The handler succeeded but its transaction did not commit (a statement it ran failed and
 * the error was caught, or a constraint checked at commit failed).
 */
export class HandlerCommitFailedError extends CausewayError {
  constructor(
    readonly position: number,
    cause: unknown,
  ) {
    super(
      SubscriptionErrorCode.HANDLER_COMMIT_FAILED,
      `The transaction handling the event at position ${position} failed to commit: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/** A parked event to retry is no longer in the store at its position (or has another id). */
export class ParkedEventMissingError extends CausewayError {
  constructor(
    readonly subscription: string,
    readonly position: number,
    readonly eventId: string,
  ) {
    super(
      SubscriptionErrorCode.PARKED_EVENT_MISSING,
      `Parked event ${eventId} of subscription "${subscription}" is not at position ${position} in the store`,
    );
  }
}

/** Waiting for a subscription to reach a position ended before it got there. */
export class WaitTimeoutError extends CausewayError {
  constructor(
    readonly subscription: string,
    /** The position waited for. */
    readonly position: number,
    /** Where the subscription was when the wait ended. */
    readonly reached: number,
    reason: string,
  ) {
    super(
      SubscriptionErrorCode.WAIT_TIMEOUT,
      `Subscription "${subscription}" did not reach position ${position} (it is at ${reached}): ${reason}`,
    );
  }
}

/** A short, safe rendering of any value for messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return `${typeof value} ${String(value)}`;
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const name = (value as { constructor?: { name?: string } }).constructor?.name;
  let keys = '';
  try {
    keys = Object.keys(value).slice(0, 5).join(', ');
  } catch {
    // A hostile proxy: the name is enough.
  }
  return `${name && name !== 'Object' ? `a ${name}` : 'an object'} {${keys}}`;
}
