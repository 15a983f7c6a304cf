import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import {
  backoffDelay,
  resolveBackoff,
  type ResolvedBackoff,
  assertName,
  WakeSignal,
} from '@causewayjs/core/internals';
import {
  type Clock,
  systemClock,
  type EventInput,
  type EventMetadata,
  type RecordedEvent,
  CausewayError,
  ErrorCode,
  InvalidArgumentError,
  StoreClosedError,
  BusUnavailableError,
  deterministicId,
  type SchemaRegistry,
  SchemaValidationError,
  schemaRegistryOf,
  type StoreTransaction,
  type ListParkedOptions,
  type ParkedError,
  type ParkedEvent,
  type ParkedSelection,
  type SubscriptionLogger,
  type SubscriptionStorage,
} from '@causewayjs/core';
import {
  MappingFailedError,
  PayloadInvalidError,
  SubscribeRefusedError,
  TopicUnmappedError,
} from './mqtt-errors.js';
import { messageEventId, messageOf, type MqttMessage } from './mqtt-message.js';
import {
  fillTemplate,
  templateNames,
  TopicPattern,
  type TopicMatch,
} from './mqtt-topic-pattern.js';
import { checkMqttUrl } from './mqtt-url.js';

/** The event type of a parked message in the park stream. */
export const MQTT_PARKED_EVENT_TYPE = 'mqtt.message.parked';

/** The data of a {@link MQTT_PARKED_EVENT_TYPE} event: the message as received, and why. */
export interface MqttParkedMessage {
  topic: string;
  /** The payload, base64; absent when the payload alone was too large to store. */
  payload?: string;
  payloadBytes: number;
  qos: 0 | 1 | 2;
  retain: boolean;
  userProperties: Record<string, string | string[]>;
  /** Base64. */
  correlationData?: string;
  contentType?: string;
  error: ParkedError;
}

/** A JSON Schema of {@link MqttParkedMessage}: register it when the store is `strict`. */
export const mqttParkedMessageSchema = {
  type: 'object',
  required: ['topic', 'payloadBytes', 'qos', 'retain', 'userProperties', 'error'],
  properties: {
    topic: { type: 'string' },
    payload: { type: 'string' },
    payloadBytes: { type: 'integer', minimum: 0 },
    qos: { type: 'integer', minimum: 0, maximum: 2 },
    retain: { type: 'boolean' },
    userProperties: { type: 'object' },
    correlationData: { type: 'string' },
    contentType: { type: 'string' },
    error: {
      type: 'object',
      required: ['name', 'message'],
      properties: {
        name: { type: 'string' },
        message: { type: 'string' },
        code: { type: 'string' },
        stack: { type: 'string' },
      },
    },
  },
} as const;

/** Maps the messages of one topic pattern to events. */
export interface MqttIngestRoute {
  /**
   * An MQTT topic filter whose wildcards may be named: `devices/+device/telemetry`. The
   * first route (in order) whose pattern matches a topic maps its messages.
   */
  topic: string;
  /**
   * The stream: a template filled with the pattern's captures (`'device-{device}'`), or a
   * function of the match and the event data.
   */
  stream: string | ((match: TopicMatch, data: unknown) => string);
  /** The event type: a template like `stream`, or a function. */
  type: string | ((match: TopicMatch, data: unknown) => string);
  /**
   * How the payload is read: `'json'` (default: UTF-8 JSON), `'text'` (the UTF-8 string), or
   * a function of the payload; a throw parks the message.
   */
  format?: 'json' | 'text' | ((payload: Buffer, match: TopicMatch) => unknown);
  /** Turns the parsed payload into the event data (default: as parsed); a throw parks it. */
  data?: (parsed: unknown, match: TopicMatch) => unknown;
  /** Extra metadata of the event (the topic is always kept, as `mqttTopic`). */
  metadata?: (message: MqttMessage, match: TopicMatch) => EventMetadata;
}

/** Options of {@link MqttIngest}. */
export interface MqttIngestOptions<Tx extends StoreTransaction = StoreTransaction> {
  /** The broker: `mqtt://host:1883`, `mqtts://...`, `ws://...`. */
  url: string;
  /**
   * The MQTT client id, which names the broker-side persistent session: messages that
   * arrive while the ingest is away are queued under it. Keep it stable across restarts,
   * and give each running ingest its own.
   */
  clientId: string;
  /** Where events are appended, and where parked messages are recorded. */
  storage: SubscriptionStorage<Tx>;
  routes: readonly MqttIngestRoute[];
  /** Names the ingest's parked list (default `'mqtt-ingest'`). */
  name?: string;
  /** The topic filters subscribed (QoS 1); default: the routes' filters. */
  subscribe?: readonly string[];
  /** Validate event data with this registry (default: the one the store validates with, if any). */
  registry?: SchemaRegistry;
  /** The MQTT v5 user property carrying a message's id (default `'event-id'`). */
  idProperty?: string;
  /** An application key of a message, to identify it instead of its payload (see docs/mqtt.md). */
  messageKey?: (message: MqttMessage) => string | undefined;
  /** The stream parked messages are kept in (default `'<name>-parked'`). */
  parkStream?: string;
  /** How long the broker keeps the session while the ingest is away, in seconds (default 7 days). */
  sessionExpirySeconds?: number;
  /** How long `start()` waits for the broker, in ms (default 30,000). */
  connectTimeoutMs?: number;
  /** Store retries: exponential with full jitter (defaults 100 ms to 5,000 ms). */
  retry?: { baseDelayMs?: number; maxDelayMs?: number };
  /** More options of the mqtt.js client (credentials, TLS, reconnect period). */
  clientOptions?: Omit<
    IClientOptions,
    'clientId' | 'clean' | 'protocolVersion' | 'manualConnect' | 'customHandleAcks'
  >;
  clock?: Clock;
  logger?: SubscriptionLogger;
}

/** Where an ingest is in its life. */
export type MqttIngestState =
  'stopped' | 'connecting' | 'running' | 'waiting-for-broker' | 'waiting-for-store';

/** A snapshot of an ingest (see {@link MqttIngest.status}). */
export interface MqttIngestStatus {
  name: string;
  state: MqttIngestState;
  /** Messages received (redeliveries included). */
  received: number;
  /** Messages appended as events, or found appended already (a redelivery). */
  ingested: number;
  /** Messages parked. */
  parked: number;
  /** Failed store attempts since start. */
  failures: number;
  lastError: Error | undefined;
  /** Why the ingest stopped on its own, if it did. */
  error: Error | undefined;
}

/** The outcome of {@link MqttIngest.retryParked}. */
export interface MqttParkedRetryResult {
  ingested: number;
  /** Failed again: still parked, with the new error. */
  failed: number;
  /** No longer in the park stream at their position: still listed. */
  missing: number;
}

interface Mapped {
  stream: string;
  event: EventInput & { id: string };
}

interface CompiledRoute {
  pattern: TopicPattern;
  route: MqttIngestRoute;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Ingests device messages from an MQTT broker into event streams. Each message is mapped by
 * the first route whose topic pattern matches it to one event (stream, type, data), its
 * data validated against the schema registry, and appended with a deterministic event id
 * (see {@link messageEventId}); the broker gets its PUBACK only once the append committed.
 * The subscription is QoS 1 on a persistent session (`clean: false` with a session expiry),
 * so a message not acknowledged (the process crashed, the connection broke) is delivered
 * again, and its append, carrying the same id, is an idempotent retry rather than a second
 * event: nothing is lost and nothing is stored twice.
 *
 * A message that cannot become an event (unmapped topic, bad JSON, a schema violation, a
 * store refusal of the event itself) is parked: kept whole as a `mqtt.message.parked` event
 * in the park stream and listed, in the same transaction, in the store's parked events
 * under the ingest's name, where it can be listed, retried (after fixing a route or schema)
 * or skipped. Ingestion goes on. A store that is unavailable is waited for, the message
 * unacknowledged, so the broker holds the rest.
 *
 * Messages are handled one at a time, in the order the broker delivers them.
 *
 * @example
 * ```ts
 * const ingest = new MqttIngest({
 *   url: 'mqtt://127.0.0.1:1883',
 *   clientId: 'plant-ingest',
 *   storage,
 *   routes: [{ topic: 'devices/+device/telemetry', stream: 'device-{device}', type: 'device.telemetry.recorded' }],
 * });
 * await ingest.start();
 * ```
 */
export class MqttIngest<Tx extends StoreTransaction = StoreTransaction> {
  readonly name: string;
  readonly parkStream: string;
  private readonly options: MqttIngestOptions<Tx>;
  private readonly storage: SubscriptionStorage<Tx>;
  private readonly routes: readonly CompiledRoute[];
  private readonly filters: readonly string[];
  private readonly registry: SchemaRegistry | undefined;
  private readonly idProperty: string;
  private readonly retry: ResolvedBackoff;
  private readonly clock: Clock;
  private readonly logger: SubscriptionLogger | undefined;
  private client: MqttClient | undefined;
  private queue: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly halt = new WakeSignal();
  private current: MqttIngestStatus;

  constructor(options: MqttIngestOptions<Tx>) {
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError(
        'options',
        'must be an object { url, clientId, storage, routes }',
      );
    checkMqttUrl(options.url);
    if (typeof options.clientId !== 'string' || options.clientId.length === 0)
      throw new InvalidArgumentError('clientId', 'must be a non-empty string');
    const storage = options.storage;
    if (
      typeof storage !== 'object' ||
      storage === null ||
      typeof storage.store?.transaction !== 'function' ||
      !storage.parked
    )
      throw new InvalidArgumentError('storage', 'must be subscription storage');
    this.options = options;
    this.storage = storage;
    this.name = options.name ?? 'mqtt-ingest';
    assertName(this.name);
    this.parkStream = options.parkStream ?? `${this.name}-parked`;
    const given: unknown = options.routes;
    if (!Array.isArray(given) || given.length === 0)
      throw new InvalidArgumentError('routes', 'must be a non-empty array of routes');
    this.routes = options.routes.map((route, i) => compileRoute(route, i));
    this.filters = options.subscribe ?? [...new Set(this.routes.map((r) => r.pattern.filter))];
    const filters: unknown = this.filters;
    if (!Array.isArray(filters) || filters.length === 0)
      throw new InvalidArgumentError('subscribe', 'must be a non-empty array of topic filters');
    for (const filter of this.filters) new TopicPattern(filter);
    this.registry = options.registry ?? schemaRegistryOf(storage.store);
    this.idProperty = options.idProperty ?? 'event-id';
    this.retry = resolveBackoff({ baseDelayMs: 100, maxDelayMs: 5000, ...options.retry });
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.current = {
      name: this.name,
      state: 'stopped',
      received: 0,
      ingested: 0,
      parked: 0,
      failures: 0,
      lastError: undefined,
      error: undefined,
    };
  }

  /** The ingest's state now (a copy). */
  status(): MqttIngestStatus {
    return { ...this.current };
  }

  /**
   * Connects (resuming the persistent session), subscribes and begins ingesting; messages
   * the broker queued while the ingest was away come first. Parked messages marked for
   * retry (`causeway parked retry <name>`) are then retried.
   *
   * @throws {BusUnavailableError} when the broker did not accept the connection in time.
   * @throws {SubscribeRefusedError} when the broker refused a subscription.
   */
  async start(): Promise<void> {
    if (this.client) return;
    this.stopping = false;
    this.halt.reset();
    this.update({ state: 'connecting', error: undefined, lastError: undefined });
    const client = mqtt.connect(this.options.url, {
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...this.options.clientOptions,
      clientId: this.options.clientId,
      clean: false,
      protocolVersion: 5,
      properties: {
        ...this.options.clientOptions?.properties,
        sessionExpiryInterval: this.options.sessionExpirySeconds ?? 7 * 24 * 3600,
      },
      // The handler is installed before connecting: the session's queued messages arrive
      // right after the CONNACK and must not be acknowledged by mqtt.js's default handler.
      manualConnect: true,
    });
    this.client = client;
    // mqtt.js hands over one message at a time and sends its PUBACK once the callback is
    // called; a message in hand when stopping is never acknowledged (it comes again).
    // A PUBACK belongs to the connection the message came on: when that connection is gone
    // by the time the message is stored, the broker delivers it again on the new one (an
    // idempotent append), and a stale packet id must not acknowledge another message there.
    client.handleMessage = (packet: IPublishPacket, callback: (error?: Error) => void) => {
      const connection = client.stream;
      const work = this.queue.then(() => this.handle(packet));
      this.queue = work.catch(() => undefined);
      work.then(
        () => {
          if (client.stream === connection) callback();
        },
        () => undefined,
      );
    };
    client.on('error', (error) => {
      this.logger?.warn({ ingest: this.name, err: error }, 'MQTT client error');
    });
    client.on('offline', () => {
      if (!this.stopping) this.update({ state: 'waiting-for-broker' });
    });
    client.on('connect', () => {
      if (!this.stopping && this.current.state !== 'connecting') this.update({ state: 'running' });
    });
    try {
      await this.firstConnect(client);
      const granted = await client.subscribeAsync(
        Object.fromEntries(this.filters.map((f) => [f, { qos: 1 as const, rh: 1 as const }])),
      );
      for (const grant of granted)
        if (grant.qos > 2) throw new SubscribeRefusedError(grant.topic, grant.qos);
    } catch (error) {
      this.client = undefined;
      await client.endAsync(true).catch(() => undefined);
      this.update({ state: 'stopped', error: error as Error });
      throw error;
    }
    this.update({ state: 'running' });
    await this.retryRequested();
  }

  /**
   * Retries the parked messages marked for retry elsewhere (`causeway parked retry <name>`,
   * or `storage.parked.requestRetry`), as a subscription does at its start.
   */
  private async retryRequested(): Promise<void> {
    const positions: number[] = [];
    for (let after = 0; ;) {
      const page = await this.storage.parked.list(this.name, {
        after,
        limit: 500,
        retryRequested: true,
      });
      positions.push(...page.map((p) => p.position));
      const last = page[page.length - 1];
      if (!last || page.length < 500) break;
      after = last.position;
    }
    if (positions.length > 0) await this.retryParked(positions);
  }

  private firstConnect(client: MqttClient): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs ?? 30_000;
    return new Promise<void>((resolve, reject) => {
      let lastError: unknown;
      const onError = (error: unknown) => (lastError = error);
      const timer = setTimeout(() => {
        client.off('connect', onConnect);
        client.off('error', onError);
        reject(
          new BusUnavailableError(
            `The MQTT broker at ${this.options.url} did not accept a connection within ${timeoutMs} ms`,
            lastError,
          ),
        );
      }, timeoutMs);
      const onConnect = () => {
        clearTimeout(timer);
        client.off('error', onError);
        resolve();
      };
      client.once('connect', onConnect);
      client.on('error', onError);
      client.connect();
    });
  }

  /**
   * Stops: the message in hand is finished (and acknowledged if it was stored), nothing
   * new is taken; the broker keeps the session and queues what comes meanwhile.
   */
  async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.stopping = true;
    this.halt.set();
    await this.queue;
    this.client = undefined;
    await client.endAsync(true).catch(() => undefined);
    this.update({ state: 'stopped' });
  }

  /** The ingest's parked messages, in park-stream position order. */
  listParked(options?: ListParkedOptions): Promise<ParkedEvent[]> {
    return this.storage.parked.list(this.name, options);
  }

  /** How many messages are parked. */
  parkedCount(): Promise<number> {
    return this.storage.parked.count(this.name);
  }

  /** Removes parked messages without ingesting them (they stay in the park stream). */
  skipParked(which: ParkedSelection): Promise<number> {
    return this.storage.parked.remove(this.name, which);
  }

  /** The parked messages as received, with why each was parked. */
  async parkedMessages(options?: ListParkedOptions): Promise<(ParkedEvent & MqttParkedMessage)[]> {
    const out: (ParkedEvent & MqttParkedMessage)[] = [];
    for (const entry of await this.listParked(options)) {
      const event = await this.parkedEvent(entry);
      if (event) out.push({ ...entry, ...event.data });
    }
    return out;
  }

  /**
   * Maps parked messages again (after a route or schema was fixed): those that now become
   * events are appended and leave the list in one transaction; the others stay, with the
   * new error.
   */
  async retryParked(which: ParkedSelection): Promise<MqttParkedRetryResult> {
    const wanted = which === 'all' ? undefined : new Set(which);
    const result: MqttParkedRetryResult = { ingested: 0, failed: 0, missing: 0 };
    let after = 0;
    for (;;) {
      const page = await this.storage.parked.list(this.name, { after, limit: 500 });
      for (const entry of page) {
        if (wanted && !wanted.has(entry.position)) continue;
        const event = await this.parkedEvent(entry);
        if (!event || event.data.payload === undefined) {
          result.missing += 1;
          continue;
        }
        const message = parkedToMessage(event.data);
        let error: Error;
        try {
          const mapped = this.map(message);
          await this.storage.store.transaction(async (tx) => {
            await tx.append(mapped.stream, [mapped.event], { expectedRevision: 'any' });
            await this.storage.parked.remove(this.name, [entry.position], tx);
          });
          result.ingested += 1;
          continue;
        } catch (e) {
          if (!isRefusal(e)) throw e;
          error = e as Error;
        }
        await this.storage.parked.park(this.name, {
          position: entry.position,
          eventId: entry.eventId,
          stream: entry.stream,
          type: entry.type,
          reason: 'failed',
          error: errorRecord(error),
          attempts: entry.attempts + 1,
          parkedAt: new Date(this.clock.now()),
        });
        result.failed += 1;
      }
      const last = page[page.length - 1];
      if (!last || page.length < 500) break;
      after = last.position;
    }
    return result;
  }

  private async parkedEvent(
    entry: ParkedEvent,
  ): Promise<RecordedEvent<MqttParkedMessage> | undefined> {
    for await (const e of this.storage.store.readAll({ from: entry.position, limit: 1 }))
      if (e.position === entry.position && e.id === entry.eventId)
        return e as RecordedEvent<MqttParkedMessage>;
    return undefined;
  }

  private update(patch: Partial<MqttIngestStatus>): void {
    this.current = { ...this.current, ...patch };
  }

  /**
   * Stores one message: as its event, or parked. Resolves once it is committed (then it may
   * be acknowledged); rejects only when the ingest stops first (then it must not be).
   */
  private async handle(packet: IPublishPacket): Promise<void> {
    if (this.stopping) throw new StoreClosedError();
    const message = messageOf(packet);
    this.update({ received: this.current.received + 1 });
    let outcome: Mapped | Error;
    try {
      outcome = this.map(message);
    } catch (error) {
      outcome = error instanceof Error ? error : new Error(String(error));
    }
    let failures = 0;
    let keepPayload = true;
    for (;;) {
      try {
        if (outcome instanceof Error) {
          await this.park(message, outcome, keepPayload);
          this.update({ parked: this.current.parked + 1 });
        } else {
          await this.storage.store.append(outcome.stream, [outcome.event], {
            expectedRevision: 'any',
          });
          this.update({ ingested: this.current.ingested + 1 });
        }
        if (failures > 0) this.update({ state: 'running', lastError: undefined });
        return;
      } catch (error) {
        const e = error instanceof Error ? error : new Error(String(error));
        if (e instanceof StoreClosedError) return this.fail(e);
        if (isRefusal(e)) {
          if (!(outcome instanceof Error)) {
            outcome = e; // the store refused the event itself: park the message
            continue;
          }
          if (keepPayload) {
            keepPayload = false; // a park record too large, say: keep the message's description
            continue;
          }
          return this.fail(e);
        }
        failures += 1;
        this.update({
          state: 'waiting-for-store',
          failures: this.current.failures + 1,
          lastError: e,
        });
        this.logger?.warn(
          { ingest: this.name, err: e, topic: message.topic },
          'the store failed; the ingest waits and retries (the message stays unacknowledged)',
        );
        await this.halt.wait(backoffDelay(failures, this.retry) + 1);
        if (this.stopping) throw e;
      }
    }
  }

  /** Ends ingestion on an error nothing cured: the message stays unacknowledged. */
  private fail(error: Error): never {
    this.logger?.error({ ingest: this.name, err: error }, 'MQTT ingest stopped on error');
    this.update({ error });
    void this.stop();
    throw error;
  }

  /** Maps a message to its event. @throws the reason to park it. */
  private map(message: MqttMessage): Mapped {
    let match: TopicMatch | undefined;
    let route: MqttIngestRoute | undefined;
    for (const r of this.routes) {
      match = r.pattern.match(message.topic);
      if (match) {
        route = r.route;
        break;
      }
    }
    if (!match || !route) throw new TopicUnmappedError(message.topic);
    const topic = message.topic;
    const m = match;
    const parsed = parsePayload(route, message.payload, m);
    const data = route.data ? guarded(topic, 'data', () => route.data?.(parsed, m)) : parsed;
    const stream = nameOf(route.stream, m, data, topic, 'stream');
    const type = nameOf(route.type, m, data, topic, 'type');
    const extra = route.metadata
      ? guarded(topic, 'metadata', () => route.metadata?.(message, m))
      : {};
    if (this.registry?.has(type)) {
      const result = this.registry.validate(type, data);
      if (!result.valid)
        throw new SchemaValidationError([
          { request: 0, index: 0, eventType: type, version: result.version, issues: result.issues },
        ]);
    }
    const id = guarded(topic, 'messageKey', () =>
      messageEventId(message, { idProperty: this.idProperty, messageKey: this.options.messageKey }),
    );
    const metadata: EventMetadata = {
      ...(typeof extra === 'object' && extra !== null ? extra : {}),
      mqttTopic: topic,
    };
    return { stream, event: { id, type, data, metadata } };
  }

  /** Appends the message to the park stream and lists it, in one transaction. */
  private async park(message: MqttMessage, error: Error, keepPayload: boolean): Promise<void> {
    const messageId = messageEventId(message, { idProperty: this.idProperty });
    const data: MqttParkedMessage = {
      topic: message.topic,
      ...(keepPayload ? { payload: message.payload.toString('base64') } : {}),
      payloadBytes: message.payload.length,
      qos: message.qos,
      retain: message.retain,
      userProperties: message.userProperties,
      ...(message.correlationData
        ? { correlationData: message.correlationData.toString('base64') }
        : {}),
      ...(message.contentType ? { contentType: message.contentType } : {}),
      error: errorRecord(error),
    };
    const id = deterministicId('mqtt-parked', this.name, messageId);
    await this.storage.store.transaction(async (tx) => {
      const { position } = await tx.append(
        this.parkStream,
        [{ id, type: MQTT_PARKED_EVENT_TYPE, data, metadata: { mqttTopic: message.topic } }],
        { expectedRevision: 'any' },
      );
      await this.storage.parked.park(
        this.name,
        {
          position,
          eventId: id,
          stream: this.parkStream,
          type: MQTT_PARKED_EVENT_TYPE,
          reason: 'failed',
          error: data.error,
          attempts: 1,
          parkedAt: new Date(this.clock.now()),
        },
        tx,
      );
    });
    this.logger?.warn(
      { ingest: this.name, topic: message.topic, err: error },
      'an MQTT message could not be ingested: parked',
    );
  }
}

function compileRoute(route: MqttIngestRoute, index: number): CompiledRoute {
  if (typeof route !== 'object' || route === null)
    throw new InvalidArgumentError(`routes[${index}]`, 'must be a route object');
  const pattern = new TopicPattern(route.topic);
  for (const key of ['stream', 'type'] as const) {
    const value = route[key];
    if (typeof value === 'function') continue;
    if (typeof value !== 'string' || value.length === 0)
      throw new InvalidArgumentError(
        `routes[${index}].${key}`,
        'must be a template string or a function',
      );
    for (const name of templateNames(value))
      if (!pattern.names.includes(name))
        throw new InvalidArgumentError(
          `routes[${index}].${key}`,
          `uses {${name}}, which ${route.topic} does not capture`,
        );
  }
  return { pattern, route };
}

function parsePayload(route: MqttIngestRoute, payload: Buffer, match: TopicMatch): unknown {
  const format = route.format ?? 'json';
  if (typeof format === 'function') {
    try {
      return format(payload, match);
    } catch (error) {
      throw new PayloadInvalidError(match.topic, messageOfError(error), { cause: error });
    }
  }
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch (error) {
    throw new PayloadInvalidError(match.topic, 'not UTF-8', { cause: error });
  }
  if (format === 'text') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new PayloadInvalidError(match.topic, `not JSON (${messageOfError(error)})`, {
      cause: error,
    });
  }
}

function nameOf(
  spec: string | ((match: TopicMatch, data: unknown) => string),
  match: TopicMatch,
  data: unknown,
  topic: string,
  what: string,
): string {
  const value =
    typeof spec === 'function'
      ? guarded(topic, what, () => spec(match, data))
      : fillTemplate(spec, (name) => match.captures[name]);
  if (typeof value !== 'string' || value.length === 0)
    throw new MappingFailedError(topic, `the ${what} is not a non-empty string`);
  return value;
}

function guarded<T>(topic: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw new MappingFailedError(topic, `${what}: ${messageOfError(error)}`, { cause: error });
  }
}

function parkedToMessage(data: MqttParkedMessage): MqttMessage {
  return {
    topic: data.topic,
    payload: Buffer.from(data.payload ?? '', 'base64'),
    qos: data.qos,
    retain: data.retain,
    userProperties: data.userProperties,
    ...(data.correlationData
      ? { correlationData: Buffer.from(data.correlationData, 'base64') }
      : {}),
    ...(data.contentType ? { contentType: data.contentType } : {}),
  };
}

/** Store errors that are about the event itself (park it), not about the store's health. */
const TRANSIENT = new Set<string>([
  ErrorCode.STORE_UNAVAILABLE,
  ErrorCode.STORE_BUSY,
  ErrorCode.STORAGE_FULL,
  ErrorCode.STORE_CLOSED,
]);

function isRefusal(error: unknown): boolean {
  return error instanceof CausewayError && !TRANSIENT.has(error.code);
}

function messageOfError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorRecord(error: Error): ParkedError {
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
  };
}
