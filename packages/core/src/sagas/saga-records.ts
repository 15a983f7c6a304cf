import { InvalidArgumentError } from '../core/errors.js';
import {
  DEFAULT_SAGA_LIST_LIMIT,
  MAX_SAGA_LIST_LIMIT,
  type SagaInstanceRecord,
  type SagaTimerRecord,
} from './saga-store.js';
import type { SagaHistoryEntry, SagaInstanceView, SagaQuery, SagaStatus } from './saga-view.js';

const STATUSES: ReadonlySet<string> = new Set([
  'running',
  'completed',
  'compensating',
  'compensated',
  'failed',
]);

/** `listInstances` options, checked and with defaults. */
export interface ResolvedListInstances {
  saga: string | undefined;
  status: SagaStatus | undefined;
  limit: number;
  after: string | undefined;
}

/**
 * Checks the options of {@link SagaQuery.listInstances}.
 *
 * @throws {InvalidArgumentError}
 */
export function resolveListInstances(
  options: Parameters<SagaQuery['listInstances']>[0] = {},
): ResolvedListInstances {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('options', 'must be an object');
  const { saga, status, after } = options;
  const limit = options.limit ?? DEFAULT_SAGA_LIST_LIMIT;
  if (saga !== undefined && (typeof saga !== 'string' || saga.length === 0))
    throw new InvalidArgumentError('saga', 'must be a non-empty string');
  if (status !== undefined && !STATUSES.has(status))
    throw new InvalidArgumentError('status', `must be one of ${[...STATUSES].join(', ')}`);
  if (after !== undefined && typeof after !== 'string')
    throw new InvalidArgumentError('after', 'must be a string');
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SAGA_LIST_LIMIT)
    throw new InvalidArgumentError('limit', `must be an integer from 1 to ${MAX_SAGA_LIST_LIMIT}`);
  return { saga, status, limit, after };
}

/** Checks a saga name and instance id given to a query or store method. */
export function assertSagaKey(saga: unknown, id: unknown): asserts saga is string {
  if (typeof saga !== 'string' || saga.length === 0)
    throw new InvalidArgumentError('saga', 'must be a non-empty string');
  if (typeof id !== 'string' || id.length === 0)
    throw new InvalidArgumentError('id', 'must be a non-empty string');
}

/** The outside view of an instance, its stored history and its timers. */
export function toInstanceView(
  record: SagaInstanceRecord,
  history: readonly SagaHistoryEntry[],
  timers: readonly SagaTimerRecord[],
): SagaInstanceView {
  return {
    saga: record.saga,
    id: record.id,
    status: record.status,
    step: record.step,
    state: record.state,
    startedAt: new Date(record.startedAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
    history: history.map((entry) => ({ ...entry })),
    timers: [...timers]
      .sort((a, b) => a.dueAt - b.dueAt || compare(a.id, b.id))
      .map((t) => ({ id: t.id, type: t.type, dueAt: new Date(t.dueAt).toISOString() })),
  };
}

/** Orders by code point, as SQL `COLLATE "C"`/binary does. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Checks a timer before it is stored. */
export function assertTimer(timer: SagaTimerRecord): void {
  if (typeof timer !== 'object' || timer === null)
    throw new InvalidArgumentError('timer', 'must be an object');
  assertSagaKey(timer.saga, timer.instanceId);
  if (typeof timer.id !== 'string' || timer.id.length === 0)
    throw new InvalidArgumentError('timer.id', 'must be a non-empty string');
  if (typeof timer.type !== 'string' || timer.type.length === 0)
    throw new InvalidArgumentError('timer.type', 'must be a non-empty string');
  if (!Number.isSafeInteger(timer.dueAt) || timer.dueAt < 0)
    throw new InvalidArgumentError('timer.dueAt', 'must be ms since the epoch (an integer >= 0)');
}
