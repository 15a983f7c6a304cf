import type { Clock } from '../core/clock.js';
import type { EventMetadata, RecordedEvent } from '../core/envelope.js';
import type { CommandEnvelope, CommandReply } from '../domain/command-dispatcher.js';
import { currentTraceContext, withSpan } from '../observability/tracing.js';
import type { StoreTransaction } from '../store/event-store.js';
import { nack, type HandlerResult } from '../subscriptions/event-handler.js';
import type { SubscriptionLogger } from '../subscriptions/subscription-options.js';
import { deterministicId } from './deterministic-id.js';
import type {
  OutgoingCommand,
  SagaContext,
  SagaDefinition,
  SagaReaction,
} from './saga-definition.js';
import { InvalidSagaReactionError } from './saga-errors.js';
import { SagaUnitOfWork } from './saga-unit-of-work.js';
import type {
  NewOutboxEntry,
  OutboxEntry,
  SagaInstanceRecord,
  SagaStore,
  SagaTimerRecord,
} from './saga-store.js';
import type { SagaHistoryEntry } from './saga-view.js';

/** Counts of the outcomes that leave no trace in an instance (there is none to record them in). */
export interface SagaEngineStats {
  /** Instances created. */
  started: number;
  /** Non-starting events whose correlation id has no instance. */
  unmatched: number;
  /** Events an instance had already received. */
  duplicates: number;
  /** Events and timers recorded as ignored (unexpected in the step, instance ended). */
  ignored: number;
  /** Of `ignored`: events not expected in the instance's step (out of order, or late). */
  outOfOrder: number;
  /** Of `ignored`: events for an instance that had ended (completed, compensated, failed...). */
  afterEnd: number;
  /** Of `ignored`: timers that fired for an instance that had ended. */
  timersAfterEnd: number;
  /** Of `ignored`: timers the saga did not expect in the instance's step. */
  timersUnexpected: number;
  /** Timers that fired for an instance or saga that no longer exists. */
  orphanTimers: number;
}

/** How a dispatched command of an instance ended. */
export type CommandOutcome =
  | { kind: 'accepted'; reply: CommandReply }
  | { kind: 'rejected'; reply: Extract<CommandReply, { status: 'rejected' }> }
  | { kind: 'parked'; error: string };

/** What an entry in the history is about. */
interface Cause {
  kind: SagaHistoryEntry['kind'];
  type: string;
  id: string;
  detail?: unknown;
}

/**
 * The saga logic shared by the runtime's loops: applies events, timers and command outcomes
 * to instances, inside the transaction it is given. It holds no state of its own beyond
 * counters, so any loop (subscription, timer, outbox) may call it.
 */
export class SagaEngine<Tx extends StoreTransaction = StoreTransaction> {
  readonly stats: SagaEngineStats = {
    started: 0,
    unmatched: 0,
    duplicates: 0,
    ignored: 0,
    outOfOrder: 0,
    afterEnd: 0,
    timersAfterEnd: 0,
    timersUnexpected: 0,
    orphanTimers: 0,
  };
  private readonly byName = new Map<string, SagaDefinition<unknown>>();
  /** The unit of work of each open transaction that handles one thing at a time. */
  private readonly units = new WeakMap<Tx, SagaUnitOfWork<Tx>>();
  /** Called after a transaction that recorded commands or timers commits. */
  onRecorded: (() => void) | undefined;

  constructor(
    private readonly store: SagaStore<Tx>,
    sagas: readonly SagaDefinition<unknown>[],
    private readonly clock: Clock,
    private readonly logger?: SubscriptionLogger,
  ) {
    for (const saga of sagas) this.byName.set(saga.name, saga);
  }

  /** The saga named `name`, if the engine runs it. */
  saga(name: string): SagaDefinition<unknown> | undefined {
    return this.byName.get(name);
  }

  /**
   * Applies `event` to the instance of `saga` it correlates to, in `tx`. Returns a `nack`
   * only to park an event for an unknown instance (when the saga asks for that).
   */
  handleEvent(
    saga: SagaDefinition<unknown>,
    event: RecordedEvent,
    tx: Tx,
  ): Promise<HandlerResult | undefined> {
    return this.step(saga, event, this.unit(tx));
  }

  /**
   * Applies `events`, in order, in `tx` (a subscription's batch): the instances they
   * correlate to are read with one call, each changed instance is written once and the
   * commands they send are recorded together, at the end. Returns the first `nack` (to park an
   * event for an unknown instance); the caller then rolls the batch back.
   */
  async handleEvents(
    saga: SagaDefinition<unknown>,
    events: readonly RecordedEvent[],
    tx: Tx,
  ): Promise<HandlerResult | undefined> {
    const u = new SagaUnitOfWork(this.store, tx, true);
    const ids: string[] = [];
    for (const event of events) {
      const id = this.correlationOf(saga, event);
      if (id !== undefined) ids.push(id);
    }
    await u.preload(saga.name, ids);
    for (const event of events) {
      const result = await this.step(saga, event, u);
      if (result) return result;
    }
    await u.flush();
    return undefined;
  }

  /** The instance id `event` correlates to in `saga`, or undefined when it is not one of its. */
  correlationOf(saga: SagaDefinition<unknown>, event: RecordedEvent): string | undefined {
    if (!saga.startsWith.includes(event.type) && !saga.handles.includes(event.type))
      return undefined;
    const id = saga.correlate(event);
    return typeof id === 'string' && id.length > 0 ? id : undefined;
  }

  /** The unit of work of `tx` for one-at-a-time calls: reads cached, writes at once. */
  private unit(tx: Tx): SagaUnitOfWork<Tx> {
    let u = this.units.get(tx);
    if (!u) this.units.set(tx, (u = new SagaUnitOfWork(this.store, tx, false)));
    return u;
  }

  private async step(
    saga: SagaDefinition<unknown>,
    event: RecordedEvent,
    u: SagaUnitOfWork<Tx>,
  ): Promise<HandlerResult | undefined> {
    const id = this.correlationOf(saga, event);
    if (id === undefined) return undefined;
    const tx = u.tx;
    return withSpan(
      'causeway.saga.step',
      {
        parent: event.metadata,
        attributes: {
          'causeway.saga': saga.name,
          'causeway.saga.instance': id,
          'causeway.event.type': event.type,
          'causeway.event.id': event.id,
        },
      },
      async () => {
        const now = this.clock.now();
        const cause: Cause = { kind: 'received', type: event.type, id: event.id };
        const record = await u.load(saga.name, id);
        if (!record) {
          if (!saga.startsWith.includes(event.type)) {
            if (saga.unknownInstance !== 'park') this.count(tx, 'unmatched');
            else this.stats.unmatched += 1;
            this.logger?.warn(
              { saga: saga.name, instance: id, eventId: event.id, type: event.type },
              'event for an unknown saga instance',
            );
            if (saga.unknownInstance === 'park')
              return nack.park(
                `saga "${saga.name}" has no instance "${id}" and ${event.type} does not start one`,
              );
            return undefined;
          }
          const reaction = saga.start(event, { id, now });
          if (typeof reaction !== 'object' || reaction === null || !('state' in reaction))
            throw new InvalidSagaReactionError(saga.name, id, 'start must return { state, ... }');
          const created: SagaInstanceRecord = {
            saga: saga.name,
            id,
            status: 'running',
            step: saga.initialStep,
            state: undefined,
            trail: [saga.initialStep],
            lastPosition: event.position,
            newHistory: [],
            pendingCompensations: 0,
            failedCompensations: 0,
            startedAt: now,
            updatedAt: now,
          };
          this.count(tx, 'started');
          await this.apply(saga, created, reaction, cause, event.metadata, u, now);
          return undefined;
        }
        if (await this.received(record, event, tx)) {
          this.count(tx, 'duplicates');
          await this.record(record, { ...cause, detail: { outcome: 'duplicate' } }, u, now);
          return undefined;
        }
        record.lastPosition = Math.max(record.lastPosition, event.position);
        if (record.status !== 'running') {
          await this.ignore(record, cause, `the instance is ${record.status}`, 'afterEnd', u, now);
          return undefined;
        }
        const reaction = saga.on?.(event, this.context(record, now));
        if (reaction === undefined) {
          const reason = `not expected in step ${record.step}`;
          await this.ignore(record, cause, reason, 'outOfOrder', u, now);
          return undefined;
        }
        await this.apply(saga, record, reaction, cause, event.metadata, u, now);
        return undefined;
      },
    );
  }

  /**
   * Fires the timer `timer` in `tx`: takes it (so it fires once) and hands it to its
   * instance. False when it was already taken (fired or cancelled) by someone else.
   */
  async fireTimer(timer: SagaTimerRecord, tx: Tx): Promise<boolean> {
    const u = this.unit(tx);
    const saga = this.byName.get(timer.saga);
    // The instance before the timer: every transaction touching an instance locks it first
    // (PostgreSQL), so the timer loop and the saga's subscription never deadlock.
    const record = saga && (await u.load(saga.name, timer.instanceId));
    const taken = await this.store.takeTimer(timer.id, tx);
    if (!taken) return false;
    if (!saga || !record) {
      this.count(tx, 'orphanTimers');
      this.logger?.warn(
        { saga: taken.saga, instance: taken.instanceId, timer: taken.id },
        'timer of a saga or instance that does not exist here',
      );
      return true;
    }
    return withSpan(
      'causeway.saga.step',
      {
        attributes: {
          'causeway.saga': saga.name,
          'causeway.saga.instance': taken.instanceId,
          'causeway.saga.timer': taken.type,
        },
      },
      async () => {
        const now = this.clock.now();
        const cause: Cause = {
          kind: 'timer-fired',
          type: taken.type,
          id: taken.id,
          detail: { dueAt: new Date(taken.dueAt).toISOString() },
        };
        if (record.status !== 'running') {
          const reason = `the instance is ${record.status}`;
          await this.ignore(record, cause, reason, 'timersAfterEnd', u, now);
          return true;
        }
        const reaction = saga.onTimer?.(
          { id: taken.id, type: taken.type, data: taken.data, dueAt: taken.dueAt },
          this.context(record, now),
        );
        if (reaction === undefined) {
          const reason = `not expected in step ${record.step}`;
          await this.ignore(record, cause, reason, 'timersUnexpected', u, now);
          return true;
        }
        await this.apply(saga, record, reaction, cause, undefined, u, now);
        return true;
      },
    );
  }

  /**
   * Tells the instance that sent `entry` how its dispatch ended, in `tx`: a settled
   * compensation counts down (the instance ends `compensated`, or `failed` if one was
   * parked); a rejected or undeliverable forward command fails the instance (or goes to the
   * saga's `onRejected`).
   */
  async commandSettled(entry: OutboxEntry, outcome: CommandOutcome, tx: Tx): Promise<void> {
    const u = this.unit(tx);
    if (entry.instanceId === null) return;
    const saga = this.byName.get(entry.source);
    if (!saga) return;
    if (!entry.compensation && outcome.kind === 'accepted') return;
    const now = this.clock.now();
    const record = await u.load(saga.name, entry.instanceId);
    if (!record) return;
    const command = entry.command;
    const failure =
      outcome.kind === 'rejected'
        ? { outcome: 'rejected', code: outcome.reply.code, message: outcome.reply.message }
        : outcome.kind === 'parked'
          ? { outcome: 'parked', error: outcome.error }
          : undefined;
    if (entry.compensation) {
      record.pendingCompensations = Math.max(0, record.pendingCompensations - 1);
      if (failure) {
        record.failedCompensations += 1;
        this.push(
          record,
          {
            kind: 'error',
            type: command.type,
            id: command.id,
            detail: { compensation: true, ...failure },
          },
          now,
        );
      } else {
        this.push(
          record,
          {
            kind: 'compensation',
            type: command.type,
            id: command.id,
            detail: { outcome: 'accepted' },
          },
          now,
        );
      }
      if (record.pendingCompensations === 0 && record.status === 'compensating') {
        record.status = record.failedCompensations > 0 ? 'failed' : 'compensated';
        this.push(
          record,
          { kind: 'compensation', type: `compensation.${record.status}`, id: command.id },
          now,
        );
      }
      record.updatedAt = now;
      await u.save(record);
      return;
    }
    const cause: Cause = { kind: 'error', type: command.type, id: command.id, detail: failure };
    if (record.status !== 'running') {
      await this.record(record, cause, u, now);
      return;
    }
    let reaction: SagaReaction<unknown> | undefined;
    if (outcome.kind === 'rejected' && saga.onRejected) {
      reaction = saga.onRejected(command, outcome.reply, this.context(record, now));
    } else {
      reaction = {
        fail:
          outcome.kind === 'rejected'
            ? `${command.type} was rejected: ${outcome.reply.message}`
            : `${command.type} could not be delivered: ${outcome.kind === 'parked' ? outcome.error : ''}`,
      };
    }
    if (reaction === undefined) {
      await this.record(record, cause, u, now);
      return;
    }
    await this.apply(saga, record, reaction, cause, command.metadata, u, now);
  }

  /**
   * Whether the instance has received `event` already. Events reach an instance in log order,
   * so one past the last position it received is new: the common case, decided without its
   * history. One at or below it is a redelivery (a replayed log, a batch handled again), or an
   * event that was never applied and comes late (a parked event an operator retries): told
   * apart by the history, read only then.
   */
  private async received(
    record: SagaInstanceRecord,
    event: RecordedEvent,
    tx: Tx,
  ): Promise<boolean> {
    if (event.position > record.lastPosition) return false;
    const isIt = (h: SagaHistoryEntry) => h.kind === 'received' && h.id === event.id;
    if (record.newHistory.some(isIt)) return true;
    const stored = this.store.loadHistory
      ? await this.store.loadHistory(record.saga, record.id, tx)
      : ((await this.store.getInstance(record.saga, record.id))?.history ?? []);
    return stored.some(isIt);
  }

  /** Counts once `tx` commits: a batch rolled back and handled again is not counted twice. */
  private count(tx: Tx, key: keyof SagaEngineStats): void {
    tx.onCommit(() => {
      this.stats[key] += 1;
    });
  }

  private context(record: SagaInstanceRecord, now: number): SagaContext<unknown> {
    return { id: record.id, state: record.state, step: record.step, status: record.status, now };
  }

  private async ignore(
    record: SagaInstanceRecord,
    cause: Cause,
    reason: string,
    kind: 'outOfOrder' | 'afterEnd' | 'timersAfterEnd' | 'timersUnexpected',
    u: SagaUnitOfWork<Tx>,
    now: number,
  ) {
    this.count(u.tx, 'ignored');
    this.count(u.tx, kind);
    await this.record(
      record,
      { ...cause, detail: { ...(cause.detail as object | undefined), outcome: 'ignored', reason } },
      u,
      now,
    );
  }

  /** Records `cause` in the history, without other change. */
  private async record(
    record: SagaInstanceRecord,
    cause: Cause,
    u: SagaUnitOfWork<Tx>,
    now: number,
  ): Promise<void> {
    this.push(record, cause, now);
    record.updatedAt = now;
    await u.save(record);
  }

  private push(record: SagaInstanceRecord, cause: Cause, now: number): void {
    const entry: SagaHistoryEntry = {
      at: new Date(now).toISOString(),
      kind: cause.kind,
      type: cause.type,
      id: cause.id,
      step: record.step,
    };
    if (cause.detail !== undefined) entry.detail = cause.detail;
    record.newHistory.push(entry);
  }

  /** Applies a reaction to the instance and writes everything it says, in `tx`. */
  private async apply(
    saga: SagaDefinition<unknown>,
    record: SagaInstanceRecord,
    reaction: SagaReaction<unknown>,
    cause: Cause,
    causeMetadata: EventMetadata | undefined,
    u: SagaUnitOfWork<Tx>,
    now: number,
  ): Promise<void> {
    checkReaction(saga, record.id, reaction);
    if (reaction.state !== undefined) record.state = reaction.state;
    if (reaction.step !== undefined && reaction.step !== record.step) {
      record.step = reaction.step;
      record.trail.push(reaction.step);
    }
    this.push(record, cause, now);
    let recorded = false;
    if (reaction.cancelTimers && reaction.cancelTimers.length > 0)
      await this.cancelTimers(record, new Set(reaction.cancelTimers), u, now);
    // The same for every command and event of the step (one trace context), so made once.
    let stepMetadata: Record<string, string> | undefined;
    const metadata = () => (stepMetadata ??= this.metadataFor(record, cause, causeMetadata));
    for (const [i, event] of (reaction.emit ?? []).entries()) {
      const id = deterministicId(saga.name, record.id, cause.id, 'emit', String(i));
      await u.tx.append(event.stream, [
        {
          id,
          type: event.type,
          data: event.data,
          metadata: { ...metadata(), ...event.metadata },
        },
      ]);
      this.push(
        record,
        { kind: 'sent', type: event.type, id, detail: { stream: event.stream } },
        now,
      );
    }
    const sends = reaction.send ?? [];
    if (sends.length > 0) {
      const entries = sends.map((command, i) =>
        this.entryFor(
          saga,
          record,
          command,
          deterministicId(saga.name, record.id, cause.id, 'send', String(i)),
          metadata(),
          false,
          now,
        ),
      );
      await u.enqueue(entries);
      for (const e of entries)
        this.push(
          record,
          {
            kind: 'sent',
            type: e.command.type,
            id: e.command.id,
            detail: { data: e.command.data },
          },
          now,
        );
      recorded = true;
    }
    for (const message of reaction.schedule ?? []) {
      const timer: SagaTimerRecord = {
        id: deterministicId(saga.name, record.id, cause.id, 'timer', message.type),
        saga: saga.name,
        instanceId: record.id,
        type: message.type,
        dueAt: message.at,
        data: message.data === undefined ? null : message.data,
      };
      await this.store.addTimer(timer, u.tx);
      this.push(
        record,
        {
          kind: 'scheduled',
          type: message.type,
          id: timer.id,
          detail: { dueAt: new Date(message.at).toISOString() },
        },
        now,
      );
      recorded = true;
    }
    if (reaction.fail !== undefined) {
      await this.compensate(saga, record, reaction.fail, cause, causeMetadata, u, now);
      recorded = true;
    } else if (reaction.complete) {
      record.status = 'completed';
      await this.cancelTimers(record, undefined, u, now);
    }
    record.updatedAt = now;
    await u.save(record);
    if (recorded && this.onRecorded) {
      const wake = this.onRecorded;
      // Once durable: the outbox sends what this commit recorded.
      u.tx.onDurable(() => wake());
    }
  }

  /** Starts compensation: the compensating commands of the trail's steps, last step first. */
  private async compensate(
    saga: SagaDefinition<unknown>,
    record: SagaInstanceRecord,
    reason: string,
    cause: Cause,
    causeMetadata: EventMetadata | undefined,
    u: SagaUnitOfWork<Tx>,
    now: number,
  ): Promise<void> {
    record.status = 'compensating';
    this.push(
      record,
      { kind: 'compensation', type: 'compensation.started', id: cause.id, detail: { reason } },
      now,
    );
    await this.cancelTimers(record, undefined, u, now);
    const commands: { command: OutgoingCommand; step: string }[] = [];
    for (const step of [...record.trail].reverse()) {
      const spec = saga.steps?.[step];
      if (!spec?.compensate) continue;
      const undo = spec.compensate(record.state, { id: record.id, reason });
      if (!Array.isArray(undo))
        throw new InvalidSagaReactionError(
          saga.name,
          record.id,
          `steps.${step}.compensate must return an array of commands`,
        );
      for (const command of undo as readonly OutgoingCommand[]) commands.push({ command, step });
    }
    const metadata = commands.length > 0 ? this.metadataFor(record, cause, causeMetadata) : {};
    const entries = commands.map(({ command }, i) => {
      checkCommand(saga, record.id, command);
      return this.entryFor(
        saga,
        record,
        command,
        deterministicId(saga.name, record.id, cause.id, 'compensate', String(i)),
        metadata,
        true,
        now,
      );
    });
    if (entries.length > 0) await u.enqueue(entries);
    entries.forEach((e, i) =>
      this.push(
        record,
        {
          kind: 'compensation',
          type: e.command.type,
          id: e.command.id,
          detail: { step: commands[i]?.step, data: e.command.data },
        },
        now,
      ),
    );
    record.pendingCompensations = entries.length;
    record.failedCompensations = 0;
    if (entries.length === 0) {
      record.status = 'compensated';
      this.push(
        record,
        { kind: 'compensation', type: 'compensation.compensated', id: cause.id },
        now,
      );
    }
  }

  private async cancelTimers(
    record: SagaInstanceRecord,
    types: ReadonlySet<string> | undefined,
    u: SagaUnitOfWork<Tx>,
    now: number,
  ): Promise<void> {
    for (const timer of await this.store.timersOf(record.saga, record.id, u.tx)) {
      if (types && !types.has(timer.type)) continue;
      if (await this.store.takeTimer(timer.id, u.tx))
        this.push(record, { kind: 'timer-cancelled', type: timer.type, id: timer.id }, now);
    }
  }

  private metadataFor(
    record: SagaInstanceRecord,
    cause: Cause,
    causeMetadata: EventMetadata | undefined,
  ): Record<string, string> {
    // The step span's context (traceparent, tracestate, baggage): the command joins the trace.
    const trace = currentTraceContext();
    const correlationId = causeMetadata?.correlationId;
    return {
      correlationId: typeof correlationId === 'string' ? correlationId : record.id,
      causationId: cause.id,
      saga: record.saga,
      sagaInstance: record.id,
      ...trace,
    };
  }

  private entryFor(
    saga: SagaDefinition<unknown>,
    record: SagaInstanceRecord,
    command: OutgoingCommand,
    id: string,
    stepMetadata: Record<string, string>,
    compensation: boolean,
    now: number,
  ): NewOutboxEntry {
    const envelope: CommandEnvelope = {
      id,
      type: command.type,
      data: command.data === undefined ? null : command.data,
      metadata: { ...command.metadata, ...stepMetadata },
    };
    return {
      command: envelope,
      source: saga.name,
      instanceId: record.id,
      compensation,
      createdAt: now,
    };
  }
}

function checkCommand(saga: SagaDefinition<unknown>, id: string, command: unknown): void {
  const c = command as OutgoingCommand | null;
  if (typeof c !== 'object' || c === null || typeof c.type !== 'string' || c.type.length === 0)
    throw new InvalidSagaReactionError(saga.name, id, 'a command needs a non-empty string type');
  if (c.metadata !== undefined && (typeof c.metadata !== 'object' || c.metadata === null))
    throw new InvalidSagaReactionError(saga.name, id, `metadata of ${c.type} must be an object`);
}

/** Checks a reaction before anything of it is written. */
function checkReaction(
  saga: SagaDefinition<unknown>,
  id: string,
  reaction: unknown,
): asserts reaction is SagaReaction<unknown> {
  const fail = (reason: string): never => {
    throw new InvalidSagaReactionError(saga.name, id, reason);
  };
  if (typeof reaction !== 'object' || reaction === null || Array.isArray(reaction))
    fail('must be an object');
  const r = reaction as SagaReaction<unknown>;
  if (r.step !== undefined && (typeof r.step !== 'string' || r.step.length === 0))
    fail('step must be a non-empty string');
  for (const key of ['send', 'emit', 'schedule', 'cancelTimers'] as const) {
    if (r[key] !== undefined && !Array.isArray(r[key])) fail(`${key} must be an array`);
  }
  for (const command of r.send ?? []) checkCommand(saga, id, command);
  for (const event of r.emit ?? []) {
    if (
      typeof event !== 'object' ||
      event === null ||
      typeof event.stream !== 'string' ||
      typeof event.type !== 'string'
    )
      fail('an emitted event needs a stream and a type');
  }
  for (const message of r.schedule ?? []) {
    if (
      typeof message !== 'object' ||
      message === null ||
      typeof message.type !== 'string' ||
      message.type.length === 0
    )
      fail('a timer needs a non-empty string type');
    if (!Number.isSafeInteger(message.at) || message.at < 0)
      fail(`timer ${message.type} needs a due time in ms since the epoch`);
  }
  for (const type of r.cancelTimers ?? [])
    if (typeof type !== 'string') fail('cancelTimers must name timer types');
  if (r.fail !== undefined && (typeof r.fail !== 'string' || r.fail.length === 0))
    fail('fail must be a non-empty reason');
  if (r.fail !== undefined && r.complete) fail('a reaction cannot both complete and fail');
}
