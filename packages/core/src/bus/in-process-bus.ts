import { SpanKind } from '@opentelemetry/api';
import { type Clock, systemClock } from '../core/clock.js';
import { ClockTimer } from '../core/clock-timer.js';
import type { RecordedEvent } from '../core/envelope.js';
import { InvalidArgumentError } from '../core/errors.js';
import { messagingAttributes } from '../observability/messaging-attributes.js';
import { withSpan } from '../observability/tracing.js';
import { BusClosedError, GroupAlreadySubscribedError, MessageTooLargeError } from './bus-errors.js';
import {
  decodeBusMessage,
  encodeBusMessage,
  busSubscription,
  newCounters,
  resolveBusSubscribeOptions,
  retryParkedMessages,
  runDelivery,
  type BusCounters,
  type ResolvedBusSubscribeOptions,
} from './bus-delivery.js';
import type {
  BusSubscribeOptions,
  BusSubscription,
  MessageBus,
  PublishReceipt,
} from './message-bus.js';
import {
  DEFAULT_SUBJECT_PREFIX,
  assertSubjectPrefix,
  matchSubject,
  relativeSubject,
} from './subject.js';

/** Options of {@link InProcessBus}. */
export interface InProcessBusOptions {
  /** Subject prefix (default `causeway`). */
  prefix?: string;
  /** How long a published event id is remembered for deduplication, in ms (default 120,000). */
  duplicateWindowMs?: number;
  /** Largest encoded message accepted, in bytes (default 1 MiB, as NATS's `max_payload`). */
  maxPayloadBytes?: number;
  /**
   * Source of time for the duplicate window, redelivery delays and parking times. Default:
   * the system clock. With a `ManualClock`, move it and call
   * {@link InProcessBus.redeliverDue} to have due redeliveries handed out without waiting.
   */
  clock?: Clock;
}

interface LogEntry {
  sequence: number;
  subject: string;
  bytes: Uint8Array;
  eventId: string;
}

interface Member {
  o: ResolvedBusSubscribeOptions;
  counters: BusCounters;
  busy: boolean;
  stopped: boolean;
  error: Error | undefined;
  controller: AbortController;
  idle: Promise<void>;
  markIdle: () => void;
}

interface Redelivery {
  index: number;
  availableAt: number;
}

interface Group {
  name: string;
  subjects: readonly string[];
  /** Next log index not yet handed out. */
  cursor: number;
  /** Deliveries per log index not yet acknowledged. */
  attempts: Map<number, number>;
  ready: Redelivery[];
  members: Member[];
  next: number;
  /** Set for the earliest pending redelivery, on the bus's clock. */
  timer: ClockTimer;
}

/**
 * A message bus inside one process, with the same semantics as the NATS adapter: a log of
 * published messages (deduplicated by event id within a window), durable consumer groups
 * whose members share the work, redelivery with backoff, parking after `maxDeliveries`. For
 * tests, single-process applications and as the reference the NATS adapter is checked against.
 * Every time it reads (duplicate window, redelivery delays, parking times) comes from its
 * clock, so tests can drive redelivery with a `ManualClock` instead of sleeping.
 *
 * @example
 * ```ts
 * const bus = new InProcessBus();
 * const member = await bus.subscribe({ group: 'billing', subjects: ['order.>'], handler });
 * await bus.publish(event);
 * ```
 */
export class InProcessBus implements MessageBus {
  readonly prefix: string;
  private readonly duplicateWindowMs: number;
  private readonly maxPayloadBytes: number;
  private readonly clock: Clock;
  private readonly log: LogEntry[] = [];
  private readonly seen = new Map<string, { sequence: number; at: number }>();
  private readonly groups = new Map<string, Group>();
  private closed = false;

  constructor(options: InProcessBusOptions = {}) {
    this.prefix = options.prefix ?? DEFAULT_SUBJECT_PREFIX;
    assertSubjectPrefix(this.prefix);
    this.duplicateWindowMs = options.duplicateWindowMs ?? 120_000;
    this.maxPayloadBytes = options.maxPayloadBytes ?? 1024 * 1024;
    for (const [key, value] of [
      ['duplicateWindowMs', this.duplicateWindowMs],
      ['maxPayloadBytes', this.maxPayloadBytes],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1)
        throw new InvalidArgumentError(key, 'must be an integer >= 1');
    }
    this.clock = options.clock ?? systemClock;
  }

  /** How many messages the bus holds. */
  get size(): number {
    return this.log.length;
  }

  /**
   * Hands the redeliveries due on the bus's clock to idle members now, and returns how many
   * deliveries it started. The bus's own timer does this when a redelivery falls due; call
   * it after moving a `ManualClock` (the timer cannot see a clock move). A redelivery is due
   * once the clock reads the time of its nak plus its backoff delay.
   */
  redeliverDue(): number {
    let started = 0;
    for (const group of this.groups.values()) started += this.pump(group);
    return started;
  }

  publish(event: RecordedEvent): Promise<PublishReceipt> {
    const subject = relativeSubject(event);
    return withSpan(
      'causeway.bus.publish',
      {
        kind: SpanKind.PRODUCER,
        parent: event.metadata,
        attributes: messagingAttributes({
          system: 'causeway',
          operation: 'publish',
          destination: subject,
          messageId: event.id,
          conversationId: event.metadata.correlationId,
        }),
      },
      async (): Promise<PublishReceipt> => {
        await Promise.resolve();
        if (this.closed) throw new BusClosedError();
        const bytes = encodeBusMessage(event);
        if (bytes.byteLength > this.maxPayloadBytes)
          throw new MessageTooLargeError(event.id, bytes.byteLength, this.maxPayloadBytes);
        const now = this.clock.now();
        const full = `${this.prefix}.${subject}`;
        const earlier = this.seen.get(event.id);
        if (earlier && now - earlier.at < this.duplicateWindowMs)
          return { subject: full, sequence: earlier.sequence, duplicate: true };
        const sequence = this.log.length + 1;
        this.log.push({ sequence, subject, bytes, eventId: event.id });
        this.seen.set(event.id, { sequence, at: now });
        for (const group of this.groups.values()) this.pump(group);
        return { subject: full, sequence, duplicate: false };
      },
    );
  }

  subscribe(options: BusSubscribeOptions): Promise<BusSubscription> {
    return new Promise((resolve) => {
      if (this.closed) throw new BusClosedError();
      // Parking times come from the bus's clock (unless the member names its own).
      const o = resolveBusSubscribeOptions(options, this.clock);
      let group = this.groups.get(o.group);
      if (!group) {
        group = {
          name: o.group,
          subjects: o.subjects,
          cursor: o.from === 'new' ? this.log.length : 0,
          attempts: new Map(),
          ready: [],
          members: [],
          next: 0,
          timer: new ClockTimer(this.clock, () => this.pumpGroup(o.group)),
        };
        this.groups.set(o.group, group);
      } else if (
        group.subjects.length !== o.subjects.length ||
        group.subjects.some((s) => !o.subjects.includes(s))
      ) {
        throw new GroupAlreadySubscribedError(
          o.group,
          `it receives ${group.subjects.join(', ')}, not ${o.subjects.join(', ')}`,
        );
      }
      const member: Member = {
        o,
        counters: newCounters(),
        busy: false,
        stopped: false,
        error: undefined,
        controller: new AbortController(),
        idle: Promise.resolve(),
        markIdle: () => undefined,
      };
      group.members.push(member);
      const g = group;
      this.pump(g);
      resolve(this.handle(g, member));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const group of this.groups.values()) group.timer.cancel();
    await Promise.all(
      [...this.groups.values()].flatMap((g) => g.members.map((m) => this.stopMember(g, m))),
    );
  }

  private handle(group: Group, member: Member): BusSubscription {
    const load = (eventId: string): Promise<RecordedEvent | undefined> => {
      const entry = this.log.find((e) => e.eventId === eventId);
      return Promise.resolve(entry && decodeBusMessage(entry.bytes));
    };
    return busSubscription({
      o: member.o,
      group: group.name,
      member,
      retryParked: (which) =>
        retryParkedMessages(
          member.o,
          member.counters,
          which,
          (p) => load(p.eventId),
          relativeSubject,
        ),
      stop: () => this.stopMember(group, member),
    });
  }

  private async stopMember(group: Group, member: Member): Promise<void> {
    if (!member.stopped) {
      member.stopped = true;
      member.controller.abort();
      group.members = group.members.filter((m) => m !== member);
    }
    await member.idle;
  }

  /** Pumps a group by name (for its timer, created before the group object exists). */
  private pumpGroup(name: string): void {
    const group = this.groups.get(name);
    if (group) this.pump(group);
  }

  /** Hands ready messages to idle members, round robin; returns how many it handed out. */
  private pump(group: Group): number {
    let started = 0;
    if (this.closed) return started;
    for (;;) {
      const idle = group.members.filter((m) => !m.busy && !m.stopped);
      if (idle.length === 0) return started;
      const index = this.take(group);
      if (index === undefined) {
        this.scheduleRedelivery(group);
        return started;
      }
      const member = idle[group.next++ % idle.length] as Member;
      started += 1;
      void this.deliver(group, member, index);
    }
  }

  /** The next message for the group: a due redelivery first, then the log in order. */
  private take(group: Group): number | undefined {
    const now = this.clock.now();
    const due = group.ready.findIndex((r) => r.availableAt <= now);
    if (due >= 0) return group.ready.splice(due, 1)[0]?.index;
    while (group.cursor < this.log.length) {
      const index = group.cursor++;
      const entry = this.log[index] as LogEntry;
      if (group.subjects.some((p) => matchSubject(p, entry.subject))) return index;
    }
    return undefined;
  }

  private async deliver(group: Group, member: Member, index: number): Promise<void> {
    member.busy = true;
    member.idle = new Promise((resolve) => (member.markIdle = resolve));
    const entry = this.log[index] as LogEntry;
    const attempt = (group.attempts.get(index) ?? 0) + 1;
    group.attempts.set(index, attempt);
    try {
      const event = decodeBusMessage(entry.bytes);
      if (!event) {
        member.counters.undecodable += 1;
        group.attempts.delete(index);
        return;
      }
      const outcome = await runDelivery(member.o, member.counters, {
        event,
        subject: entry.subject,
        attempt,
        retryingParked: false,
        signal: member.controller.signal,
      });
      if (outcome.action === 'ack' || outcome.action === 'parked') group.attempts.delete(index);
      else if (outcome.action === 'retry') this.redeliver(group, index, outcome.delayMs);
      else {
        // Handed back unanswered: the delivery does not count, and this member stops.
        group.attempts.set(index, attempt - 1);
        this.redeliver(group, index, 0);
        member.error = new Error(`stopped by its handler: ${outcome.reason}`);
        void this.stopMember(group, member);
      }
    } catch (error) {
      // Parking itself failed: keep the message, deliver it again later.
      member.o.logger?.error({ group: group.name, err: error }, 'could not park a bus message');
      this.redeliver(group, index, member.o.backoff.maxDelayMs);
    } finally {
      member.busy = false;
      member.markIdle();
      this.pump(group);
    }
  }

  private redeliver(group: Group, index: number, delayMs: number): void {
    group.ready.push({ index, availableAt: this.clock.now() + delayMs });
  }

  /** Sets the group's timer for its earliest pending redelivery, on the bus's clock. */
  private scheduleRedelivery(group: Group): void {
    if (this.closed) return;
    if (group.ready.length === 0) {
      group.timer.cancel();
      return;
    }
    const due = Math.min(...group.ready.map((r) => r.availableAt));
    if (group.timer.dueAt !== due) group.timer.setAt(due);
  }
}
