import type { CommandEnvelope, CommandReply } from '../domain/command-dispatcher.js';
import type { StoreTransaction } from '../store/event-store.js';
import type { SagaHistoryEntry, SagaQuery, SagaStatus } from './saga-view.js';

/** A saga instance as stored. Times are ms since the epoch of the runtime's clock. */
export interface SagaInstanceRecord {
  saga: string;
  id: string;
  status: SagaStatus;
  step: string;
  state: unknown;
  /** Steps entered, in order: what compensation walks back. */
  trail: string[];
  /**
   * Log position of the last event the instance received (0 before any). Events reach an
   * instance in log order, so one at or below it is a redelivery: recorded as a duplicate,
   * with no effect.
   */
  lastPosition: number;
  /**
   * History entries recorded since the record was read: saving the record appends them to the
   * instance's stored history. Loads return none (`[]`): the stored history is never read,
   * decoded or written again by a step, only appended to; it is read whole with `getInstance`
   * and `listInstances` (the {@link SagaInstanceView}).
   */
  newHistory: SagaHistoryEntry[];
  /** Compensating commands still to settle, while compensating. */
  pendingCompensations: number;
  /** Compensating commands that were parked (rejected, or failed past the attempts). */
  failedCompensations: number;
  startedAt: number;
  updatedAt: number;
}

/** A durable timer as stored. */
export interface SagaTimerRecord {
  /** Deterministic per instance, type and cause: setting the same timer again is a no-op. */
  id: string;
  saga: string;
  instanceId: string;
  type: string;
  /** ms since the epoch. */
  dueAt: number;
  data: unknown;
}

/**
 * Where an outbox command is:
 * - `'pending'`: recorded, to be dispatched (again, after a failed try);
 * - `'sent'`: its handler accepted it;
 * - `'rejected'`: its handler rejected it (a forward command; the saga was told);
 * - `'parked'`: given up: a compensating command its handler rejected, or any command that
 *   could not be delivered within the attempts;
 * - `'skipped'`: a parked command an operator chose not to send again (see
 *   `ParkedSagaCommands.skip`).
 */
export type OutboxStatus = 'pending' | 'sent' | 'rejected' | 'parked' | 'skipped';

/** A command in the outbox. */
export interface OutboxEntry {
  /** Order of recording (store-assigned). Commands of one instance are dispatched in this order. */
  seq: number;
  command: CommandEnvelope;
  /** The saga or choreography handler that sent it. */
  source: string;
  /** The saga instance that sent it; null for a choreography handler. */
  instanceId: string | null;
  /** Whether it is a compensating command. */
  compensation: boolean;
  status: OutboxStatus;
  /** Dispatch tries made. */
  attempts: number;
  lastError: string | null;
  /** Not dispatched again before this time (ms since the epoch). */
  nextAttemptAt: number;
  createdAt: number;
  settledAt: number | null;
  reply: CommandReply | null;
}

/** A command to record in the outbox. */
export type NewOutboxEntry = Pick<
  OutboxEntry,
  'command' | 'source' | 'instanceId' | 'compensation' | 'createdAt'
>;

/** The outcome of one dispatch try, as written back to the outbox. */
export type OutboxUpdate = Pick<
  OutboxEntry,
  'status' | 'attempts' | 'lastError' | 'nextAttemptAt' | 'settledAt' | 'reply'
>;

/** One dispatch outcome of {@link SagaStore.settleCommands}. */
export interface CommandSettlement {
  commandId: string;
  update: OutboxUpdate;
}

/** Options of {@link SagaStore.listCommands}. */
export interface ListCommandsOptions {
  source?: string;
  instanceId?: string;
  status?: OutboxStatus;
  /** Continue after this sequence number. */
  after?: number;
  /** Default 100. */
  limit?: number;
}

/**
 * Where sagas keep their instances, timers and outgoing commands: the event store's own
 * database, so that all of it commits in one transaction with the saga's checkpoint. One
 * implementation per adapter: `MemorySagaStore`, `sqliteSagaStore(store)` (`@causewayjs/sqlite`)
 * and `postgresSagaStore(store)` (`@causewayjs/postgres`); all pass one conformance suite.
 *
 * Writes take the store's transaction `tx` (reads given `tx` see its uncommitted writes and,
 * on PostgreSQL, lock the instance row until it ends). Reads without `tx` see committed data.
 */
export interface SagaStore<Tx extends StoreTransaction = StoreTransaction> extends SagaQuery {
  /** The instance (its `newHistory` empty), or undefined. */
  loadInstance(saga: string, id: string, tx?: Tx): Promise<SagaInstanceRecord | undefined>;
  /**
   * Creates the instance or replaces what it was, but for its history, to which the record's
   * `newHistory` is appended.
   */
  saveInstance(record: SagaInstanceRecord, tx: Tx): Promise<void>;
  /**
   * The instances of `saga` among `ids` that exist (in any order), read with one round trip;
   * on PostgreSQL locked in id order (`COLLATE "C"`) until `tx` ends. Optional: without it the
   * runtime reads them one by one, in id order.
   */
  loadInstances?(saga: string, ids: readonly string[], tx: Tx): Promise<SagaInstanceRecord[]>;
  /** Creates or replaces each instance, with one round trip. Optional (else one by one). */
  saveInstances?(records: readonly SagaInstanceRecord[], tx: Tx): Promise<void>;
  /**
   * The instance's stored history, oldest first (`[]` when there is no such instance), read
   * in `tx` when given (so it sees the transaction's own writes). The runtime reads it only to
   * tell a redelivered event from a late one. Optional: without it the runtime reads
   * `getInstance`, which sees committed data only.
   */
  loadHistory?(saga: string, id: string, tx?: Tx): Promise<SagaHistoryEntry[]>;
  /** Sets a timer; a timer with the same id already set is left as it is. */
  addTimer(timer: SagaTimerRecord, tx: Tx): Promise<void>;
  /** Removes the timer and returns it; undefined when it is not (or no longer) set. */
  takeTimer(id: string, tx: Tx): Promise<SagaTimerRecord | undefined>;
  /** The instance's timers, by due time. */
  timersOf(saga: string, instanceId: string, tx?: Tx): Promise<SagaTimerRecord[]>;
  /**
   * Timers due at `now` (dueAt <= now), earliest first, at most `limit`; only those of the
   * sagas named in `sagas`, when given (a runtime fires only the timers of the sagas it runs).
   */
  dueTimers(now: number, limit: number, sagas?: readonly string[]): Promise<SagaTimerRecord[]>;
  /** Records commands in the outbox, in order; a command id already recorded is left as it is. */
  enqueue(entries: readonly NewOutboxEntry[], tx: Tx): Promise<void>;
  /**
   * Pending commands, in recording order, at most `limit`; only those sent by the sources
   * (sagas, choreography handlers) named in `sources`, when given.
   */
  pendingCommands(limit: number, sources?: readonly string[]): Promise<OutboxEntry[]>;
  /** Writes a dispatch outcome. */
  settleCommand(commandId: string, update: OutboxUpdate, tx?: Tx): Promise<void>;
  /**
   * Writes several dispatch outcomes with one round trip. Optional: without it the runtime
   * calls {@link SagaStore.settleCommand} for each.
   */
  settleCommands?(settlements: readonly CommandSettlement[], tx?: Tx): Promise<void>;
  /** Outbox commands, in recording order. */
  listCommands(options?: ListCommandsOptions): Promise<OutboxEntry[]>;
}

/** Default page size of queries. */
export const DEFAULT_SAGA_LIST_LIMIT = 100;
/** Largest page size of queries. */
export const MAX_SAGA_LIST_LIMIT = 1000;
