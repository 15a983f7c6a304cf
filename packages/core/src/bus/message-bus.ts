import type { RecordedEvent } from '../core/envelope.js';
import { CausewayError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { BackoffOptions } from '../core/backoff.js';
import type { HandlerResult } from '../subscriptions/event-handler.js';
import type {
  ListParkedOptions,
  ParkedEvent,
  ParkedEventStore,
  ParkedSelection,
} from '../subscriptions/parked-event-store.js';
import type { SubscriptionLogger } from '../subscriptions/subscription-options.js';

/** What a bus handler gets with each message. */
export interface BusDeliveryContext {
  /** The message's subject below the bus prefix: `<category>.<type tokens>`. */
  subject: string;
  /** The consumer group this member belongs to. */
  group: string;
  /** 1 on the first delivery of this message to the group, then 2, 3... */
  attempt: number;
  /** True when this is a retry of a parked message (see `retryParked`). */
  retryingParked: boolean;
  /** Aborted when the subscription stops: stop work then. */
  signal: AbortSignal;
}

/**
 * Handles one message. Return nothing (or `ack()`) when done; throw, or return
 * `nack.retry(reason)`, to have it redelivered after a backoff delay (and parked once
 * `maxDeliveries` is reached); `nack.park(reason)` parks it at once, `nack.skip(reason)`
 * acknowledges it unhandled, `nack.stop(reason)` hands it back and stops this member.
 */
export type BusHandler = (
  event: RecordedEvent,
  context: BusDeliveryContext,
) => Promise<HandlerResult | void> | HandlerResult | void;

/** A content-based filter: messages for which it returns false are acknowledged unhandled. */
export type BusFilter = (event: RecordedEvent) => boolean;

/**
 * A transformation or enrichment step, run after the filters and before the handler: it
 * returns the event the next step (and finally the handler) sees. A throw counts as a failed
 * delivery, like a handler's.
 */
export type BusTransform = (event: RecordedEvent) => RecordedEvent | Promise<RecordedEvent>;

/** Where a new consumer group begins. */
export type BusStart =
  /** With the oldest message the bus still holds. */
  | 'all'
  /** With the first message published after the group is created. */
  | 'new';

/** Options of {@link MessageBus.subscribe}. */
export interface BusSubscribeOptions {
  /**
   * The consumer group: members subscribing with the same group share its messages (each
   * message goes to one member) and its progress, which outlives the members (durable).
   */
  group: string;
  /**
   * NATS-style subject patterns below the bus prefix (`order.>`, `*.order.placed`); a
   * message is delivered when any matches. Default `['>']`: everything. Members of one
   * group must use the same patterns.
   */
  subjects?: readonly string[];
  /** Content-based filters on type, data or metadata; all must pass. */
  filter?: BusFilter | readonly BusFilter[];
  /** Transformation / enrichment steps, applied in order. */
  transform?: BusTransform | readonly BusTransform[];
  handler: BusHandler;
  /** Where a new group begins (default `'all'`); ignored when the group exists. */
  from?: BusStart;
  /** Deliveries of one message (the first included) before it is parked (default 5). */
  maxDeliveries?: number;
  /**
   * Redelivery delays after a failure: exponential with full jitter from `baseDelayMs`
   * (default 100) up to `maxDelayMs` (default 30,000). `attempts` and `sleep` are not used.
   */
  backoff?: Pick<BackoffOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>;
  /**
   * Where parked messages are recorded, under the group's name: the same store (and model:
   * list, retry, skip) as subscriptions. Default: in process memory, lost with the process;
   * give the subscription storage's `parked` of a durable store in production.
   */
  parked?: ParkedEventStore;
  /** Where to report parked and undecodable messages. Default: nowhere. */
  logger?: SubscriptionLogger;
  /**
   * Source of the `parkedAt` time of messages this member parks. Default: the bus's clock
   * (`clock` of the bus's options), which is the system clock unless one was given there.
   */
  clock?: Clock;
}

/** What the broker answered to a publish. */
export interface PublishReceipt {
  /** The full subject the message was published on (`<prefix>.<category>.<type>`). */
  subject: string;
  /** The message's sequence number in the bus's log (the JetStream stream sequence). */
  sequence: number;
  /** True when the broker already held a message with this event id (deduplicated). */
  duplicate: boolean;
}

/** Options of {@link MessageBus.publish}. */
export interface PublishOptions {
  /**
   * Store the message only if the bus's log ends at this sequence now (`0`: the log is
   * empty); otherwise nothing is stored and the publish fails with
   * {@link BusSequenceMismatchError}. Chaining it across publishes in flight (the next one
   * expects the sequence this one will get) makes the log's order exact even when one of
   * them fails: every later one is refused. The duplicate check comes first: an id the bus
   * already holds (inside its duplicate window) is acknowledged as a duplicate whatever the
   * expectation. Honoured by adapters that implement {@link MessageBus.tail}; the others
   * ignore it.
   */
  expectedLastSequence?: number;
  /**
   * Store the message only if the log's last message is this event: with
   * `expectedLastSequence`, a message published by something else can never take the place
   * of one that failed. Checked after the duplicate check, like `expectedLastSequence`.
   */
  expectedLastEventId?: string;
}

/** Where a bus's log ends (see {@link MessageBus.tail}). */
export interface BusLogTail {
  /** The sequence of the last message the log took (`0` when it never took one). */
  sequence: number;
  /**
   * The last message's event id and store position, when that message is still held and
   * is a Causeway envelope; `undefined` otherwise.
   */
  last: { eventId: string; position: number } | undefined;
}

/** Stable error codes of publishing with an expectation. */
export const BusPublishErrorCode = {
  BUS_SEQUENCE_MISMATCH: 'BUS_SEQUENCE_MISMATCH',
} as const;

/** One of the values of {@link BusPublishErrorCode}. */
export type BusPublishErrorCode = (typeof BusPublishErrorCode)[keyof typeof BusPublishErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '../core/errors.js' {
  interface CausewayErrorCodes {
    busPublish: BusPublishErrorCode;
  }
}

/**
 * A publish with `expectedLastSequence` or `expectedLastEventId` was refused because the
 * log ends elsewhere (an earlier publish in flight failed, or something else published):
 * nothing was stored.
 */
export class BusSequenceMismatchError extends CausewayError {
  constructor(
    readonly eventId: string,
    /** What the publish expected of the log's end. */
    readonly expected: PublishOptions,
    /** The broker's answer, naming where the log ends. */
    readonly reason: string,
  ) {
    super(
      BusPublishErrorCode.BUS_SEQUENCE_MISMATCH,
      `Event ${eventId} was not published: it expected the log to end ` +
        [
          expected.expectedLastSequence === undefined
            ? undefined
            : `at sequence ${expected.expectedLastSequence}`,
          expected.expectedLastEventId === undefined
            ? undefined
            : `with event ${expected.expectedLastEventId}`,
        ]
          .filter((x) => x !== undefined)
          .join(' ') +
        ` (${reason})`,
    );
  }
}

/** Counters and state of one member of a consumer group. */
export interface BusSubscriptionStatus {
  group: string;
  running: boolean;
  /** Messages handled and acknowledged. */
  handled: number;
  /** Messages acknowledged without handling: filtered out or `nack.skip`. */
  skipped: number;
  /** Failed deliveries handed back for redelivery. */
  retried: number;
  /** Messages this member parked. */
  parked: number;
  /** Messages that could not be decoded (not Causeway envelopes): dropped and logged. */
  undecodable: number;
  /** Why the member stopped on its own, if it did. */
  error: Error | undefined;
}

/** The outcome of {@link BusSubscription.retryParked}. */
export interface ParkedRetryResult {
  /** Handled successfully and removed from the parked list. */
  delivered: number;
  /** Failed again and parked again. */
  parkedAgain: number;
  /** No longer held by the bus (expired from its log): still parked. */
  missing: number;
}

/** One member of a consumer group, as returned by {@link MessageBus.subscribe}. */
export interface BusSubscription {
  readonly group: string;
  /** A copy of the member's counters and state. */
  status(): BusSubscriptionStatus;
  /** The group's parked messages, in position order. */
  listParked(options?: ListParkedOptions): Promise<ParkedEvent[]>;
  /** How many messages the group has parked. */
  parkedCount(): Promise<number>;
  /**
   * Hands parked messages to this member's pipeline again, now, one attempt each: a success
   * removes them from the parked list, a failure parks them again.
   */
  retryParked(which: ParkedSelection): Promise<ParkedRetryResult>;
  /** Removes parked messages without handling them; returns how many. */
  skipParked(which: ParkedSelection): Promise<number>;
  /** Stops this member: the message in hand is finished, nothing new is taken. */
  stop(): Promise<void>;
}

/**
 * Carries events across processes: publish an event envelope, subscribe consumer groups by
 * subject pattern, with filters, transformation steps, redelivery with backoff and parking.
 * Delivery is at least once; pair a consumer with an inbox (`inboxHandler`) for exactly-once
 * effects. Adapters: {@link InProcessBus} here, `NatsMessageBus` in `@causewayjs/nats`.
 *
 * @example
 * ```ts
 * const bus = new InProcessBus({ prefix: 'shop' });
 * await bus.subscribe({ group: 'mailer', subjects: ['order.>'], handler: (e) => send(e) });
 * await bus.publish(recordedEvent);
 * ```
 */
export interface MessageBus {
  /** The subject prefix of every message of this bus. */
  readonly prefix: string;
  /**
   * Publishes one stored event, with its id as the deduplication key: publishing the same
   * id again within the bus's duplicate window is acknowledged as a duplicate and not
   * delivered twice.
   *
   * @throws {MessageTooLargeError} when the encoded message exceeds the broker's limit.
   * @throws {BusUnavailableError} when the broker did not acknowledge after the retries.
   * @throws {BusClosedError} after `close()`.
   * @throws {BusSequenceMismatchError} when `options.expectedLastSequence` does not hold.
   */
  publish(event: RecordedEvent, options?: PublishOptions): Promise<PublishReceipt>;
  /**
   * Where the log ends now: its last sequence and last event. Adapters with a sequenced,
   * durable log (NATS JetStream) implement it, and honour `expectedLastSequence`; the outbox
   * relay then publishes in exact position order (see docs/bus.md).
   *
   * @throws {BusUnavailableError} when the broker cannot be asked.
   */
  tail?(): Promise<BusLogTail>;
  /** Joins (creating it if needed) a consumer group and starts delivering to `handler`. */
  subscribe(options: BusSubscribeOptions): Promise<BusSubscription>;
  /** Stops every member started through this object and releases the bus. */
  close(): Promise<void>;
}
