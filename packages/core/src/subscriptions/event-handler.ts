import type { RecordedEvent } from '../core/envelope.js';
import type { StoreTransaction } from '../store/event-store.js';
import type { LeaseClaim } from './lease-store.js';
import { InvalidHandlerResultError } from './subscription-errors.js';

/** What a subscription hands its handler with each event. */
export interface HandlerContext<Tx extends StoreTransaction = StoreTransaction> {
  /**
   * The transaction the event is handled in. Writes made through it (appends, SQL on the
   * adapter's connection, inbox records) commit together with the subscription's checkpoint,
   * or not at all: exactly-once effects in the store's database.
   */
  tx: Tx;
  /** The subscription's name. */
  subscription: string;
  /** 1 on the first try of this event, then 2, 3... (starts again at 1 for a parked retry). */
  attempt: number;
  /** True when this is a retry of a parked event, outside the log order. */
  retryingParked: boolean;
  /**
   * The runner's lease, owner and fencing epoch, when the subscription runs under one (always
   * in a consumer group). The store's own commits are fenced already; a sink outside its
   * database can store the epoch with each write and refuse a write whose epoch is older than
   * one it has seen, which stops a former runner that stalled past its lease.
   */
  lease?: LeaseClaim | undefined;
  /** Aborted when the handler times out or the subscription stops: stop work then. */
  signal: AbortSignal;
}

/** A handler's explicit answer (see {@link nack}); returning nothing acknowledges. */
export type HandlerResult =
  | { action: 'ack' }
  | { action: 'park'; reason: string }
  | { action: 'retry'; reason: string }
  | { action: 'skip'; reason: string }
  | { action: 'stop'; reason: string };

/**
 * Handles one event. Return nothing (or `ack()`) when done; throw, or return a `nack`
 * result, when not. A thrown error is retried with backoff, then the event is parked.
 *
 * @example
 * ```ts
 * const handler: EventHandler<SqliteTransaction> = (event, { tx }) => {
 *   if (event.type !== 'order.placed') return;
 *   tx.database.prepare('INSERT INTO orders (id, total) VALUES (?, ?)').run(event.stream, 10);
 * };
 * ```
 */
export type EventHandler<Tx extends StoreTransaction = StoreTransaction> = (
  event: RecordedEvent,
  context: HandlerContext<Tx>,
) => Promise<HandlerResult | void> | HandlerResult | void;

/** What a subscription hands its batch handler with each batch. */
export interface BatchHandlerContext<Tx extends StoreTransaction = StoreTransaction> {
  /** The batch's transaction, which also moves the checkpoint to its last event. */
  tx: Tx;
  /** The subscription's name. */
  subscription: string;
  /** The runner's lease, owner and fencing epoch, as in {@link HandlerContext.lease}. */
  lease?: LeaseClaim | undefined;
  /** Aborted when the call times out or the subscription stops: stop work then. */
  signal: AbortSignal;
}

/**
 * Handles a whole batch in one call, as the event handler would one event after another: the
 * fast path of catch-up, where one statement can stand for many (a PostgreSQL `unnest` insert
 * in place of one round trip per event). Return nothing when done. Anything else (a throw, a
 * `nack` result, running past `handlerTimeoutMs`) rolls the batch back and hands its events
 * to the event handler, which decides what to retry, park or skip; so the two must have the
 * same effects.
 *
 * @example
 * ```ts
 * const batchHandler: BatchHandler<PostgresTransaction> = async (events, { tx }) => {
 *   await tx.client.query('INSERT INTO seen (id) SELECT * FROM unnest($1::text[])', [
 *     events.map((e) => e.id),
 *   ]);
 * };
 * ```
 */
export type BatchHandler<Tx extends StoreTransaction = StoreTransaction> = (
  events: readonly RecordedEvent[],
  context: BatchHandlerContext<Tx>,
) => Promise<HandlerResult | void> | HandlerResult | void;

/** Acknowledges the event: the same as returning nothing. */
export function ack(): HandlerResult {
  return { action: 'ack' };
}

/**
 * Negative acknowledgements a handler can return instead of throwing (as KurrentDB's nack
 * actions). Its effects in the transaction are rolled back in every case.
 *
 * @example
 * ```ts
 * if (!isValid(event.data)) return nack.park('order has no lines');
 * ```
 */
export const nack = {
  /** Park the event now (no retries) and move on. */
  park: (reason: string): HandlerResult => ({ action: 'park', reason: String(reason) }),
  /** Count this as a failed attempt: retried with backoff, parked when attempts run out. */
  retry: (reason: string): HandlerResult => ({ action: 'retry', reason: String(reason) }),
  /** Pass over the event (not parked) and move on. */
  skip: (reason: string): HandlerResult => ({ action: 'skip', reason: String(reason) }),
  /** Stop the subscription at this event; it is delivered again after a restart. */
  stop: (reason: string): HandlerResult => ({ action: 'stop', reason: String(reason) }),
} as const;

const ACTIONS = new Set(['ack', 'park', 'retry', 'skip', 'stop']);

/**
 * Checks what a handler returned: nothing (ack) or a {@link HandlerResult}.
 *
 * @throws {InvalidHandlerResultError} for anything else.
 */
export function toHandlerResult(value: unknown): HandlerResult {
  if (value === undefined) return { action: 'ack' };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { action, reason } = value as { action?: unknown; reason?: unknown };
    if (typeof action === 'string' && ACTIONS.has(action)) {
      if (action === 'ack') return { action };
      if (typeof reason === 'string')
        return { action: action as Exclude<HandlerResult['action'], 'ack'>, reason };
    }
  }
  throw new InvalidHandlerResultError(value);
}
