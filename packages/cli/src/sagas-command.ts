import {
  type SagaDefinition,
  type SagaInstanceView,
  type SagaQuery,
  type SagaStatus,
  type ListParkedCommandsOptions,
  type ParkedCommandResult,
  type SagaCommandAdmin,
  ParkedCommandNotFoundError,
  ParkedCommandNotRetryableError,
  type OutboxEntry,
} from '@causewayjs/core';
import { CliConflictError, CliNotFoundError, CliUsageError } from './cli-errors.js';
import { type CliIo, printJson, printLine, printTable } from './cli-io.js';
import type { StoreContext } from './store-context.js';

const STATUSES: readonly SagaStatus[] = [
  'running',
  'completed',
  'compensating',
  'compensated',
  'failed',
];

/** Checks a `--status` value. */
export function parseSagaStatus(text: string | undefined): SagaStatus | undefined {
  if (text === undefined) return undefined;
  if (!(STATUSES as readonly string[]).includes(text))
    throw new CliUsageError(`--status must be one of ${STATUSES.join(', ')}, got "${text}"`);
  return text as SagaStatus;
}

/** Lists saga instances (newest first is up to the query; paged by id). */
export async function listSagas(
  query: SagaQuery,
  io: CliIo,
  options: { saga?: string; status?: SagaStatus; limit?: number; after?: string; json?: boolean },
): Promise<SagaInstanceView[]> {
  const instances = await query.listInstances({
    ...(options.saga === undefined ? {} : { saga: options.saga }),
    ...(options.status === undefined ? {} : { status: options.status }),
    ...(options.limit === undefined ? {} : { limit: options.limit }),
    ...(options.after === undefined ? {} : { after: options.after }),
  });
  if (options.json) printJson(io, instances);
  else if (instances.length === 0) printLine(io, 'no saga instances');
  else
    printTable(
      io,
      ['saga', 'id', 'status', 'step', 'started', 'updated', 'timers'],
      instances.map((i) => [
        i.saga,
        i.id,
        i.status,
        i.step,
        i.startedAt,
        i.updatedAt,
        String(i.timers.length),
      ]),
    );
  return instances;
}

/** Shows one saga instance: state, step, history and pending timers. */
export async function showSaga(
  query: SagaQuery,
  io: CliIo,
  options: { saga: string; id: string; json?: boolean },
): Promise<SagaInstanceView> {
  const instance = await query.getInstance(options.saga, options.id);
  if (!instance) throw new CliNotFoundError(`instance of saga ${options.saga}`, options.id);
  if (options.json) {
    printJson(io, instance);
    return instance;
  }
  printLine(io, `${instance.saga} ${instance.id}: ${instance.status}, step ${instance.step}`);
  printLine(io, `started ${instance.startedAt}, updated ${instance.updatedAt}`);
  printLine(io, `state ${JSON.stringify(instance.state)}`);
  printLine(io, '\nhistory:');
  for (const h of instance.history)
    printLine(io, `  ${h.at} ${h.kind.padEnd(15)} ${h.type}${h.step ? ` → ${h.step}` : ''}`);
  if (instance.timers.length > 0) {
    printLine(io, '\ntimers:');
    for (const t of instance.timers) printLine(io, `  ${t.type} due ${t.dueAt}`);
  }
  return instance;
}

/** Lists the parked saga outbox commands (given up: to retry or skip). */
export async function listParkedCommands(
  admin: SagaCommandAdmin,
  io: CliIo,
  options: ListParkedCommandsOptions & { json?: boolean },
): Promise<OutboxEntry[]> {
  const { json, ...query } = options;
  const commands = await admin.listParked(query);
  if (json) printJson(io, commands);
  else if (commands.length === 0) printLine(io, 'no parked saga commands');
  else
    printTable(
      io,
      ['seq', 'command id', 'type', 'saga', 'instance', 'compensation', 'attempts', 'last error'],
      commands.map((c) => [
        String(c.seq),
        c.command.id,
        c.command.type,
        c.source,
        c.instanceId ?? '-',
        c.compensation ? 'yes' : 'no',
        String(c.attempts),
        c.lastError ?? '',
      ]),
    );
  return commands;
}

/**
 * Retries or skips one parked saga command. An unknown id exits NOT_FOUND; a forward command
 * whose instance has ended cannot be retried and exits CONFLICT.
 */
export async function settleParkedCommand(
  admin: SagaCommandAdmin,
  io: CliIo,
  options: { action: 'retry' | 'skip'; commandId: string; reason?: string; json?: boolean },
): Promise<ParkedCommandResult> {
  const { action, commandId } = options;
  const reason = options.reason === undefined ? {} : { reason: options.reason };
  let result: ParkedCommandResult;
  try {
    result =
      action === 'retry'
        ? await admin.retry(commandId, reason)
        : await admin.skip(commandId, reason);
  } catch (error) {
    if (error instanceof ParkedCommandNotFoundError)
      throw new CliNotFoundError('parked saga command', commandId);
    if (error instanceof ParkedCommandNotRetryableError)
      throw new CliConflictError(error.message, error);
    throw error;
  }
  if (options.json) printJson(io, result);
  else {
    const instance = result.instance
      ? `; instance ${result.instance.saga} ${result.instance.id} is ${result.instance.status}`
      : '';
    printLine(io, `${commandId} ${action === 'retry' ? 'queued again' : 'skipped'}${instance}`);
  }
  return result;
}

/** One of the project's sagas, as `causeway sagas status` shows it. */
export interface SagaDefinitionStatus {
  name: string;
  startsWith: string[];
  handles: string[];
  /** Its subscription (`saga:<name>`): where it is, how far behind, what it parked. */
  subscription: string;
  position: number;
  lag: number;
  parked: number;
  /** Instances by status (absent when the saga store cannot count). */
  instances: Partial<Record<SagaStatus, number>> | null;
}

/**
 * The status of the project's sagas (its config's): the event types each handles, its
 * subscription's checkpoint, lag and parked events, and its instances by status. Reads only.
 *
 * @throws {CliUsageError} when no saga is defined (no config file, or none in it).
 * @throws {CliNotFoundError} when `saga` is not one of them.
 */
export async function sagaStatus(
  context: StoreContext,
  io: CliIo,
  options: {
    sagas: readonly SagaDefinition<never>[] | readonly SagaDefinition<unknown>[];
    saga?: string;
    json?: boolean;
  },
): Promise<SagaDefinitionStatus[]> {
  if (options.sagas.length === 0)
    throw new CliUsageError(
      'no sagas defined: name them in a config file (causeway.config.ts, --config)',
    );
  const chosen = options.sagas.filter((s) => options.saga === undefined || s.name === options.saga);
  if (options.saga !== undefined && chosen.length === 0)
    throw new CliNotFoundError('saga', options.saga);
  const [storage, query, head] = await Promise.all([
    context.subscriptionStorage(),
    context.sagaStore(),
    context.store.headPosition(),
  ]);
  const checkpoints = new Map((await storage.checkpoints.list()).map((c) => [c.name, c.position]));
  const statuses = await Promise.all(
    chosen.map(async (saga): Promise<SagaDefinitionStatus> => {
      const subscription = `saga:${saga.name}`;
      const position = checkpoints.get(subscription) ?? 0;
      const count = query.countInstances?.bind(query);
      const instances: Partial<Record<SagaStatus, number>> | null = count ? {} : null;
      if (count && instances)
        for (const status of STATUSES) instances[status] = await count({ saga: saga.name, status });
      return {
        name: saga.name,
        startsWith: [...saga.startsWith],
        handles: [...saga.handles],
        subscription,
        position,
        lag: Math.max(0, head - position),
        parked: await storage.parked.count(subscription),
        instances,
      };
    }),
  );
  if (options.json) printJson(io, statuses);
  else
    printTable(
      io,
      ['saga', 'events', 'position', 'lag', 'parked', 'instances'],
      statuses.map((s) => [
        s.name,
        [...s.startsWith, ...s.handles].join(','),
        String(s.position),
        String(s.lag),
        String(s.parked),
        s.instances
          ? Object.entries(s.instances)
              .filter(([, n]) => n > 0)
              .map(([status, n]) => `${n} ${status}`)
              .join(', ') || 'none'
          : '?',
      ]),
    );
  return statuses;
}
