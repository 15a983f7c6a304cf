import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  StorageType,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  connect,
  nanos,
  type NatsConnection,
} from '@nats-io/transport-node';
import { SpanKind } from '@opentelemetry/api';
import {
  systemClock,
  type Clock,
  type RecordedEvent,
  InvalidArgumentError,
  type SubscriptionLogger,
  BusClosedError,
  BusUnavailableError,
  GroupAlreadySubscribedError,
  MessageTooLargeError,
  resolveBusSubscribeOptions,
  type ResolvedBusSubscribeOptions,
  BusSequenceMismatchError,
  type BusLogTail,
  type BusSubscribeOptions,
  type BusSubscription,
  type MessageBus,
  type PublishOptions,
  type PublishReceipt,
  DEFAULT_SUBJECT_PREFIX,
  assertSubjectPrefix,
  matchSubject,
  relativeSubject,
  subjectToken,
} from '@causewayjs/core';
import {
  type ResolvedBackoff,
  messagingAttributes,
  carriedTraceContext,
  withSpan,
  busSubscription,
  newCounters,
  retryParkedMessages,
  deliverBusMessage,
  type BusCounters,
  publishWithRetry,
  resolvePublishRetry,
} from '@causewayjs/core/internals';
import { decodeNatsMessage, encodeNatsMessage, type NatsWireFormat } from './nats-cloud-events.js';
import { natsTraceCarrier, natsTraceHeaders } from './nats-trace-headers.js';

/** Options of {@link NatsMessageBus.open}. */
export interface NatsMessageBusOptions {
  /** A connection made with `connect` of `@nats-io/transport-node`; the caller closes it. */
  connection: NatsConnection;
  /**
   * The JetStream stream holding this store's messages (one stream per store), created when
   * missing with subjects `<prefix>.>`. Letters, digits, `_` and `-`.
   */
  stream: string;
  /** Subject prefix (default `causeway`); give each store its own. */
  prefix?: string;
  /** The stream's deduplication window, in ms (default 120,000): a republished id inside it is dropped. */
  duplicateWindowMs?: number;
  /** How long one publish waits for the broker's acknowledgement, in ms (default 5,000). */
  publishTimeoutMs?: number;
  /**
   * Retries of a publish the broker did not acknowledge (broker down or restarting): `attempts`
   * in all (default 5), with backoff from `baseDelayMs` (default 100) to `maxDelayMs`
   * (default 2,000). Then it fails with `BusUnavailableError`.
   */
  publishRetry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** How long the broker waits for a member's answer before redelivering, in ms (default 30,000). */
  ackWaitMs?: number;
  /** Messages a member pulls ahead of handling (default 32). */
  prefetch?: number;
  /** Where to store the stream: `'file'` (default) or `'memory'`. */
  storage?: 'file' | 'memory';
  /**
   * Copies of the stream kept by a NATS cluster, 1 to 5 (default 1). Give 3 (R3) on a cluster
   * of three or more servers so that the stream and its consumers (groups) survive the loss
   * of one; an existing stream with fewer copies is raised to this many. A single server
   * refuses more than 1 (`BusUnavailableError`).
   */
  replicas?: number;
  /**
   * How events are written: `'causeway'` (default, the envelope as JSON) or
   * `'cloudevents-binary'` (CloudEvents binary mode: `ce-*` headers, the data as the body; see
   * {@link NatsWireFormat}). Members read both.
   */
  wireFormat?: NatsWireFormat;
  logger?: SubscriptionLogger;
  /**
   * Source of the `parkedAt` time of parked messages (a member's own `clock` subscribe option
   * wins). Default: the system clock. Redelivery delays and the duplicate window are kept by
   * the broker, on its own clock.
   */
  clock?: Clock;
}

interface NatsMember {
  o: ResolvedBusSubscribeOptions;
  counters: BusCounters;
  stopped: boolean;
  error: Error | undefined;
  controller: AbortController;
  messages: ConsumerMessages;
  loop: Promise<void>;
  /** Patterns checked in process when the server filters on `<prefix>.>` only. */
  localPatterns: readonly string[] | undefined;
}

/**
 * The message bus on NATS JetStream (`@causewayjs/nats`): one stream per store with subjects
 * `<prefix>.<category>.<type>`, the event id as `Nats-Msg-Id` (the broker drops a republish
 * within the duplicate window), one durable pull consumer per group shared by its members,
 * explicit ack, `nak(delay)` with backoff, and parking (then `term`) after `maxDeliveries`.
 * `tail()` and the publish expectations (`Nats-Expected-Last-Sequence`, `-Last-Msg-Id`) let
 * the outbox relay keep the stream in exact position order while pipelining.
 *
 * @example
 * ```ts
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
 * const bus = await NatsMessageBus.open({ connection: nc, stream: 'SHOP', prefix: 'shop' });
 * await bus.subscribe({ group: 'billing', subjects: ['order.>'], handler });
 * ```
 */
export class NatsMessageBus implements MessageBus {
  readonly prefix: string;
  /** The JetStream stream's name. */
  readonly stream: string;
  private readonly members = new Set<NatsMember>();
  private closed = false;
  private readonly publishRetry: ResolvedBackoff;
  private ownsConnection = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly o: Required<
      Pick<NatsMessageBusOptions, 'stream' | 'publishTimeoutMs' | 'ackWaitMs' | 'prefetch'>
    > & {
      prefix: string;
      logger: SubscriptionLogger | undefined;
      clock: Clock;
      wireFormat: NatsWireFormat;
    },
    publishRetry: ResolvedBackoff,
  ) {
    this.prefix = o.prefix;
    this.stream = o.stream;
    this.publishRetry = publishRetry;
  }

  /**
   * Connects to NATS (reconnecting forever) and opens the bus on a connection of its own,
   * closed by `close()`. The stream is created when it does not exist (or its duplicate
   * window and subjects widened to these options when it does).
   *
   * @example
   * ```ts
   * const bus = await NatsMessageBus.connect('nats://127.0.0.1:4222', { stream: 'SHOP', prefix: 'shop' });
   * ```
   * @throws {BusUnavailableError} when the server or JetStream cannot be reached.
   */
  static async connect(
    servers: string | string[],
    options: Omit<NatsMessageBusOptions, 'connection'>,
  ): Promise<NatsMessageBus> {
    let nc: NatsConnection;
    try {
      // Reconnect forever: a broker that restarts is waited for, never given up on.
      nc = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    } catch (error) {
      throw new BusUnavailableError(
        `Could not connect to NATS at ${String(servers)}: ${message(error)}`,
        error,
      );
    }
    try {
      const bus = await NatsMessageBus.open({ ...options, connection: nc });
      bus.ownsConnection = true;
      return bus;
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  /**
   * Opens the bus on a connection of the caller's, who closes it after `close()`.
   *
   * @throws {InvalidArgumentError} for bad options; {@link @causewayjs/core!BusUnavailableError} when JetStream cannot be reached.
   */
  static async open(options: NatsMessageBusOptions): Promise<NatsMessageBus> {
    if (typeof options !== 'object' || options === null || !options.connection)
      throw new InvalidArgumentError('options', 'must be { connection, stream, ... }');
    const prefix = options.prefix ?? DEFAULT_SUBJECT_PREFIX;
    assertSubjectPrefix(prefix);
    if (typeof options.stream !== 'string' || !/^[A-Za-z0-9_-]{1,200}$/.test(options.stream))
      throw new InvalidArgumentError(
        'stream',
        'must be 1 to 200 ASCII letters, digits, "_" or "-"',
      );
    const duplicateWindowMs = positive(options.duplicateWindowMs ?? 120_000, 'duplicateWindowMs');
    const publishTimeoutMs = positive(options.publishTimeoutMs ?? 5000, 'publishTimeoutMs');
    const ackWaitMs = positive(options.ackWaitMs ?? 30_000, 'ackWaitMs');
    const prefetch = positive(options.prefetch ?? 32, 'prefetch');
    const wireFormat = wireFormatOf(options.wireFormat);
    const replicas = options.replicas ?? 1;
    if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > 5)
      throw new InvalidArgumentError('replicas', 'must be an integer from 1 to 5');
    const clock = options.clock ?? systemClock;
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function')
      throw new InvalidArgumentError('clock', 'must be a Clock { now(): number }');
    const publishRetry = resolvePublishRetry(options.publishRetry);
    const nc = options.connection;
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(nc);
      const config = {
        name: options.stream,
        subjects: [`${prefix}.>`],
        duplicate_window: nanos(duplicateWindowMs),
        storage: options.storage === 'memory' ? StorageType.Memory : StorageType.File,
        num_replicas: replicas,
      };
      const existing = await jsm.streams.info(options.stream).catch((error: unknown) => {
        if (error instanceof JetStreamApiError && error.code === 10059) return undefined;
        throw error;
      });
      if (!existing) await jsm.streams.add(config);
      else if (
        !existing.config.subjects?.includes(`${prefix}.>`) ||
        existing.config.duplicate_window < config.duplicate_window ||
        existing.config.num_replicas < replicas
      )
        await jsm.streams.update(options.stream, {
          subjects: [...new Set([...(existing.config.subjects ?? []), `${prefix}.>`])],
          duplicate_window: Math.max(existing.config.duplicate_window, config.duplicate_window),
          num_replicas: Math.max(existing.config.num_replicas, replicas),
        });
    } catch (error) {
      throw new BusUnavailableError(
        `Could not open JetStream stream "${options.stream}": ${message(error)}`,
        error,
      );
    }
    return new NatsMessageBus(
      nc,
      jetstream(nc),
      jsm,
      {
        stream: options.stream,
        prefix,
        publishTimeoutMs,
        ackWaitMs,
        prefetch,
        logger: options.logger,
        clock,
        wireFormat,
      },
      publishRetry,
    );
  }

  /**
   * Publishes with the event id as `Nats-Msg-Id`; with `options.expectedLastSequence`, also
   * as `Nats-Expected-Last-Sequence`: the server checks the id first (a duplicate inside the
   * window is acknowledged whatever the expectation), then the stream's last sequence, and
   * refuses the message (`BusSequenceMismatchError`, not retried) when it differs. A publish
   * whose acknowledgement was lost is retried with the same expectation: if the first try
   * was stored, the retry is answered as a duplicate, so the expectation never stores twice.
   */
  publish(event: RecordedEvent, options?: PublishOptions): Promise<PublishReceipt> {
    const expected = options?.expectedLastSequence;
    const expectedId = options?.expectedLastEventId;
    if (expected !== undefined && (!Number.isSafeInteger(expected) || expected < 0))
      return Promise.reject(
        new InvalidArgumentError('expectedLastSequence', 'must be an integer >= 0'),
      );
    if (expectedId !== undefined && (typeof expectedId !== 'string' || expectedId === ''))
      return Promise.reject(
        new InvalidArgumentError('expectedLastEventId', 'must be a non-empty string'),
      );
    const expect = {
      ...(expected === undefined ? {} : { lastSequence: expected }),
      ...(expectedId === undefined ? {} : { lastMsgID: expectedId }),
    };
    const subject = `${this.prefix}.${relativeSubject(event)}`;
    return withSpan(
      'causeway.bus.publish',
      {
        kind: SpanKind.PRODUCER,
        parent: event.metadata,
        attributes: messagingAttributes({
          system: 'nats',
          operation: 'publish',
          destination: subject,
          messageId: event.id,
          conversationId: event.metadata.correlationId,
        }),
      },
      async () => {
        // The publish span's context rides in the message headers: a consumer's span is its child.
        const traceHeaders = natsTraceHeaders();
        if (this.closed || this.nc.isClosed()) throw new BusClosedError();
        const wire = encodeNatsMessage(event, this.o.wireFormat, traceHeaders);
        const bytes = wire.data;
        const limit = this.nc.info?.max_payload;
        if (limit !== undefined && bytes.byteLength > limit)
          throw new MessageTooLargeError(event.id, bytes.byteLength, limit);
        return publishWithRetry({
          eventId: event.id,
          retry: this.publishRetry,
          logger: this.o.logger,
          answer: 'acknowledge',
          publish: async () => {
            const ack = await this.js.publish(subject, bytes, {
              msgID: event.id,
              timeout: this.o.publishTimeoutMs,
              expect,
              ...(wire.headers ? { headers: wire.headers } : {}),
            });
            return { subject, sequence: ack.seq, duplicate: ack.duplicate };
          },
          definite: (error) => {
            if (this.closed || this.nc.isClosed() || error instanceof ClosedConnectionError)
              return new BusClosedError();
            // A definite answer: retrying cannot change it while the earlier message is missing.
            if (isWrongLast(error))
              return new BusSequenceMismatchError(
                event.id,
                { expectedLastSequence: expected, expectedLastEventId: expectedId },
                message(error),
              );
            if (isTooLarge(error))
              return new MessageTooLargeError(
                event.id,
                bytes.byteLength,
                limit ?? bytes.byteLength,
              );
            return undefined;
          },
        });
      },
    );
  }

  /**
   * Where the stream ends: its last sequence (which survives purges and restarts) and, when
   * the last message is still held and is a Causeway envelope, its event id and position.
   *
   * @throws {BusClosedError} after `close()`; {@link @causewayjs/core!BusUnavailableError} when JetStream cannot be asked.
   */
  async tail(): Promise<BusLogTail> {
    if (this.closed || this.nc.isClosed()) throw new BusClosedError();
    try {
      const info = await this.jsm.streams.info(this.stream);
      const sequence = info.state.last_seq;
      if (sequence === 0) return { sequence, last: undefined };
      const stored = await this.jsm.streams.getMessage(this.stream, { seq: sequence });
      const event = stored ? decodeNatsMessage(stored.data, stored.header) : undefined;
      return {
        sequence,
        last: event ? { eventId: event.id, position: event.position } : undefined,
      };
    } catch (error) {
      if (this.closed || this.nc.isClosed() || error instanceof ClosedConnectionError)
        throw new BusClosedError();
      throw new BusUnavailableError(
        `Could not read where stream "${this.stream}" ends: ${message(error)}`,
        error,
      );
    }
  }

  async subscribe(options: BusSubscribeOptions): Promise<BusSubscription> {
    if (this.closed) throw new BusClosedError();
    const o = resolveBusSubscribeOptions(options, this.o.clock);
    const durable = subjectToken(o.group);
    const single = o.subjects.length === 1 ? o.subjects[0] : undefined;
    const filter = `${this.prefix}.${single ?? '>'}`;
    try {
      const existing = await this.jsm.consumers.info(this.stream, durable).catch((e: unknown) => {
        if (e instanceof JetStreamApiError && e.code === 10014) return undefined;
        throw e;
      });
      if (existing) {
        if ((existing.config.filter_subject ?? `${this.prefix}.>`) !== filter)
          throw new GroupAlreadySubscribedError(
            o.group,
            `its consumer filters ${existing.config.filter_subject ?? '(nothing)'}, not ${filter}`,
          );
      } else {
        const config: Partial<ConsumerConfig> = {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          ack_wait: nanos(this.o.ackWaitMs),
          // Parking is decided here, after maxDeliveries; the broker never drops a message.
          max_deliver: -1,
          max_ack_pending: 10_000,
          filter_subject: filter,
          deliver_policy: o.from === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
        };
        await this.jsm.consumers.add(this.stream, config);
      }
    } catch (error) {
      if (error instanceof GroupAlreadySubscribedError) throw error;
      throw new BusUnavailableError(
        `Could not create consumer "${durable}" on stream "${this.stream}": ${message(error)}`,
        error,
      );
    }
    const consumer = await this.js.consumers.get(this.stream, durable);
    const messages = await consumer.consume({ max_messages: this.o.prefetch });
    const member: NatsMember = {
      o,
      counters: newCounters(),
      stopped: false,
      error: undefined,
      controller: new AbortController(),
      messages,
      loop: Promise.resolve(),
      localPatterns: single === undefined ? o.subjects : undefined,
    };
    member.loop = this.run(member);
    this.members.add(member);
    return busSubscription({
      o,
      member,
      retryParked: (which) =>
        retryParkedMessages(o, member.counters, which, (p) => this.find(p), relativeSubject),
      stop: () => this.stopMember(member),
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.members].map((m) => this.stopMember(m)));
    if (this.ownsConnection) await this.nc.close();
  }

  /** The connection the bus publishes and consumes on. */
  get connection(): NatsConnection {
    return this.nc;
  }

  private async stopMember(member: NatsMember): Promise<void> {
    if (!member.stopped) {
      member.stopped = true;
      member.controller.abort();
      member.messages.stop();
    }
    this.members.delete(member);
    await member.loop;
  }

  private async run(member: NatsMember): Promise<void> {
    try {
      for await (const m of member.messages) {
        // Pulled ahead but not started: hand it back at once rather than after ack_wait.
        if (member.stopped) m.nak();
        else await this.handle(member, m);
      }
    } catch (error) {
      member.error = error instanceof Error ? error : new Error(String(error));
      member.stopped = true;
      member.o.logger?.error({ group: member.o.group, err: error }, 'bus member stopped on error');
    }
  }

  private async handle(member: NatsMember, m: JsMsg): Promise<void> {
    const { o, counters } = member;
    const event = decodeNatsMessage(m.data, m.headers);
    if (!event) {
      counters.undecodable += 1;
      o.logger?.error(
        { group: o.group, subject: m.subject, sequence: m.seq },
        'bus message is not a Causeway envelope: terminated',
      );
      m.term('not a Causeway event envelope');
      return;
    }
    const subject = m.subject.slice(this.prefix.length + 1);
    if (member.localPatterns && !member.localPatterns.some((p) => matchSubject(p, subject))) {
      m.ack();
      return;
    }
    await deliverBusMessage({
      o,
      counters,
      delivery: {
        event,
        subject,
        system: 'nats',
        // The publisher's span, carried in the headers; else the event's own context.
        traceContext: carriedTraceContext(natsTraceCarrier(m.headers), event.metadata),
        attempt: m.info.deliveryCount,
        retryingParked: false,
        signal: member.controller.signal,
      },
      // A handler slower than ackWaitMs keeps the message: tell the broker it is in hand.
      whileRunning: async (run) => {
        const heartbeat = setInterval(() => m.working(), Math.max(50, this.o.ackWaitMs / 3));
        try {
          return await run();
        } finally {
          clearInterval(heartbeat);
        }
      },
      settle: {
        ack: () => m.ack(),
        park: () => m.term('parked'),
        retry: (delayMs) => m.nak(delayMs),
        stop: (error) => {
          m.nak();
          member.error = error;
          member.stopped = true;
          member.controller.abort();
          member.messages.stop();
        },
        parkFailed: (delayMs) => m.nak(delayMs),
      },
    });
  }

  /** Finds a parked message's event in the stream, by its subject and id. */
  private async find(parked: { eventId: string; stream: string; type: string }) {
    const subject = `${this.prefix}.${relativeSubject(parked)}`;
    const consumer = await this.js.consumers.get(this.stream, { filter_subjects: subject });
    try {
      for (;;) {
        const batch = await consumer.fetch({ max_messages: 256, expires: 2000 });
        let got = 0;
        for await (const m of batch) {
          got += 1;
          const event = decodeNatsMessage(m.data, m.headers);
          if (event?.id === parked.eventId) return event;
          if (m.info.pending === 0) return undefined;
        }
        if (got === 0) return undefined;
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }
}

function wireFormatOf(format: NatsWireFormat | undefined): NatsWireFormat {
  if (format === undefined || format === 'causeway' || format === 'cloudevents-binary')
    return format ?? 'causeway';
  throw new InvalidArgumentError('wireFormat', 'must be "causeway" or "cloudevents-binary"');
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new InvalidArgumentError(name, 'must be an integer >= 1');
  return value;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The client refuses payloads over `max_payload`; JetStream answers 10054 over `max_msg_size`. */
function isTooLarge(error: unknown): boolean {
  if (error instanceof JetStreamApiError && error.code === 10054) return true;
  return (
    error instanceof Error &&
    /max_payload|maximum payload|message size exceeds/i.test(error.message)
  );
}

/**
 * JetStream's answer to an expectation not holding: 10071 "wrong last sequence: <seq>"
 * (`Nats-Expected-Last-Sequence`), 10070 "wrong last msg ID: <id>" (`Nats-Expected-Last-Msg-Id`).
 */
function isWrongLast(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.code === 10071 || error.code === 10070);
}
