import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
} from 'prom-client';
import {
  RuntimeRegistry,
  type RuntimeComponentStatus,
  type RuntimeSnapshot,
} from './runtime-registry.js';
import { projectorSource, relaySource } from './runtime-sources.js';

/** Options of {@link CausewayMetrics}. */
export interface CausewayMetricsOptions {
  /**
   * Where the metrics are registered. Default: a new registry of their own, never prom-client's
   * global one, so two servers (or tests) in one process do not collide.
   */
  registry?: Registry;
  /** Also collect Node.js process metrics (heap, event-loop lag, CPU). Default true. */
  processMetrics?: boolean;
  /**
   * Most saga instances read per scrape to count saga states (default 10,000): the count is
   * paged through the tracked source's `listInstances`, and stops there so a scrape stays cheap.
   */
  sagaScanLimit?: number;
}

/** Something whose lag behind the log and parked events are reported (a subscription). */
export interface LagSource {
  name: string;
  /** Position the consumer has reached (0 before its first event). */
  position(): number | Promise<number>;
  /** How many events it has parked. */
  parkedCount(): Promise<number>;
}

// Observability reads projections, sagas and the outbox relay through the interfaces below,
// declared here and met structurally, never through those modules' types: it stays below
// them, and each interface names only what a metric reads.

/** What the metrics read of one projection's status (a projector's `ProjectionStatus` is one). */
export interface ProjectionStatusReading {
  name: string;
  /** Position the serving read model has reached. */
  position: number;
  /** Events the serving build has parked. */
  parked: number;
  /** How far the serving read model is behind the log, in events and in seconds. */
  lag: { events: number; seconds: number };
}

/** What the metrics need of a projector: its statuses. */
export interface ProjectionStatusSource {
  statuses(): Promise<readonly ProjectionStatusReading[]>;
}

/**
 * The states a saga instance is counted in. A saga status outside them does not compile where
 * its query is tracked, so a new status cannot go uncounted.
 */
export type SagaInstanceStatus =
  'running' | 'completed' | 'compensating' | 'compensated' | 'failed';

/** What the metrics read of saga instances (a `SagaRuntime` or any saga query is one). */
export interface SagaInstanceSource {
  /** A page of instances ordered by id, after the instance id `after` when given. */
  listInstances(options: {
    limit: number;
    after?: string;
  }): Promise<readonly { id: string; saga: string; status: SagaInstanceStatus }[]>;
}

/** The counters of a saga runtime the metrics expose, each counted since it started. */
export interface SagaRuntimeStats {
  /** Instances created. */
  readonly started: number;
  /** Non-starting events whose correlation id has no instance. */
  readonly unmatched: number;
  /** Events an instance had already received. */
  readonly duplicates: number;
  /** Events not expected in the instance's step. */
  readonly outOfOrder: number;
  /** Events for an instance that had ended. */
  readonly afterEnd: number;
  /** Timers fired. */
  readonly timersFired: number;
  /** Timers that fired for an instance that had ended. */
  readonly timersAfterEnd: number;
  /** Timers the saga did not expect in the instance's step. */
  readonly timersUnexpected: number;
  /** Timers that fired for an instance or saga that no longer exists. */
  readonly orphanTimers: number;
  /** Commands dispatched and accepted. */
  readonly commandsSent: number;
  /** Commands their handler rejected. */
  readonly commandsRejected: number;
  /** Commands parked. */
  readonly commandsParked: number;
  /** Dispatch tries that failed (to be tried again). */
  readonly dispatchFailures: number;
  /** Parked commands put back in the outbox by an operator. */
  readonly commandsRequeued: number;
}

/** What the metrics read of a saga runtime (`SagaRuntime` is one). */
export interface SagaRuntimeSource {
  /** Counts since the runtime started. */
  readonly status: { readonly stats: SagaRuntimeStats };
  /** Pending (backlog) and parked outbox commands of the runtime's sagas. */
  outboxCounts(): Promise<{ readonly pending: number; readonly parked: number }>;
}

/**
 * The states an outbox relay is reported in. A relay state outside them does not compile where
 * the relay is tracked, so `causeway_relay_state` cannot miss one.
 */
export type RelayState =
  | 'stopped'
  | 'starting'
  | 'waiting-for-lease'
  | 'running'
  | 'waiting-for-broker'
  | 'waiting-for-store';

/** What the metrics read of an outbox relay's status (`OutboxRelayStatus` is one). */
export interface RelayStatusReading {
  name: string;
  state: RelayState;
  /** The checkpoint: every event up to here is acknowledged by the broker (or parked). */
  position: number;
  /** How many positions are not yet published, when last read. */
  lag: number;
  /** Events published (acknowledged, duplicates included). */
  published: number;
  /** Of those, how many the broker already had. */
  duplicates: number;
  /** Events parked because the broker can never take them. */
  parked: number;
  /** Failed publishing rounds since start. */
  failures: number;
}

/** What the metrics read of an outbox relay (`OutboxRelay` is one). */
export interface RelaySource {
  status(): RelayStatusReading;
  /** Positions not yet published, read fresh; without it the status's last `lag` is used. */
  lag?(): Promise<number>;
}

/** Latency buckets of appends and HTTP requests, in seconds (0.5 ms to 10 s). */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const SAGA_STATUSES: readonly SagaInstanceStatus[] = [
  'running',
  'completed',
  'compensating',
  'compensated',
  'failed',
];

const RELAY_STATES: readonly RelayState[] = [
  'stopped',
  'starting',
  'waiting-for-lease',
  'running',
  'waiting-for-broker',
  'waiting-for-store',
];

/**
 * Causeway's Prometheus metrics, on a registry of their own: appends (count, events, latency),
 * HTTP requests (count and duration by route and status), access denials, and, read at scrape
 * time from what is registered with `track*`, the head position, projection and subscription
 * lag, parked events, saga instances by state, saga runtime outcomes and outbox backlog, and
 * the outbox relay's progress and state.
 *
 * @example
 * ```ts
 * const metrics = new CausewayMetrics();
 * const store = instrumentEventStore(sqliteStore, { metrics });
 * metrics.trackHead(() => store.headPosition());
 * const text = await metrics.registry.metrics(); // Prometheus text format
 * ```
 */
export class CausewayMetrics {
  /** The registry holding every metric below; serve `registry.metrics()` at `/metrics`. */
  readonly registry: Registry;
  /** `causeway_appends_total{result}`: append calls, by `ok` / the error's code. */
  readonly appends: Counter<'result'>;
  /** `causeway_events_appended_total`: events written by successful appends. */
  readonly eventsAppended: Counter;
  /** `causeway_append_duration_seconds{result}`: latency of append calls. */
  readonly appendDuration: Histogram<'result'>;
  /** `causeway_http_requests_total{method,route,status}`. */
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  /** `causeway_http_request_duration_seconds{method,route,status}`. */
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** `causeway_access_denials_total{permission,reason}`: refused requests (401/403). */
  readonly accessDenials: Counter<'permission' | 'reason'>;

  /**
   * Lag, position and state of every component following the log (subscriptions, projections,
   * saga runners, relays, stream jobs): the gauges below, `/stats` and the admin UI all read
   * it. Add a component with `runtime.add(...)` (see `runtime-sources.ts`) or `track*`.
   */
  readonly runtime: RuntimeRegistry;

  private head: (() => Promise<number>) | undefined;
  private scrape: Promise<RuntimeSnapshot> | undefined;
  private readonly sagas: SagaInstanceSource[] = [];
  private readonly sagaRuntimes: SagaRuntimeSource[] = [];
  private readonly relays: RelaySource[] = [];
  private readonly sagaScanLimit: number;

  constructor(options: CausewayMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    this.runtime = new RuntimeRegistry(() => (this.head ? this.head() : Promise.resolve(0)));
    this.sagaScanLimit = options.sagaScanLimit ?? 10_000;
    const registers = [this.registry];
    const counter = <L extends string>(config: CounterConfiguration<L>) =>
      new Counter<L>({ ...config, registers });
    this.appends = counter({
      name: 'causeway_appends_total',
      help: 'Append calls, by result (ok or the error code)',
      labelNames: ['result'],
    });
    this.eventsAppended = counter({
      name: 'causeway_events_appended_total',
      help: 'Events written by successful appends',
    });
    this.appendDuration = new Histogram({
      name: 'causeway_append_duration_seconds',
      help: 'Latency of append calls, in seconds',
      labelNames: ['result'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.httpRequests = counter({
      name: 'causeway_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
    });
    this.httpDuration = new Histogram({
      name: 'causeway_http_request_duration_seconds',
      help: 'HTTP request duration, in seconds, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.accessDenials = counter({
      name: 'causeway_access_denials_total',
      help: 'Requests refused by the access guard, by permission and reason',
      labelNames: ['permission', 'reason'],
    });
    // The gauges below are read when scraped, from the sources registered with track*.
    const head = () => this.head;
    const { sagas, sagaScanLimit } = this;
    // One registry snapshot per scrape feeds every lag, position and state gauge.
    const snapshot = () => this.sharedSnapshot();
    new Gauge({
      name: 'causeway_head_position',
      help: 'Position of the last committed event of the store',
      registers,
      async collect() {
        const read = head();
        if (read) this.set(await read());
      },
    });
    const componentGauge = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      fill: (gauge: Gauge<L>, component: RuntimeComponentStatus) => void,
    ) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          const { components } = await snapshot();
          this.reset();
          for (const component of components) fill(this, component);
        },
      });
    const byName = (c: RuntimeComponentStatus) => ({ kind: c.kind, name: c.name });
    componentGauge(
      'causeway_component_lag_events',
      'Events committed after the position each component following the log has reached (subscription, projection, saga, relay, stream-job)',
      ['kind', 'name'],
      (gauge, c) => {
        if (c.lag !== null) gauge.set(byName(c), c.lag);
      },
    );
    componentGauge(
      'causeway_component_position',
      'Position of the log each component following it has reached',
      ['kind', 'name'],
      (gauge, c) => {
        if (c.position !== null) gauge.set(byName(c), c.position);
      },
    );
    componentGauge(
      'causeway_component_state',
      'State of each component following the log: 1 for the state it is in',
      ['kind', 'name', 'state'],
      (gauge, c) => gauge.set({ ...byName(c), state: c.state }, 1),
    );
    const isSubscription = (c: RuntimeComponentStatus) =>
      c.kind === 'subscription' || c.kind === 'saga';
    componentGauge(
      'causeway_projection_lag_events',
      'Events committed after the serving read model of each projection',
      ['projection'],
      (gauge, c) => {
        if (c.kind === 'projection' && c.lag !== null) gauge.set({ projection: c.name }, c.lag);
      },
    );
    componentGauge(
      'causeway_projection_lag_seconds',
      'Age of the oldest event a projection has not applied yet, in seconds',
      ['projection'],
      (gauge, c) => {
        if (c.kind === 'projection' && c.lagSeconds !== null)
          gauge.set({ projection: c.name }, c.lagSeconds);
      },
    );
    componentGauge(
      'causeway_projection_position',
      'Position the serving read model of each projection has reached',
      ['projection'],
      (gauge, c) => {
        if (c.kind === 'projection' && c.position !== null)
          gauge.set({ projection: c.name }, c.position);
      },
    );
    componentGauge(
      'causeway_projection_parked_events',
      'Events parked by the serving build of each projection',
      ['projection'],
      (gauge, c) => {
        if (c.kind === 'projection' && c.parked !== null)
          gauge.set({ projection: c.name }, c.parked);
      },
    );
    componentGauge(
      'causeway_subscription_lag_events',
      "Events committed after the position each subscription (saga runners' included) has reached",
      ['subscription'],
      (gauge, c) => {
        if (isSubscription(c) && c.lag !== null) gauge.set({ subscription: c.name }, c.lag);
      },
    );
    componentGauge(
      'causeway_subscription_parked_events',
      'Events parked (dead-lettered) by each subscription',
      ['subscription'],
      (gauge, c) => {
        if (isSubscription(c) && c.parked !== null) gauge.set({ subscription: c.name }, c.parked);
      },
    );
    new Gauge({
      name: 'causeway_saga_instances',
      help: 'Saga instances by saga and status (counted up to the scan limit per scrape)',
      labelNames: ['saga', 'status'],
      registers,
      async collect() {
        this.reset();
        const counts = new Map<string, Record<SagaInstanceStatus, number>>();
        for (const query of sagas) {
          let after: string | undefined;
          let seen = 0;
          while (seen < sagaScanLimit) {
            const limit = Math.min(500, sagaScanLimit - seen);
            const page = await query.listInstances(
              after === undefined ? { limit } : { limit, after },
            );
            for (const instance of page) {
              let byStatus = counts.get(instance.saga);
              if (!byStatus) {
                byStatus = Object.fromEntries(SAGA_STATUSES.map((s) => [s, 0])) as Record<
                  SagaInstanceStatus,
                  number
                >;
                counts.set(instance.saga, byStatus);
              }
              byStatus[instance.status] = (byStatus[instance.status] ?? 0) + 1;
            }
            seen += page.length;
            if (page.length < limit) break;
            after = page[page.length - 1]?.id;
          }
        }
        for (const [saga, byStatus] of counts) {
          for (const status of SAGA_STATUSES) this.set({ saga, status }, byStatus[status]);
        }
      },
    });
    this.registerSagaRuntimeMetrics(registers);
    this.registerRelayMetrics(registers);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * The saga runtimes' counters, read when scraped (summed over the runtimes tracked). They
   * are counts since each runtime started, so they are exposed as counters.
   */
  private registerSagaRuntimeMetrics(registers: Registry[]): void {
    const runtimes = this.sagaRuntimes;
    const sum = (key: keyof SagaRuntimeStats) =>
      runtimes.reduce((total, runtime) => total + runtime.status.stats[key], 0);
    const fromStats = <L extends string>(
      name: string,
      help: string,
      label: L,
      values: Readonly<Record<string, keyof SagaRuntimeStats>>,
    ) =>
      new Counter<L>({
        name,
        help,
        labelNames: [label],
        registers,
        collect() {
          this.reset();
          if (runtimes.length === 0) return;
          for (const [value, key] of Object.entries(values))
            this.inc({ [label]: value } as Partial<Record<L, string>>, sum(key));
        },
      });
    fromStats(
      'causeway_saga_events_total',
      'Saga events that did not simply advance an instance, by outcome: started an instance, for an unknown instance, a duplicate delivery, not expected in the step (out of order), or for an instance that had ended',
      'outcome',
      {
        started: 'started',
        unknown_instance: 'unmatched',
        duplicate: 'duplicates',
        out_of_order: 'outOfOrder',
        after_end: 'afterEnd',
      },
    );
    fromStats(
      'causeway_saga_timers_total',
      'Saga timers fired, and of those the ones ignored: for an ended instance, not expected in the step, or of an instance or saga that no longer exists',
      'outcome',
      {
        fired: 'timersFired',
        after_end: 'timersAfterEnd',
        unexpected: 'timersUnexpected',
        orphan: 'orphanTimers',
      },
    );
    fromStats(
      'causeway_saga_commands_total',
      'Saga outbox commands by outcome: sent (accepted), rejected by their handler, parked, dispatch tries that failed and are retried, and parked commands requeued by an operator',
      'outcome',
      {
        sent: 'commandsSent',
        rejected: 'commandsRejected',
        parked: 'commandsParked',
        retried: 'dispatchFailures',
        requeued: 'commandsRequeued',
      },
    );
    new Gauge({
      name: 'causeway_saga_outbox_commands',
      help: 'Saga outbox commands waiting: pending (the backlog to dispatch) and parked (waiting for an operator)',
      labelNames: ['status'],
      registers,
      async collect() {
        this.reset();
        if (runtimes.length === 0) return;
        const counts = await Promise.all(runtimes.map((r) => r.outboxCounts()));
        this.set(
          { status: 'pending' },
          counts.reduce((n, c) => n + c.pending, 0),
        );
        this.set(
          { status: 'parked' },
          counts.reduce((n, c) => n + c.parked, 0),
        );
      },
    });
  }

  /** The outbox relays' status, read when scraped, by relay name. */
  private registerRelayMetrics(registers: Registry[]): void {
    const relays = this.relays;
    const statusCounter = (
      name: string,
      help: string,
      key: 'published' | 'duplicates' | 'parked' | 'failures',
    ) =>
      new Counter({
        name,
        help,
        labelNames: ['relay'],
        registers,
        collect() {
          this.reset();
          for (const relay of relays) {
            const status = relay.status();
            this.inc({ relay: status.name }, status[key]);
          }
        },
      });
    statusCounter(
      'causeway_relay_published_total',
      'Events the outbox relay published and the broker acknowledged (duplicates included)',
      'published',
    );
    statusCounter(
      'causeway_relay_duplicates_total',
      'Of the published events, those the broker already had (a republish after a crash)',
      'duplicates',
    );
    statusCounter(
      'causeway_relay_parked_total',
      'Events the outbox relay parked because the broker can never take them',
      'parked',
    );
    statusCounter(
      'causeway_relay_failures_total',
      'Failed publishing rounds of the outbox relay (broker down)',
      'failures',
    );
    const snapshot = () => this.sharedSnapshot();
    for (const [name, help, value] of [
      [
        'causeway_relay_lag_events',
        'Positions of the store not yet published by the outbox relay',
        (c: RuntimeComponentStatus) => c.lag,
      ],
      [
        'causeway_relay_position',
        'Checkpoint of the outbox relay: every event up to it is acknowledged by the broker',
        (c: RuntimeComponentStatus) => c.position,
      ],
    ] as const) {
      new Gauge({
        name,
        help,
        labelNames: ['relay'],
        registers,
        async collect() {
          const { components } = await snapshot();
          this.reset();
          for (const c of components) {
            const v = value(c);
            if (c.kind === 'relay' && v !== null) this.set({ relay: c.name }, v);
          }
        },
      });
    }
    new Gauge({
      name: 'causeway_relay_up',
      help: '1 while the outbox relay is publishing, 0 while it waits (broker, store, lease) or is stopped',
      labelNames: ['relay'],
      registers,
      collect() {
        this.reset();
        for (const relay of relays) {
          const status = relay.status();
          this.set({ relay: status.name }, status.state === 'running' ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'causeway_relay_state',
      help: 'State of the outbox relay: 1 for the state it is in, 0 for the others',
      labelNames: ['relay', 'state'],
      registers,
      collect() {
        this.reset();
        for (const relay of relays) {
          const status = relay.status();
          for (const state of RELAY_STATES)
            this.set({ relay: status.name, state }, status.state === state ? 1 : 0);
        }
      },
    });
  }

  /** Reports the store's head position (and makes subscription lag computable). */
  trackHead(head: () => Promise<number>): this {
    this.head = head;
    return this;
  }

  /** Reports lag, position and parked events of a projector's projections. */
  trackProjections(projector: ProjectionStatusSource): this {
    this.runtime.add(projectorSource(projector));
    return this;
  }

  /**
   * Reports lag and parked events of a subscription known by its position only (its state
   * reads `unknown`). A running `Subscription` is better added with
   * `runtime.add(subscriptionSource(subscription))`, which reports its state too.
   */
  trackSubscription(source: LagSource): this {
    this.runtime.add({
      async readings() {
        return [
          {
            kind: 'subscription',
            name: source.name,
            state: 'unknown',
            position: await source.position(),
            parked: await source.parkedCount(),
          },
        ];
      },
    });
    return this;
  }

  /** Reports saga instances by saga and status. */
  trackSagas(query: SagaInstanceSource): this {
    this.sagas.push(query);
    return this;
  }

  /**
   * Reports a saga runtime's counters (events by outcome, timers, commands) and its outbox
   * backlog, read at scrape time. Several runtimes are summed.
   */
  trackSagaRuntime(runtime: SagaRuntimeSource): this {
    this.sagaRuntimes.push(runtime);
    return this;
  }

  /** Reports an outbox relay's published count, lag, position and state, read at scrape time. */
  trackRelay(relay: RelaySource): this {
    this.relays.push(relay);
    this.runtime.add(relaySource(relay));
    return this;
  }

  /**
   * The registry's snapshot for this scrape: the gauges collected together share one, so
   * every figure of a scrape is measured against the same head.
   */
  private sharedSnapshot(): Promise<RuntimeSnapshot> {
    if (this.scrape) return this.scrape;
    const scrape = this.runtime.snapshot();
    this.scrape = scrape;
    const clear = () => {
      if (this.scrape === scrape) this.scrape = undefined;
    };
    scrape.then(clear, clear);
    return scrape;
  }

  /** Records one append call: its duration, its result and how many events it wrote. */
  observeAppend(seconds: number, result: string, events: number): void {
    this.appends.inc({ result });
    this.appendDuration.observe({ result }, seconds);
    if (result === 'ok') this.eventsAppended.inc(events);
  }
}
