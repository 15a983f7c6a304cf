import { ROOT_CONTEXT, SpanKind, context } from '@opentelemetry/api';
import { systemClock, type Clock } from '../core/clock.js';
import type { RecordedEvent } from '../core/envelope.js';
import { InvalidArgumentError } from '../core/errors.js';
import { encodeJson } from '../core/json-codec.js';
import { backoffDelay, resolveBackoff, type ResolvedBackoff } from '../core/backoff.js';
import { messagingAttributes } from '../observability/messaging-attributes.js';
import { withSpan, type TraceCarrier } from '../observability/tracing.js';
import { toHandlerResult } from '../subscriptions/event-handler.js';
import { MemoryParkedEventStore } from '../subscriptions/memory-parked-event-store.js';
import type {
  ListParkedOptions,
  ParkedEvent,
  ParkedEventStore,
  ParkedSelection,
} from '../subscriptions/parked-event-store.js';
import { NonErrorThrownError } from '../subscriptions/subscription-errors.js';
import type { SubscriptionLogger } from '../subscriptions/subscription-options.js';
import { assertName } from '../subscriptions/validation.js';
import type {
  BusFilter,
  BusHandler,
  BusStart,
  BusSubscribeOptions,
  BusSubscription,
  BusSubscriptionStatus,
  BusTransform,
  ParkedRetryResult,
} from './message-bus.js';
import { assertSubjectPattern } from './subject.js';

/** {@link BusSubscribeOptions} checked, with every default filled in. */
export interface ResolvedBusSubscribeOptions {
  group: string;
  subjects: readonly string[];
  filters: readonly BusFilter[];
  transforms: readonly BusTransform[];
  handler: BusHandler;
  from: BusStart;
  maxDeliveries: number;
  backoff: ResolvedBackoff;
  parked: ParkedEventStore;
  logger: SubscriptionLogger | undefined;
  /** Source of parking times. */
  clock: Clock;
}

/** Default deliveries of one message before it is parked. */
export const DEFAULT_MAX_DELIVERIES = 5;

/**
 * Checks subscribe options and fills in the defaults (shared by every bus adapter);
 * `defaultClock` is the bus's clock, used when the options give none.
 *
 * @throws {InvalidArgumentError} or {@link InvalidSubjectPatternError} naming the bad option.
 */
export function resolveBusSubscribeOptions(
  options: BusSubscribeOptions,
  defaultClock: Clock = systemClock,
): ResolvedBusSubscribeOptions {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('options', 'must be an object { group, handler, ... }');
  assertName(options.group, 'group');
  const subjects = options.subjects ?? ['>'];
  if (!Array.isArray(subjects) || subjects.length === 0)
    throw new InvalidArgumentError('subjects', 'must be a non-empty array of subject patterns');
  for (const s of subjects) assertSubjectPattern(s);
  const filters = toList(options.filter, 'filter');
  const transforms = toList(options.transform, 'transform');
  if (typeof options.handler !== 'function')
    throw new InvalidArgumentError('handler', 'must be a function (event, context) => ...');
  const from = options.from ?? 'all';
  if (from !== 'all' && from !== 'new')
    throw new InvalidArgumentError('from', "must be 'all' or 'new'");
  const maxDeliveries = options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES;
  if (!Number.isSafeInteger(maxDeliveries) || maxDeliveries < 1)
    throw new InvalidArgumentError('maxDeliveries', 'must be an integer >= 1');
  const parked = options.parked ?? new MemoryParkedEventStore();
  if (typeof parked !== 'object' || parked === null || typeof parked.park !== 'function')
    throw new InvalidArgumentError('parked', 'must be a ParkedEventStore');
  const clock = options.clock ?? defaultClock;
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function')
    throw new InvalidArgumentError('clock', 'must be a Clock { now(): number }');
  return {
    group: options.group,
    subjects: [...new Set(subjects)],
    filters,
    transforms,
    handler: options.handler,
    from,
    maxDeliveries,
    backoff: resolveBackoff({ baseDelayMs: 100, maxDelayMs: 30_000, ...options.backoff }),
    parked,
    logger: options.logger,
    clock,
  };
}

function toList<T>(value: T | readonly T[] | undefined, name: string): readonly T[] {
  const list = value === undefined ? [] : Array.isArray(value) ? [...(value as T[])] : [value as T];
  if (list.some((f) => typeof f !== 'function'))
    throw new InvalidArgumentError(name, 'must be a function or an array of functions');
  return list;
}

/**
 * Encodes an event as the bus carries it: the envelope as JSON, `recordedAt` as an ISO
 * string.
 *
 * @throws {NotJsonError} when data or metadata hold a value JSON would change.
 */
export function encodeBusMessage(event: RecordedEvent): Uint8Array {
  return Buffer.from(
    encodeJson({
      id: event.id,
      type: event.type,
      stream: event.stream,
      revision: event.revision,
      position: event.position,
      data: event.data,
      metadata: event.metadata,
      schemaVersion: event.schemaVersion,
      recordedAt: event.recordedAt.toISOString(),
    }),
  );
}

/** Decodes a bus message into an event, or `undefined` when it is not a Causeway envelope. */
export function decodeBusMessage(bytes: Uint8Array): RecordedEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString());
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (
    typeof v.id !== 'string' ||
    typeof v.type !== 'string' ||
    typeof v.stream !== 'string' ||
    typeof v.revision !== 'number' ||
    typeof v.position !== 'number' ||
    typeof v.schemaVersion !== 'number' ||
    typeof v.recordedAt !== 'string' ||
    typeof v.metadata !== 'object' ||
    v.metadata === null
  )
    return undefined;
  const recordedAt = new Date(v.recordedAt);
  if (Number.isNaN(recordedAt.getTime())) return undefined;
  return {
    id: v.id,
    type: v.type,
    stream: v.stream,
    revision: v.revision,
    position: v.position,
    data: v.data,
    metadata: v.metadata as RecordedEvent['metadata'],
    schemaVersion: v.schemaVersion,
    recordedAt,
  };
}

/** What a member must do with a message after its pipeline ran. */
export type DeliveryOutcome =
  | { action: 'ack'; counted: 'handled' | 'skipped' }
  | { action: 'retry'; delayMs: number }
  | { action: 'parked' }
  | { action: 'stop'; reason: string };

/** Mutable counters of a member (see {@link BusSubscriptionStatus}). */
export type BusCounters = Omit<BusSubscriptionStatus, 'group' | 'running' | 'error'>;

/** Fresh zeroed counters. */
export function newCounters(): BusCounters {
  return { handled: 0, skipped: 0, retried: 0, parked: 0, undecodable: 0 };
}

/** One delivery to run through a member's pipeline. */
export interface Delivery {
  event: RecordedEvent;
  subject: string;
  /** `messaging.system` of the consume span (default `causeway`: the in-process bus). */
  system?: string;
  /**
   * The trace context the message carried (its broker headers): the consume span's parent.
   * Default: the event's metadata (`traceparent`, `tracestate`, `baggage`).
   */
  traceContext?: TraceCarrier | undefined;
  attempt: number;
  retryingParked: boolean;
  signal: AbortSignal;
}

/**
 * Runs filters, transformation steps and the handler on one delivery, inside a
 * `causeway.bus.consume` span (messaging conventions) whose parent is the trace context the
 * message carried (its headers, else the event's metadata), and decides what
 * happens to the message; parking is written before the outcome is returned, so a message is
 * acknowledged as parked only once its record exists.
 */
export async function runDelivery(
  o: ResolvedBusSubscribeOptions,
  counters: BusCounters,
  delivery: Delivery,
): Promise<DeliveryOutcome> {
  const { event } = delivery;
  let failure: Error;
  let requested = false;
  try {
    // A delivery's span follows the message, never the context it happens to run in (an
    // in-process publisher's): its parent is only what the message carried.
    const result = await context.with(ROOT_CONTEXT, () =>
      withSpan(
        'causeway.bus.consume',
        {
          kind: SpanKind.CONSUMER,
          parent: delivery.traceContext ?? event.metadata,
          attributes: {
            ...messagingAttributes({
              system: delivery.system ?? 'causeway',
              operation: 'process',
              destination: delivery.subject,
              messageId: event.id,
              group: o.group,
              conversationId: event.metadata.correlationId,
            }),
            'causeway.event.type': event.type,
            'causeway.bus.attempt': delivery.attempt,
          },
        },
        async () => {
          for (const filter of o.filters) if (!filter(event)) return 'filtered' as const;
          let current = event;
          for (const step of o.transforms) current = await step(current);
          return toHandlerResult(
            await o.handler(current, {
              subject: delivery.subject,
              group: o.group,
              attempt: delivery.attempt,
              retryingParked: delivery.retryingParked,
              signal: delivery.signal,
            }),
          );
        },
      ),
    );
    if (result === 'filtered') {
      counters.skipped += 1;
      return { action: 'ack', counted: 'skipped' };
    }
    switch (result.action) {
      case 'ack':
        counters.handled += 1;
        return { action: 'ack', counted: 'handled' };
      case 'skip':
        counters.skipped += 1;
        return { action: 'ack', counted: 'skipped' };
      case 'stop':
        return { action: 'stop', reason: result.reason };
      case 'park':
        requested = true;
        failure = new Error(result.reason);
        failure.name = 'ParkRequested';
        break;
      case 'retry':
        failure = new Error(result.reason);
        failure.name = 'RetryRequested';
        break;
    }
  } catch (error) {
    failure = error instanceof Error ? error : new NonErrorThrownError(error);
  }
  if (!requested && !delivery.retryingParked && delivery.attempt < o.maxDeliveries) {
    counters.retried += 1;
    return { action: 'retry', delayMs: backoffDelay(delivery.attempt, o.backoff) };
  }
  await parkMessage(o, event, requested ? 'requested' : 'failed', failure, delivery.attempt);
  counters.parked += 1;
  return { action: 'parked' };
}

/** How a broker settles one message, by what {@link deliverBusMessage} decided. */
export interface BusSettle {
  /** Handled or skipped. */
  ack(): void;
  /** Parked: its record is written; take the message off the group's queue. */
  park(): void | Promise<void>;
  /** To be delivered again after `delayMs`. */
  retry(delayMs: number): void | Promise<void>;
  /** The handler asked to stop: hand the message back and stop the member with `error`. */
  stop(error: Error): void | Promise<void>;
  /** Parking failed: leave the message with the broker, to come back after `delayMs`. */
  parkFailed(delayMs: number): void | Promise<void>;
}

/**
 * Delivers one decoded broker message to a member and settles it, the same on every broker:
 * a message delivered more than `maxDeliveries` times without an answer (its member crashed
 * or stopped mid-handling) is parked as failed; any other runs the member's pipeline
 * ({@link runDelivery}, wrapped in `whileRunning` if given) and is settled by the outcome. A
 * failure to park (or to settle) is logged and the message left with the broker.
 */
export async function deliverBusMessage(p: {
  o: ResolvedBusSubscribeOptions;
  counters: BusCounters;
  delivery: Delivery;
  settle: BusSettle;
  whileRunning?: (run: () => Promise<DeliveryOutcome>) => Promise<DeliveryOutcome>;
}): Promise<void> {
  const { o, counters, delivery, settle } = p;
  const { attempt } = delivery;
  try {
    if (attempt > o.maxDeliveries) {
      // Delivered before without an answer (a member crashed or stopped mid-handling).
      await parkMessage(
        o,
        delivery.event,
        'failed',
        new Error(`delivered ${attempt - 1} times without an answer`),
        attempt - 1,
      );
      counters.parked += 1;
      await settle.park();
      return;
    }
    const run = () => runDelivery(o, counters, delivery);
    const outcome = await (p.whileRunning ? p.whileRunning(run) : run());
    switch (outcome.action) {
      case 'ack':
        settle.ack();
        break;
      case 'parked':
        await settle.park();
        break;
      case 'retry':
        await settle.retry(outcome.delayMs);
        break;
      case 'stop':
        await settle.stop(new Error(`stopped by its handler: ${outcome.reason}`));
        break;
    }
  } catch (error) {
    // Parking failed: the message stays with the broker and comes back later.
    o.logger?.error({ group: o.group, err: error }, 'could not park a bus message');
    await settle.parkFailed(o.backoff.maxDelayMs);
  }
}

/**
 * A member's `BusSubscription`, the same on every bus: its status from the member's state
 * and counters, the group's parked messages from its parked store; retrying and skipping
 * parked messages and stopping are the bus's own.
 */
export function busSubscription(p: {
  o: ResolvedBusSubscribeOptions;
  /** The group's name (default `o.group`). */
  group?: string;
  member: { readonly stopped: boolean; readonly error: Error | undefined; counters: BusCounters };
  retryParked(which: ParkedSelection): Promise<ParkedRetryResult>;
  /** Default: forget them in the parked store. */
  skipParked?(which: ParkedSelection): Promise<number>;
  stop(): Promise<void>;
}): BusSubscription {
  const { o, member } = p;
  const group = p.group ?? o.group;
  return {
    group,
    status: (): BusSubscriptionStatus => ({
      group,
      running: !member.stopped,
      error: member.error,
      ...member.counters,
    }),
    listParked: (options?: ListParkedOptions) => o.parked.list(group, options),
    parkedCount: () => o.parked.count(group),
    retryParked: (which) => p.retryParked(which),
    skipParked: (which) => (p.skipParked ? p.skipParked(which) : o.parked.remove(group, which)),
    stop: () => p.stop(),
  };
}

/** Records a message as parked under the group's name, stamped with the member's clock. */
export async function parkMessage(
  o: ResolvedBusSubscribeOptions,
  event: RecordedEvent,
  reason: 'failed' | 'requested',
  error: Error,
  attempts: number,
): Promise<void> {
  const code = (error as { code?: unknown }).code;
  await o.parked.park(o.group, {
    position: Math.max(1, event.position),
    eventId: event.id,
    stream: event.stream,
    type: event.type,
    reason,
    error: {
      name: error.name,
      message: error.message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(typeof code === 'string' ? { code } : {}),
    },
    attempts: Math.max(1, attempts),
    parkedAt: new Date(o.clock.now()),
  });
  o.logger?.warn(
    { group: o.group, eventId: event.id, position: event.position, err: error, attempts },
    'bus message parked',
  );
}

/**
 * Retries parked messages of a group through a member's pipeline (shared by the adapters):
 * `load` finds a parked message's event in the bus.
 */
export async function retryParkedMessages(
  o: ResolvedBusSubscribeOptions,
  counters: BusCounters,
  which: ParkedSelection,
  load: (parked: ParkedEvent) => Promise<RecordedEvent | undefined>,
  relativeSubjectOf: (event: RecordedEvent) => string,
): Promise<ParkedRetryResult> {
  const wanted = which === 'all' ? undefined : new Set(which);
  const chosen: ParkedEvent[] = [];
  let after = 0;
  for (;;) {
    const page = await o.parked.list(o.group, { after, limit: 500 });
    for (const p of page) if (!wanted || wanted.has(p.position)) chosen.push(p);
    const last = page[page.length - 1];
    if (!last || page.length < 500) break;
    after = last.position;
  }
  const result: ParkedRetryResult = { delivered: 0, parkedAgain: 0, missing: 0 };
  const controller = new AbortController();
  for (const p of chosen) {
    const event = await load(p);
    if (!event) {
      result.missing += 1;
      continue;
    }
    const outcome = await runDelivery(o, counters, {
      event,
      subject: relativeSubjectOf(event),
      attempt: 1,
      retryingParked: true,
      signal: controller.signal,
    });
    if (outcome.action === 'parked') result.parkedAgain += 1;
    else if (outcome.action === 'ack') {
      await o.parked.remove(o.group, [p.position]);
      result.delivered += 1;
    } else {
      // A retry or stop answer to a parked retry leaves it parked, as it was.
      result.parkedAgain += 1;
    }
  }
  return result;
}
