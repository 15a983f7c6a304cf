import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage, GetMessage, Message, Options } from 'amqplib';
import { SpanKind } from '@opentelemetry/api';
import { ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY } from '@opentelemetry/semantic-conventions/incubating';
import {
  systemClock,
  type Clock,
  type RecordedEvent,
  InvalidArgumentError,
  type SubscriptionLogger,
  type ParkedEvent,
  type ParkedEventStore,
  type ParkedSelection,
  BusClosedError,
  BusUnavailableError,
  GroupAlreadySubscribedError,
  MessageTooLargeError,
  decodeBusMessage,
  encodeBusMessage,
  resolveBusSubscribeOptions,
  type ResolvedBusSubscribeOptions,
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
  backoffDelay,
  resolveBackoff,
  sleepFor,
  type ResolvedBackoff,
  messagingAttributes,
  carriedTraceContext,
  currentTraceContext,
  withSpan,
  type TraceCarrier,
  busSubscription,
  newCounters,
  retryParkedMessages,
  deliverBusMessage,
  type BusCounters,
  publishWithRetry,
  resolvePublishRetry,
} from '@causewayjs/core/internals';
import { AmqpLink, message, type AmqpSession } from './amqp-link.js';
import { topicBindingKey } from './amqp-topic.js';

/** The URL RabbitMQ buses connect to unless told otherwise. */
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** RabbitMQ's default `max_message_size` (128 MiB). */
const BROKER_MAX_MESSAGE_BYTES = 134_217_728;

/** Header carrying a message's delivery attempt when it comes back from the wait queue. */
const ATTEMPT_HEADER = 'x-causeway-attempt';

/** Options of {@link RabbitMqMessageBus.connect}. */
export interface RabbitMqMessageBusOptions {
  /**
   * Subject prefix (default `causeway`); give each store its own. It also names the bus's
   * topic exchange (`<prefix>`), its log (`<prefix>.log`) and every group's queues
   * (`<prefix>.group.<group>`, `.wait`, `.parked`).
   */
  prefix?: string;
  /** The connection's name as the broker lists it (default `causeway-bus-<prefix>`). */
  connectionName?: string;
  /**
   * Queue type of the groups' queues and their parking queues: `'quorum'` (default) or
   * `'classic'`. Classic queues keep no delivery count, so a message whose member died
   * mid-handling comes back with the same attempt, and dead-letter at most once.
   */
  queueType?: 'quorum' | 'classic';
  /**
   * How long the log (a RabbitMQ stream, from which a new group with `from: 'all'` starts)
   * keeps messages, as a RabbitMQ duration (default `'7D'`).
   */
  logMaxAge?: string;
  /**
   * How long a republished id is answered as a duplicate without being sent again, in ms
   * (default 120,000). RabbitMQ keeps no ids, so this window is this bus object's: consumers
   * pair with an inbox (`inboxHandler`) for exactly-once effects across publishers.
   */
  duplicateWindowMs?: number;
  /** How long one publish waits for the broker's confirm (or a reconnection), in ms (default 5,000). */
  publishTimeoutMs?: number;
  /**
   * Retries of a publish the broker did not confirm: `attempts` in all (default 5), with
   * backoff from `baseDelayMs` (default 100) to `maxDelayMs` (default 2,000). Then it fails
   * with `BusUnavailableError`.
   */
  publishRetry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** Delays between reconnection attempts, forever: from `baseDelayMs` (default 100) to `maxDelayMs` (default 5,000). */
  reconnect?: { baseDelayMs?: number; maxDelayMs?: number };
  /**
   * How long the TCP connect and the AMQP handshake of a connection attempt may stay silent
   * before the attempt counts as failed, in ms (default 10,000): the first connection fails
   * with `BusUnavailableError`, a reconnection tries again after its backoff.
   */
  connectTimeoutMs?: number;
  /** Unacknowledged messages the broker sends a member ahead of handling (default 32). */
  prefetch?: number;
  /** The largest encoded message accepted, in bytes (default 128 MiB, RabbitMQ's default limit). */
  maxMessageBytes?: number;
  logger?: SubscriptionLogger;
  /** Source of the `parkedAt` time of parked messages and of the duplicate window (default: system clock). */
  clock?: Clock;
}

interface ResolvedOptions {
  prefix: string;
  queueType: 'quorum' | 'classic';
  logMaxAge: string;
  duplicateWindowMs: number;
  publishTimeoutMs: number;
  prefetch: number;
  maxMessageBytes: number;
  logger: SubscriptionLogger | undefined;
  clock: Clock;
}

/** The names of one group's queues. */
interface GroupNames {
  queue: string;
  wait: string;
  parked: string;
  /** Exists while a new group has not yet caught up with the log (see `subscribe`). */
  replay: string;
}

/** Where a delivery came from, and how to settle it. */
interface Settle {
  ack(): void;
  /** Parks the message's body (the record is written already). */
  park(): Promise<void>;
  /** Hands it back unhandled. */
  requeue(): void;
  channel: Channel;
  msg: Message;
}

interface RabbitMember {
  o: ResolvedBusSubscribeOptions;
  names: GroupNames;
  counters: BusCounters;
  stopped: boolean;
  error: Error | undefined;
  controller: AbortController;
  channel: Channel | undefined;
  consumerTag: string | undefined;
  /** Deliveries are handled one at a time, in order, on this chain. */
  chain: Promise<void>;
  /** Ids handled while replaying the log: their copies in the queue are acknowledged unhandled. */
  replayed: Set<string>;
  replaying: boolean;
  /** A loop opening the member's channel again is running. */
  resuming: boolean;
  offReconnect: () => void;
}

/**
 * The message bus on RabbitMQ (`@causewayjs/rabbitmq`), with `amqplib`. Events are published
 * with publisher confirms to a topic exchange named after the prefix, with routing key
 * `<prefix>.<category>.<type>` and the event id as `message-id`. Each consumer group is a
 * durable quorum queue bound with its subject patterns (`>` becomes `*.#`), consumed with
 * manual acknowledgements and a prefetch. A failed delivery is copied (attempt + 1) to the
 * group's wait queue with the backoff delay as its expiration, and comes back through a
 * dead-letter exchange when it expires; after `maxDeliveries` the message is recorded in the
 * parked store and rejected, and the queue's dead-letter exchange moves it to the group's
 * parking queue, from which `retryParked` and `skipParked` take it. A RabbitMQ stream bound
 * to every subject is the bus's log: a new group with `from: 'all'` first replays it.
 * The connection reconnects with backoff and consumers resume.
 *
 * @example
 * ```ts
 * const bus = await RabbitMqMessageBus.connect('amqp://guest:guest@127.0.0.1:5672', { prefix: 'shop' });
 * await bus.subscribe({ group: 'billing', subjects: ['order.>'], handler });
 * ```
 */
export class RabbitMqMessageBus implements MessageBus {
  readonly prefix: string;
  /** The topic exchange every event is published to. */
  readonly exchange: string;
  /** The stream holding every message, from which new groups replay. */
  readonly log: string;
  private readonly deadLetters: string;
  private readonly members = new Set<RabbitMember>();
  private readonly groups = new Map<string, readonly string[]>();
  private readonly recent = new Map<string, { at: number; receipt: Promise<PublishReceipt> }>();
  private sequence = 0;
  private closed = false;

  private constructor(
    private readonly link: AmqpLink,
    private readonly o: ResolvedOptions,
    private readonly publishRetry: ResolvedBackoff,
    private readonly reconnect: ResolvedBackoff,
  ) {
    this.prefix = o.prefix;
    this.exchange = o.prefix;
    this.log = `${o.prefix}.log`;
    this.deadLetters = `${o.prefix}.parking`;
  }

  /**
   * Connects (reconnecting with backoff whenever the connection is lost, until `close()`)
   * and declares the bus's exchanges and log.
   *
   * @throws {InvalidArgumentError} for bad options; {@link @causewayjs/core!BusUnavailableError} when RabbitMQ cannot be reached.
   */
  static async connect(
    url: string = DEFAULT_AMQP_URL,
    options: RabbitMqMessageBusOptions = {},
  ): Promise<RabbitMqMessageBus> {
    if (typeof url !== 'string' || !/^amqps?:\/\//.test(url))
      throw new InvalidArgumentError('url', 'must be an amqp:// or amqps:// URL');
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError('options', 'must be an object');
    const prefix = options.prefix ?? DEFAULT_SUBJECT_PREFIX;
    assertSubjectPrefix(prefix);
    if (prefix.length > 200)
      throw new InvalidArgumentError('prefix', 'must be at most 200 characters');
    const queueType = options.queueType ?? 'quorum';
    if (queueType !== 'quorum' && queueType !== 'classic')
      throw new InvalidArgumentError('queueType', "must be 'quorum' or 'classic'");
    const clock = options.clock ?? systemClock;
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function')
      throw new InvalidArgumentError('clock', 'must be a Clock { now(): number }');
    const logMaxAge = options.logMaxAge ?? '7D';
    if (!/^\d+(Y|M|D|h|m|s)$/.test(logMaxAge))
      throw new InvalidArgumentError('logMaxAge', 'must be a RabbitMQ duration such as 7D or 12h');
    const o: ResolvedOptions = {
      prefix,
      queueType,
      logMaxAge,
      duplicateWindowMs: positive(options.duplicateWindowMs ?? 120_000, 'duplicateWindowMs'),
      publishTimeoutMs: positive(options.publishTimeoutMs ?? 5000, 'publishTimeoutMs'),
      prefetch: positive(options.prefetch ?? 32, 'prefetch'),
      maxMessageBytes: positive(
        options.maxMessageBytes ?? BROKER_MAX_MESSAGE_BYTES,
        'maxMessageBytes',
      ),
      logger: options.logger,
      clock,
    };
    const publishRetry = resolvePublishRetry(options.publishRetry);
    const reconnect = resolveBackoff({ baseDelayMs: 100, maxDelayMs: 5000, ...options.reconnect });
    const link = await AmqpLink.open({
      url,
      name: options.connectionName ?? `causeway-bus-${prefix}`,
      reconnect,
      connectTimeoutMs: positive(options.connectTimeoutMs ?? 10_000, 'connectTimeoutMs'),
      logger: options.logger,
    });
    const bus = new RabbitMqMessageBus(link, o, publishRetry, reconnect);
    try {
      await bus.declareBus();
    } catch (error) {
      await link.close();
      throw new BusUnavailableError(
        `Could not declare the exchanges and log of bus "${prefix}": ${message(error)}`,
        error,
      );
    }
    return bus;
  }

  /** Reconnections of the bus's connection so far. */
  get reconnections(): number {
    return this.link.reconnections;
  }

  /**
   * Publishes with a publisher confirm, the event id as `message-id`. A publish of an id this
   * object published (or is publishing) inside the duplicate window is answered as a
   * duplicate with the first receipt, without sending. `sequence` counts this object's
   * publishes: RabbitMQ keeps no log sequence, and `expectedLastSequence` is not honoured
   * (no `tail()`). While the connection is down the publish waits for it, then retries.
   */
  publish(event: RecordedEvent, options?: PublishOptions): Promise<PublishReceipt> {
    void options;
    if (typeof event !== 'object' || event === null || typeof event.id !== 'string')
      return Promise.reject(new InvalidArgumentError('event', 'must be a recorded event'));
    const subject = `${this.prefix}.${relativeSubject(event)}`;
    if (Buffer.byteLength(subject) > 255)
      return Promise.reject(
        new InvalidArgumentError('event.type', `its subject ${subject} is over 255 bytes`),
      );
    const now = this.o.clock.now();
    for (const [id, entry] of this.recent) {
      if (entry.at > now - this.o.duplicateWindowMs) break;
      this.recent.delete(id);
    }
    const seen = this.recent.get(event.id);
    if (seen) return seen.receipt.then((r) => ({ ...r, duplicate: true }));
    const receipt = this.send(event, subject);
    this.recent.set(event.id, { at: now, receipt });
    receipt.catch(() => {
      if (this.recent.get(event.id)?.receipt === receipt) this.recent.delete(event.id);
    });
    return receipt;
  }

  private send(event: RecordedEvent, subject: string): Promise<PublishReceipt> {
    return withSpan(
      'causeway.bus.publish',
      {
        kind: SpanKind.PRODUCER,
        parent: event.metadata,
        attributes: {
          ...messagingAttributes({
            system: 'rabbitmq',
            operation: 'publish',
            destination: subject,
            messageId: event.id,
            conversationId: event.metadata.correlationId,
          }),
          [ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY]: subject,
        },
      },
      async () => {
        if (this.closed) throw new BusClosedError();
        const bytes = Buffer.from(encodeBusMessage(event));
        if (bytes.byteLength > this.o.maxMessageBytes)
          throw new MessageTooLargeError(event.id, bytes.byteLength, this.o.maxMessageBytes);
        const properties: Options.Publish = {
          messageId: event.id,
          persistent: true,
          contentType: 'application/json',
          type: event.type,
          timestamp: Math.floor(event.recordedAt.getTime() / 1000),
          // The publish span's context: a consumer's span is its child.
          headers: currentTraceContext(),
        };
        return publishWithRetry({
          eventId: event.id,
          retry: this.publishRetry,
          logger: this.o.logger,
          answer: 'confirm',
          publish: async () => {
            await this.confirmed({ exchange: this.exchange, key: subject, bytes, properties });
            this.sequence += 1;
            return { subject, sequence: this.sequence, duplicate: false };
          },
          definite: () => (this.closed ? new BusClosedError() : undefined),
        });
      },
    );
  }

  /** Publishes once on the current connection and waits for the broker's confirm. */
  private async confirmed(p: {
    exchange: string;
    key: string;
    bytes: Buffer;
    properties: Options.Publish;
  }): Promise<void> {
    const { publisher } = await this.link.session(this.o.publishTimeoutMs);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no confirm within ${this.o.publishTimeoutMs} ms`)),
        this.o.publishTimeoutMs,
      );
      try {
        publisher.publish(p.exchange, p.key, p.bytes, p.properties, (error: unknown) => {
          clearTimeout(timer);
          if (error) reject(error instanceof Error ? error : new Error('the broker refused it'));
          else resolve();
        });
      } catch (error) {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  async subscribe(options: BusSubscribeOptions): Promise<BusSubscription> {
    if (this.closed) throw new BusClosedError();
    const o = resolveBusSubscribeOptions(options, this.o.clock);
    const keys = o.subjects.map((s) => topicBindingKey(this.prefix, s));
    const agreed = this.groups.get(o.group);
    if (agreed && agreed.join('\n') !== [...keys].sort().join('\n'))
      throw new GroupAlreadySubscribedError(
        o.group,
        `its queue is bound to ${agreed.join(', ')}, not ${[...keys].sort().join(', ')}`,
      );
    const names = this.namesOf(o.group);
    let replay: boolean;
    try {
      replay = await this.declareGroup({ names, keys, from: o.from });
    } catch (error) {
      throw new BusUnavailableError(
        `Could not declare the queues of group "${o.group}": ${message(error)}`,
        error,
      );
    }
    this.groups.set(o.group, [...keys].sort());
    // One replay per group in this process: a second member takes the queue at once.
    if ([...this.members].some((m) => m.o.group === o.group && m.replaying)) replay = false;
    const member: RabbitMember = {
      o,
      names,
      counters: newCounters(),
      stopped: false,
      error: undefined,
      controller: new AbortController(),
      channel: undefined,
      consumerTag: undefined,
      chain: Promise.resolve(),
      replayed: new Set(),
      replaying: replay,
      resuming: false,
      offReconnect: () => undefined,
    };
    this.members.add(member);
    member.offReconnect = this.link.onReconnect(() => this.resume(member));
    try {
      await this.startConsuming(member);
    } catch (error) {
      await this.stopMember(member);
      throw new BusUnavailableError(
        `Could not consume for group "${o.group}": ${message(error)}`,
        error,
      );
    }
    return busSubscription({
      o,
      member,
      retryParked: (which) => this.retryParked(member, which),
      skipParked: (which) => this.skipParked(member, which),
      stop: () => this.stopMember(member),
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.members].map((m) => this.stopMember(m)));
    this.closed = true;
    await this.link.close();
  }

  /**
   * The exchanges and queues this object declared (its own, and those of every group it
   * subscribed): what to delete to remove the bus from the broker (tests, teardown). Also
   * answers after `close()`.
   */
  topology(): { exchanges: string[]; queues: string[] } {
    const queues = [this.log];
    for (const group of this.groups.keys()) {
      const n = this.namesOf(group);
      queues.push(n.queue, n.wait, n.parked, n.replay);
    }
    return { exchanges: [this.exchange, this.deadLetters], queues };
  }

  private namesOf(group: string): GroupNames {
    const queue = `${this.prefix}.group.${subjectToken(group)}`;
    return { queue, wait: `${queue}.wait`, parked: `${queue}.parked`, replay: `${queue}.replay` };
  }

  private async withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const { model } = await this.link.session(this.o.publishTimeoutMs);
    const channel = await model.createChannel();
    channel.on('error', () => undefined);
    try {
      return await work(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /** Whether a queue exists (a passive declare, on a channel of its own: a 404 closes it). */
  private exists(queue: string): Promise<boolean> {
    return this.withChannel((channel) =>
      channel.checkQueue(queue).then(
        () => true,
        () => false,
      ),
    );
  }

  private async declareBus(): Promise<void> {
    await this.withChannel(async (channel) => {
      await channel.assertExchange(this.exchange, 'topic', { durable: true });
      await channel.assertExchange(this.deadLetters, 'direct', { durable: true });
      await channel.assertQueue(this.log, {
        durable: true,
        arguments: { 'x-queue-type': 'stream', 'x-max-age': this.o.logMaxAge },
      });
      await channel.bindQueue(this.log, this.exchange, `${this.prefix}.#`);
    });
  }

  /**
   * Declares a group's queues and bindings. A new group that starts with `'all'` gets a
   * `.replay` marker queue first, so a member that dies before it caught up with the log
   * replays again at its next start. Returns whether this member replays the log.
   */
  private async declareGroup(p: {
    names: GroupNames;
    keys: readonly string[];
    from: 'all' | 'new';
  }): Promise<boolean> {
    const { names } = p;
    const existed = await this.exists(names.queue);
    const quorum = this.o.queueType === 'quorum';
    await this.withChannel(async (channel) => {
      if (!existed && p.from === 'all') await channel.assertQueue(names.replay, { durable: true });
      const safety = quorum
        ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' }
        : {};
      await channel.assertQueue(names.parked, {
        durable: true,
        arguments: { 'x-queue-type': this.o.queueType },
      });
      await channel.bindQueue(names.parked, this.deadLetters, names.queue);
      // Expired retries go back to the group's queue through the default exchange.
      await channel.assertQueue(names.wait, {
        durable: true,
        arguments: {
          'x-queue-type': this.o.queueType,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': names.queue,
          ...safety,
        },
      });
      await channel.assertQueue(names.queue, {
        durable: true,
        arguments: {
          'x-queue-type': this.o.queueType,
          'x-dead-letter-exchange': this.deadLetters,
          'x-dead-letter-routing-key': names.queue,
          ...safety,
        },
      });
      for (const key of p.keys) await channel.bindQueue(names.queue, this.exchange, key);
    });
    return existed ? this.exists(names.replay) : p.from === 'all';
  }

  /**
   * Opens the member's channel again after it closed (its connection was lost, the broker
   * cancelled its consumer, a queue was briefly unavailable after a restart), with backoff,
   * until it consumes again or the member stops. One loop per member at a time.
   */
  private resume(member: RabbitMember): void {
    if (member.stopped || member.resuming) return;
    member.resuming = true;
    void (async () => {
      for (let attempt = 1; !member.stopped && !this.closed; attempt++) {
        try {
          await this.startConsuming(member);
          // A close read in the same chunk as the consume-ok found this loop still running and
          // started none: go round again until the member holds a channel.
          if (member.channel || member.stopped) break;
        } catch (error) {
          member.o.logger?.warn(
            { group: member.o.group, err: error, attempt },
            'bus member could not consume again; retrying',
          );
        }
        await sleepFor(backoffDelay(attempt, this.reconnect) + 1);
      }
      member.resuming = false;
    })();
  }

  /** Opens the member's channel and consumes: the log first while replaying, then the queue. */
  private async startConsuming(member: RabbitMember): Promise<void> {
    if (member.stopped) return;
    const { model } = await this.link.session(this.o.publishTimeoutMs);
    const channel = await model.createChannel();
    channel.on('error', (error: Error) =>
      member.o.logger?.warn({ group: member.o.group, err: error }, 'bus member channel error'),
    );
    channel.on('close', () => {
      if (member.channel !== channel) return;
      member.channel = undefined;
      member.consumerTag = undefined;
      this.resume(member);
    });
    member.channel = channel;
    try {
      await channel.prefetch(this.o.prefetch);
      if (member.replaying) await this.startReplay(member, channel);
      else await this.consumeQueue(member, channel);
    } catch (error) {
      if (member.channel === channel) member.channel = undefined;
      await channel.close().catch(() => undefined);
      throw error;
    }
    // Stopped while this channel was opening (stopMember found no channel to close): its
    // consumer would hold deliveries it never handles.
    if (member.stopped) {
      if (member.channel === channel) member.channel = undefined;
      await channel.close().catch(() => undefined);
    }
  }

  private async consumeQueue(member: RabbitMember, channel: Channel): Promise<void> {
    const reply = await channel.consume(
      member.names.queue,
      (msg) => {
        // null: the broker cancelled the consumer (queue deleted or moved): consume again.
        if (msg) this.enqueue(member, () => this.fromQueue(member, channel, msg));
        else void channel.close().catch(() => undefined);
      },
      { noAck: false },
    );
    member.consumerTag = reply.consumerTag;
  }

  /**
   * Replays the log from its start up to a marker published now, handling the messages that
   * match the group's subjects; the group's queue, bound before the marker, holds what comes
   * after (a message in both is handled once: its id is remembered).
   */
  private async startReplay(member: RabbitMember, channel: Channel): Promise<void> {
    const marker = randomUUID();
    await this.sendConfirmed(this.log, Buffer.from('{}'), {
      messageId: marker,
      headers: { 'x-causeway-marker': true },
    });
    const reply = await channel.consume(
      this.log,
      (msg) => {
        if (!msg) {
          void channel.close().catch(() => undefined);
          return;
        }
        this.enqueue(member, async () => {
          if (msg.properties.messageId === marker) {
            safe(() => channel.ack(msg));
            await this.finishReplay(member, channel);
            return;
          }
          if (msg.properties.headers?.['x-causeway-marker'] === true) {
            safe(() => channel.ack(msg));
            return;
          }
          await this.fromLog(member, channel, msg);
        });
      },
      { noAck: false, arguments: { 'x-stream-offset': 'first' } },
    );
    member.consumerTag = reply.consumerTag;
  }

  private async finishReplay(member: RabbitMember, channel: Channel): Promise<void> {
    if (member.consumerTag) await channel.cancel(member.consumerTag).catch(() => undefined);
    member.replaying = false;
    await this.withChannel((c) => c.deleteQueue(member.names.replay)).catch(() => undefined);
    if (member.stopped) return;
    // On failure the channel closes and the member resumes, on its queue.
    await this.consumeQueue(member, channel).catch(() => channel.close().catch(() => undefined));
  }

  private enqueue(member: RabbitMember, work: () => Promise<void>): void {
    member.chain = member.chain
      .then(async () => {
        if (!member.stopped) await work();
      })
      .catch((error: unknown) => {
        member.o.logger?.error({ group: member.o.group, err: error }, 'bus delivery failed');
      });
  }

  private async fromLog(member: RabbitMember, channel: Channel, msg: ConsumeMessage) {
    // Sent on a channel that died with its connection: the broker hands it out again.
    if (member.channel !== channel) return;
    // Sent ahead past the marker: the group's queue holds it, so it is not handled here.
    if (!member.replaying) {
      safe(() => channel.ack(msg));
      return;
    }
    const subject = msg.fields.routingKey.slice(this.prefix.length + 1);
    if (!member.o.subjects.some((p) => matchSubject(p, subject))) {
      safe(() => channel.ack(msg));
      return;
    }
    const id = msg.properties.messageId as unknown;
    if (typeof id === 'string') member.replayed.add(id);
    await this.handle(member, {
      channel,
      msg,
      ack: () => safe(() => channel.ack(msg)),
      park: async () => {
        await this.copy(member.names.parked, msg, 1);
        safe(() => channel.ack(msg));
      },
      requeue: () => safe(() => channel.ack(msg)),
    });
  }

  private async fromQueue(member: RabbitMember, channel: Channel, msg: ConsumeMessage) {
    if (member.channel !== channel) return;
    const id = msg.properties.messageId as unknown;
    if (
      typeof id === 'string' &&
      member.replayed.has(id) &&
      msg.properties.headers?.[ATTEMPT_HEADER] === undefined
    ) {
      // Its copy was handled from the log; forget the id, so a later republish is delivered.
      member.replayed.delete(id);
      safe(() => channel.ack(msg));
      return;
    }
    await this.handle(member, {
      channel,
      msg,
      ack: () => safe(() => channel.ack(msg)),
      park: () => Promise.resolve(safe(() => channel.reject(msg, false))),
      requeue: () => safe(() => channel.nack(msg, false, true)),
    });
  }

  private async handle(member: RabbitMember, settle: Settle): Promise<void> {
    const { o, counters } = member;
    const { msg } = settle;
    const event = decodeBusMessage(msg.content);
    if (!event) {
      counters.undecodable += 1;
      o.logger?.error(
        { group: o.group, routingKey: msg.fields.routingKey },
        'bus message is not a Causeway envelope: dropped',
      );
      settle.ack();
      return;
    }
    const headers = msg.properties.headers ?? {};
    const base = Number(headers[ATTEMPT_HEADER] ?? 1);
    const redelivered = Number(headers['x-delivery-count'] ?? 0);
    const attempt =
      (Number.isSafeInteger(base) && base > 0 ? base : 1) +
      (Number.isSafeInteger(redelivered) ? redelivered : 0);
    await deliverBusMessage({
      o,
      counters,
      delivery: {
        event,
        subject: relativeSubject(event),
        system: 'rabbitmq',
        traceContext: carriedTraceContext(traceHeaders(headers), event.metadata),
        attempt,
        retryingParked: false,
        signal: member.controller.signal,
      },
      settle: {
        ack: () => settle.ack(),
        park: () => settle.park(),
        retry: (delayMs) => this.retryLater(member, settle, { attempt: attempt + 1, delayMs }),
        stop: (error) => {
          settle.requeue();
          member.error = error;
          void this.stopMember(member);
        },
        parkFailed: (delayMs) =>
          this.retryLater(member, settle, { attempt, delayMs }).catch(() => settle.requeue()),
      },
    });
  }

  /**
   * Copies the message to the group's wait queue with the delay as its expiration, then
   * acknowledges it: the copy comes back to the group's queue through the dead-letter
   * exchange. A crash between the two leaves both (at least once).
   */
  private async retryLater(
    member: RabbitMember,
    settle: Settle,
    next: { attempt: number; delayMs: number },
  ): Promise<void> {
    await this.copy(member.names.wait, settle.msg, next.attempt, Math.max(1, next.delayMs));
    settle.ack();
  }

  /** Sends a copy of a message to a queue (default exchange), confirmed. */
  private copy(queue: string, msg: Message, attempt: number, delayMs?: number): Promise<void> {
    const p = msg.properties;
    return this.sendConfirmed(queue, msg.content, {
      messageId: p.messageId as string | undefined,
      contentType: p.contentType as string | undefined,
      type: p.type as string | undefined,
      persistent: true,
      headers: { ...traceHeaders(p.headers), [ATTEMPT_HEADER]: attempt },
      ...(delayMs === undefined ? {} : { expiration: String(Math.ceil(delayMs)) }),
    });
  }

  /** Sends to a queue through the default exchange and waits for the broker's confirm. */
  private async sendConfirmed(
    queue: string,
    content: Buffer,
    properties: Options.Publish,
  ): Promise<void> {
    const { publisher } = await this.link.session(this.o.publishTimeoutMs);
    await new Promise<void>((resolve, reject) => {
      try {
        publisher.sendToQueue(queue, content, properties, (error: unknown) =>
          error ? reject(toError(error)) : resolve(),
        );
      } catch (error) {
        reject(toError(error));
      }
    });
  }

  private async stopMember(member: RabbitMember): Promise<void> {
    if (!member.stopped) {
      member.stopped = true;
      member.offReconnect();
      member.controller.abort();
      const channel = member.channel;
      if (channel && member.consumerTag)
        await channel.cancel(member.consumerTag).catch(() => undefined);
      await member.chain;
      // Closing the channel hands back what was sent ahead and not handled.
      await channel?.close().catch(() => undefined);
    }
    this.members.delete(member);
    await member.chain;
  }

  /** Takes every body from a group's parking queue (unacknowledged), by event id. */
  private async withParkedBodies<T>(
    member: RabbitMember,
    work: (bodies: Map<string, GetMessage>, channel: Channel) => Promise<T>,
  ): Promise<T> {
    return this.withChannel(async (channel) => {
      const bodies = new Map<string, GetMessage>();
      for (;;) {
        const got = await channel.get(member.names.parked, { noAck: false });
        if (!got) break;
        const id = got.properties.messageId as unknown;
        if (typeof id === 'string' && !bodies.has(id)) bodies.set(id, got);
        else safe(() => channel.ack(got)); // a second copy of a parked body: keep one
      }
      // Whatever is not acknowledged goes back to the queue when the channel closes.
      return work(bodies, channel);
    });
  }

  private async retryParked(member: RabbitMember, which: ParkedSelection) {
    const { o } = member;
    return this.withParkedBodies(member, async (bodies, channel) => {
      const before = await parkedIds(o.parked, o.group, which);
      const result = await retryParkedMessages(
        o,
        member.counters,
        which,
        (p: ParkedEvent) => {
          const body = bodies.get(p.eventId);
          return Promise.resolve(body ? decodeBusMessage(body.content) : undefined);
        },
        relativeSubject,
      );
      const after = await parkedIds(o.parked, o.group, 'all');
      for (const id of before) {
        const body = bodies.get(id);
        if (body && !after.has(id)) safe(() => channel.ack(body));
      }
      return result;
    });
  }

  private async skipParked(member: RabbitMember, which: ParkedSelection): Promise<number> {
    const { o } = member;
    return this.withParkedBodies(member, async (bodies, channel) => {
      const chosen = await parkedIds(o.parked, o.group, which);
      const removed = await o.parked.remove(o.group, which);
      for (const id of chosen) {
        const body = bodies.get(id);
        if (body) safe(() => channel.ack(body));
      }
      return removed;
    });
  }

  /** The current session, for tests that break it. */
  session(): Promise<AmqpSession> {
    return this.link.session(this.o.publishTimeoutMs);
  }
}

/** The event ids of a group's parked records, optionally of chosen positions only. */
async function parkedIds(
  parked: ParkedEventStore,
  group: string,
  which: ParkedSelection,
): Promise<Set<string>> {
  const wanted = which === 'all' ? undefined : new Set(which);
  const ids = new Set<string>();
  let after = 0;
  for (;;) {
    const page = await parked.list(group, { after, limit: 500 });
    for (const p of page) if (!wanted || wanted.has(p.position)) ids.add(p.eventId);
    const last = page[page.length - 1];
    if (!last || page.length < 500) return ids;
    after = last.position;
  }
}

/** Acks and nacks on a channel that died throw: the broker redelivers those anyway. */
function safe(action: () => void): void {
  try {
    action();
  } catch {
    // The channel is gone; the broker hands the message back.
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new InvalidArgumentError(name, 'must be an integer >= 1');
  return value;
}

/** The string headers of a message (its trace context among them), for the propagation API. */
function traceHeaders(headers: Readonly<Record<string, unknown>> | undefined): TraceCarrier {
  const carrier: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {}))
    if (typeof value === 'string') carrier[key.toLowerCase()] = value;
    else if (Buffer.isBuffer(value)) carrier[key.toLowerCase()] = value.toString('utf8');
  return carrier;
}
