import type { EventInput } from '../core/envelope.js';
import type {
  AppendOptions,
  AppendRequest,
  AppendResult,
  StoreTransaction,
  TransactionalEventStore,
} from '../store/event-store.js';
import {
  ForwardingEventStore,
  attempt,
  type AppendTarget,
} from '../store/forwarding-event-store.js';
import type { CausewayMetrics } from './metrics.js';
import { SpanKind, currentTraceContext, withSpan } from './tracing.js';

/** Options of {@link instrumentEventStore}. */
export interface InstrumentOptions {
  /** Records append counts and latency here. */
  metrics?: CausewayMetrics | undefined;
  /**
   * Wraps appends in `causeway.store.append` spans and stamps the span's `traceparent` into
   * the metadata of events that carry none. Default true.
   */
  tracing?: boolean;
}

/**
 * The same store, with its appends (`append`, `appendMany`, and `tx.append`/`tx.appendMany`
 * inside its transactions) traced and measured. Every other member is forwarded.
 *
 * Given a store that already has an instrumented layer (a stack made with `tracing`), it adds
 * `metrics` to that layer and returns the store as it is: every append made through the stack,
 * by any component (commands, sagas, subscriptions, HTTP), is then counted in `metrics`, once.
 * An append inside a transaction is counted when the transaction commits (never if it rolls
 * back).
 *
 * Each append runs in a `causeway.store.append` span (a child of the active one, e.g. the
 * HTTP request's or the command's), and events without a `traceparent` get the span's: what
 * they cause later (projections, sagas, consumers) joins the same trace.
 *
 * @example
 * ```ts
 * const store = instrumentEventStore(backend.store, { metrics });
 * ```
 */
export function instrumentEventStore<Tx extends StoreTransaction>(
  store: TransactionalEventStore<Tx>,
  options: InstrumentOptions = {},
): TransactionalEventStore<Tx> {
  const { metrics } = options;
  const layer = instrumentedLayer(store);
  if (layer) {
    // Measured where every path of the stack passes: one count per append, whoever made it.
    if (metrics) layer.sinks.add(metrics);
    return store;
  }
  return new InstrumentedEventStore(store, metrics, options.tracing ?? true);
}

/**
 * Adds `metrics` to the instrumented layer under `store` (see {@link instrumentEventStore}) and
 * returns the function that takes them off again (a no-op when they were on it already, so a
 * server never detaches metrics someone else attached); `undefined` when `store` has no such
 * layer. A server attaches its metrics this way and detaches them when it closes.
 */
export function attachAppendMetrics(
  store: TransactionalEventStore,
  metrics: CausewayMetrics,
): (() => void) | undefined {
  const layer = instrumentedLayer(store);
  if (!layer) return undefined;
  if (layer.sinks.has(metrics)) return () => undefined;
  layer.sinks.add(metrics);
  return () => {
    layer.sinks.delete(metrics);
  };
}

/** Whether `store`, or a layer under it, measures appends (see {@link instrumentEventStore}). */
export function isInstrumented(store: TransactionalEventStore): boolean {
  return instrumentedLayer(store) !== undefined;
}

function instrumentedLayer<Tx extends StoreTransaction>(
  store: TransactionalEventStore<Tx>,
): InstrumentedEventStore<Tx> | undefined {
  let layer: unknown = store;
  while (layer instanceof ForwardingEventStore) {
    if (layer instanceof InstrumentedEventStore) return layer as InstrumentedEventStore<Tx>;
    layer = layer.inner;
  }
  return undefined;
}

/** The store returned by {@link instrumentEventStore}. */
class InstrumentedEventStore<Tx extends StoreTransaction> extends ForwardingEventStore<Tx> {
  /** Where appends are counted: every metrics instance attached to this layer. */
  readonly sinks = new Set<CausewayMetrics>();

  constructor(
    inner: TransactionalEventStore<Tx>,
    metrics: CausewayMetrics | undefined,
    private readonly tracing: boolean,
  ) {
    super(inner);
    if (metrics) this.sinks.add(metrics);
  }

  protected override writeAppend(
    to: AppendTarget,
    stream: string,
    events: readonly EventInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    const count = isArray<EventInput>(events) ? events.length : 0;
    if (!this.tracing) return this.measured(to, count, () => to.append(stream, events, options));
    return withSpan(
      'causeway.store.append',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'causeway.stream': String(stream), 'causeway.events': count },
      },
      async (span) => {
        const result = await this.measured(to, count, () =>
          to.append(stream, stampTrace(events), options),
        );
        span.setAttribute('causeway.position', result.position);
        return result;
      },
    );
  }

  protected override writeAppendMany(
    to: AppendTarget,
    requests: readonly AppendRequest[],
  ): Promise<AppendResult[]> {
    // Malformed input is the store's to refuse; only well-formed requests are counted and stamped.
    const list: readonly AppendRequest[] = isArray<AppendRequest>(requests) ? requests : [];
    const count = list.reduce(
      (n, r) => n + (isArray<EventInput>(r?.events) ? r.events.length : 0),
      0,
    );
    if (!this.tracing) return this.measured(to, count, () => to.appendMany(requests));
    return withSpan(
      'causeway.store.append',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'causeway.streams': list.length, 'causeway.events': count },
      },
      () =>
        this.measured(to, count, () =>
          to.appendMany(
            list === requests
              ? list.map((r) =>
                  typeof r === 'object' && r !== null ? { ...r, events: stampTrace(r.events) } : r,
                )
              : requests,
          ),
        ),
    );
  }

  /** Runs `write`, counting and timing it in every sink (without a promise of its own). */
  private measured<T>(to: AppendTarget, events: number, write: () => Promise<T>): Promise<T> {
    if (this.sinks.size === 0) return attempt(write);
    const started = performance.now();
    const observe = (result: string) => {
      const seconds = (performance.now() - started) / 1000;
      for (const metrics of this.sinks) metrics.observeAppend(seconds, result, events);
    };
    return attempt(write).then(
      (result) => {
        // An append inside a transaction counts once the transaction commits: a rolled-back
        // one wrote nothing.
        if (to === this.inner) observe('ok');
        else (to as StoreTransaction).onCommit(() => observe('ok'));
        return result;
      },
      (error: unknown) => {
        observe(errorCode(error));
        throw error;
      },
    );
  }
}

/**
 * {@link instrumentEventStore} with tracing only: appends in `causeway.store.append` spans,
 * their events stamped with the trace context.
 */
export function tracedEventStore<Tx extends StoreTransaction>(
  store: TransactionalEventStore<Tx>,
): TransactionalEventStore<Tx> {
  return instrumentEventStore(store, { tracing: true });
}

/**
 * The events, each with the active trace context in its metadata (`traceparent`, `tracestate`,
 * `baggage`, as the active propagator writes them) unless it carries a `traceparent` already.
 */
function stampTrace(events: readonly EventInput[]): readonly EventInput[] {
  const trace = currentTraceContext();
  const fields = Object.keys(trace);
  if (fields.length === 0 || !isArray<EventInput>(events)) return events;
  return events.map((event: EventInput): EventInput => {
    if (typeof event !== 'object' || event === null) return event;
    const metadata: unknown = event.metadata;
    if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null)) return event;
    const given = metadata as EventInput['metadata'];
    // An event that carries its own context (a command's, a decider's) keeps it whole.
    if (given && fields.some((f) => given[f] !== undefined)) return event;
    return { ...event, metadata: { ...given, ...trace } };
  });
}

/** `Array.isArray` without widening to `any[]`. */
function isArray<T>(value: unknown): value is readonly T[] {
  return Array.isArray(value);
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}
