import { systemClock, type Clock } from '../core/clock.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { StoreTransaction, TransactionalEventStore } from '../store/event-store.js';
import { ParkedCommandNotFoundError, ParkedCommandNotRetryableError } from './saga-errors.js';
import {
  DEFAULT_SAGA_LIST_LIMIT,
  MAX_SAGA_LIST_LIMIT,
  type OutboxEntry,
  type SagaInstanceRecord,
  type SagaStore,
} from './saga-store.js';
import type { SagaHistoryEntry, SagaStatus } from './saga-view.js';

/** Options of {@link SagaCommandAdmin.listParked}. */
export interface ListParkedCommandsOptions {
  /** Only commands sent by this saga or choreography handler. */
  source?: string;
  /** Only commands of this saga instance. */
  instanceId?: string;
  /** Continue after this outbox sequence number. */
  after?: number;
  /** Default 100, at most 1000. */
  limit?: number;
}

/** What {@link SagaCommandAdmin.retry} and {@link SagaCommandAdmin.skip} did. */
export interface ParkedCommandResult {
  commandId: string;
  /** `'pending'` after a retry, `'skipped'` after a skip. */
  status: 'pending' | 'skipped';
  /** The instance that sent the command, as it is now; null for a choreography handler's. */
  instance: { saga: string; id: string; status: SagaStatus } | null;
}

/**
 * Operator actions on the outbox commands that were given up (parked): list them, send one
 * again, or skip it. The server's `/saga-commands` routes and `causeway sagas parked|retry|skip`
 * use it; {@link ParkedSagaCommands} implements it over a {@link SagaStore}.
 */
export interface SagaCommandAdmin {
  /** Parked commands, in recording order. */
  listParked(options?: ListParkedCommandsOptions): Promise<OutboxEntry[]>;
  /**
   * Puts a parked command back in the outbox as pending, with the same command id (so a
   * handler that already applied it answers from its idempotency record) and a fresh count
   * of attempts.
   *
   * @throws {ParkedCommandNotFoundError} when no parked command has this id.
   * @throws {ParkedCommandNotRetryableError} for a forward command of an instance that no
   *   longer runs.
   */
  retry(commandId: string, options?: { reason?: string }): Promise<ParkedCommandResult>;
  /**
   * Marks a parked command `'skipped'`: it is never sent, and the skip is recorded in the
   * instance's history.
   *
   * @throws {ParkedCommandNotFoundError} when no parked command has this id.
   */
  skip(commandId: string, options?: { reason?: string }): Promise<ParkedCommandResult>;
}

/** Options of {@link ParkedSagaCommands}. */
export interface ParkedSagaCommandsOptions<Tx extends StoreTransaction = StoreTransaction> {
  /** The store whose database holds the saga store (for its transactions). */
  store: TransactionalEventStore<Tx>;
  sagaStore: SagaStore<Tx>;
  /** Time of the history entries and of the retry. Default: the system clock. */
  clock?: Clock;
  /** Called after a retry commits (a runtime in this process wakes its outbox loop). */
  onRequeued?: () => void;
}

/**
 * {@link SagaCommandAdmin} over a saga store. It works from any process on the store's
 * database: a retried command is picked up by whichever runtime runs the outbox of its saga,
 * at the latest at that runtime's next outbox poll.
 *
 * What happens to the instance, in the same transaction as the command's change:
 * - **retry of a compensating command**: it counts as pending again (`failedCompensations`
 *   down by one, `pendingCompensations` up by one) and a `failed` instance is `compensating`
 *   again. When the retried command is accepted and nothing else is parked, the instance ends
 *   `compensated`; when it is parked again, `failed` again.
 * - **skip of a compensating command**: the operator takes it as settled: when no other
 *   compensation is parked or pending, a `failed` instance ends `compensated`.
 * - **retry of a forward command** of a saga instance is refused (its failure started the
 *   compensation; sending it now would redo an undone step): skip it. A choreography
 *   handler's command (no instance) may always be retried.
 * - **skip of a forward command**: recorded in the history; the status does not change.
 */
export class ParkedSagaCommands<
  Tx extends StoreTransaction = StoreTransaction,
> implements SagaCommandAdmin {
  private readonly clock: Clock;

  constructor(private readonly options: ParkedSagaCommandsOptions<Tx>) {
    this.clock = options.clock ?? systemClock;
  }

  async listParked(options: ListParkedCommandsOptions = {}): Promise<OutboxEntry[]> {
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError('options', 'must be an object');
    const limit = options.limit ?? DEFAULT_SAGA_LIST_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SAGA_LIST_LIMIT)
      throw new InvalidArgumentError(
        'limit',
        `must be an integer from 1 to ${MAX_SAGA_LIST_LIMIT}`,
      );
    if (options.after !== undefined && (!Number.isSafeInteger(options.after) || options.after < 0))
      throw new InvalidArgumentError('after', 'must be an integer >= 0');
    return await this.options.sagaStore.listCommands({
      status: 'parked',
      limit,
      ...(options.source === undefined ? {} : { source: options.source }),
      ...(options.instanceId === undefined ? {} : { instanceId: options.instanceId }),
      ...(options.after === undefined ? {} : { after: options.after }),
    });
  }

  retry(commandId: string, options: { reason?: string } = {}): Promise<ParkedCommandResult> {
    return this.act(commandId, 'retry', options.reason);
  }

  skip(commandId: string, options: { reason?: string } = {}): Promise<ParkedCommandResult> {
    return this.act(commandId, 'skip', options.reason);
  }

  private async act(
    commandId: string,
    action: 'retry' | 'skip',
    reason: string | undefined,
  ): Promise<ParkedCommandResult> {
    if (typeof commandId !== 'string' || commandId.length === 0)
      throw new InvalidArgumentError('commandId', 'must be a non-empty string');
    if (reason !== undefined && typeof reason !== 'string')
      throw new InvalidArgumentError('reason', 'must be a string');
    const { store, sagaStore } = this.options;
    const found = await this.findParked(commandId);
    const result = await store.transaction(async (tx) => {
      // The instance first: it locks the instance row (PostgreSQL), as every transaction
      // touching an instance does, so the outbox loop never races this change.
      const record =
        found.instanceId === null
          ? undefined
          : await sagaStore.loadInstance(found.source, found.instanceId, tx);
      // Looked up again under the lock: another operator may have acted meanwhile.
      const entry = await this.findParked(commandId);
      const now = this.clock.now();
      if (action === 'retry') {
        if (!entry.compensation && record && record.status !== 'running')
          throw new ParkedCommandNotRetryableError(
            commandId,
            `it is a forward command of instance "${record.id}" of saga "${record.saga}", which is ${record.status}; skip it instead`,
          );
        await sagaStore.settleCommand(
          commandId,
          {
            status: 'pending',
            attempts: 0,
            lastError: entry.lastError,
            nextAttemptAt: now,
            settledAt: null,
            reply: null,
          },
          tx,
        );
      } else {
        await sagaStore.settleCommand(
          commandId,
          {
            status: 'skipped',
            attempts: entry.attempts,
            lastError: entry.lastError,
            nextAttemptAt: entry.nextAttemptAt,
            settledAt: now,
            reply: entry.reply,
          },
          tx,
        );
      }
      if (record) {
        applyToInstance(record, entry, action, reason, now);
        await sagaStore.saveInstance(record, tx);
      }
      const onRequeued = this.options.onRequeued;
      if (action === 'retry' && onRequeued) tx.onCommit(() => onRequeued());
      return {
        commandId,
        status: action === 'retry' ? ('pending' as const) : ('skipped' as const),
        instance: record ? { saga: record.saga, id: record.id, status: record.status } : null,
      };
    });
    return result;
  }

  /** The parked command with this id (paged through the parked commands, which are few). */
  private async findParked(commandId: string): Promise<OutboxEntry> {
    let after: number | undefined;
    for (;;) {
      const page = await this.options.sagaStore.listCommands({
        status: 'parked',
        limit: MAX_SAGA_LIST_LIMIT,
        ...(after === undefined ? {} : { after }),
      });
      const entry = page.find((e) => e.command.id === commandId);
      if (entry) return entry;
      if (page.length < MAX_SAGA_LIST_LIMIT) throw new ParkedCommandNotFoundError(commandId);
      after = page[page.length - 1]?.seq;
    }
  }
}

/** Records the action in the instance and, for a compensation, settles the counts again. */
function applyToInstance(
  record: SagaInstanceRecord,
  entry: OutboxEntry,
  action: 'retry' | 'skip',
  reason: string | undefined,
  now: number,
): void {
  const at = new Date(now).toISOString();
  const detail = {
    outcome: action === 'retry' ? 'retry-requested' : 'skipped',
    ...(entry.compensation ? { compensation: true } : {}),
    ...(reason === undefined ? {} : { reason }),
  };
  const push = (e: Omit<SagaHistoryEntry, 'at' | 'step'>) =>
    record.newHistory.push({ at, step: record.step, ...e });
  push({
    kind: entry.compensation ? 'compensation' : 'error',
    type: entry.command.type,
    id: entry.command.id,
    detail,
  });
  if (entry.compensation) {
    record.failedCompensations = Math.max(0, record.failedCompensations - 1);
    if (action === 'retry') {
      record.pendingCompensations += 1;
      if (record.status === 'failed') record.status = 'compensating';
    } else if (
      record.status === 'failed' &&
      record.failedCompensations === 0 &&
      record.pendingCompensations === 0
    ) {
      record.status = 'compensated';
      push({ kind: 'compensation', type: 'compensation.compensated', id: entry.command.id });
    }
  }
  record.updatedAt = now;
}
