import type { EventInput } from '../core/envelope.js';
import type { AppendRequest, AppendResult, EventStore } from '../store/event-store.js';
import type { CausewayMetrics } from './metrics.js';
import { SpanKind, currentTraceparent, withSpan } from './tracing.js';

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

const INSTRUMENTED = Symbol('causeway.instrumented');

/**
 * The same store, with its appends (`append`, `appendMany`) traced and measured. Every other
 * member (reads, `transaction`, `watch`, `listStreams`, `close`...) is the store's own, bound
 * to it, so adapter-specific members keep working.
 *
 * Each append runs in a `causeway.store.append` span (a child of the active one, e.g. the
 * HTTP request's or the command's), and events without a `traceparent` get the span's: what
 * they cause later (projections, sagas, consumers) joins the same trace.
 *
 * @example
 * ```ts
 * const store = instrumentEventStore(SqliteEventStore.open('./data/events.db'), { metrics });
 * ```
 */
export function instrumentEventStore<S extends EventStore>(
  store: S,
  options: InstrumentOptions = {},
): S {
  const instrumented = (store as unknown as Record<symbol, unknown>)[INSTRUMENTED] === true;
  const { metrics } = options;
  if (instrumented && metrics === undefined) return store;
  // An instrumented store already traces its appends: the outer layer only measures.
  const tracing = (options.tracing ?? true) && !instrumented;

  const measured = async <T>(events: number, write: () => Promise<T>): Promise<T> => {
    const started = process.hrtime.bigint();
    try {
      const result = await write();
      metrics?.observeAppend(elapsedSeconds(started), 'ok', events);
      return result;
    } catch (error) {
      metrics?.observeAppend(elapsedSeconds(started), errorCode(error), events);
      throw error;
    }
  };

  const append = (
    stream: string,
    events: readonly EventInput[],
    appendOptions?: Parameters<EventStore['append']>[2],
  ): Promise<AppendResult> => {
    const count = isArray<EventInput>(events) ? events.length : 0;
    if (!tracing) return measured(count, () => store.append(stream, events, appendOptions));
    return withSpan(
      'causeway.store.append',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'causeway.stream': String(stream), 'causeway.events': count },
      },
      async (span) => {
        const result = await measured(count, () =>
          store.append(stream, stampTrace(events), appendOptions),
        );
        span.setAttribute('causeway.position', result.position);
        return result;
      },
    );
  };

  const appendMany = (requests: readonly AppendRequest[]): Promise<AppendResult[]> => {
    // Malformed input is the store's to refuse; only well-formed requests are counted and stamped.
    const list: readonly AppendRequest[] = isArray<AppendRequest>(requests) ? requests : [];
    const count = list.reduce(
      (n, r) => n + (isArray<EventInput>(r?.events) ? r.events.length : 0),
      0,
    );
    if (!tracing) return measured(count, () => store.appendMany(requests));
    return withSpan(
      'causeway.store.append',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'causeway.streams': list.length, 'causeway.events': count },
      },
      () =>
        measured(count, () =>
          store.appendMany(
            list === requests
              ? list.map((r) =>
                  typeof r === 'object' && r !== null ? { ...r, events: stampTrace(r.events) } : r,
                )
              : requests,
          ),
        ),
    );
  };

  return new Proxy(store, {
    get(target, property) {
      if (property === INSTRUMENTED) return true;
      if (property === 'append') return append;
      if (property === 'appendMany') return appendMany;
      const value: unknown = Reflect.get(target, property, target);
      // Bound to the store itself: its private fields are not reachable through the proxy.
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

/**
 * {@link instrumentEventStore} with tracing only: appends in `causeway.store.append` spans,
 * their events stamped with the trace context.
 */
export function tracedEventStore<S extends EventStore>(store: S): S {
  return instrumentEventStore(store, { tracing: true });
}

/** The events, each with the active span's `traceparent` in its metadata unless it has one. */
function stampTrace(events: readonly EventInput[]): readonly EventInput[] {
  const traceparent = currentTraceparent();
  if (traceparent === undefined || !isArray<EventInput>(events)) return events;
  return events.map((event: EventInput): EventInput => {
    if (typeof event !== 'object' || event === null) return event;
    const metadata: unknown = event.metadata;
    if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null)) return event;
    const given = metadata as EventInput['metadata'];
    if (given?.traceparent !== undefined) return event;
    return { ...event, metadata: { ...given, traceparent } };
  });
}

/** `Array.isArray` without widening to `any[]`. */
function isArray<T>(value: unknown): value is readonly T[] {
  return Array.isArray(value);
}

function elapsedSeconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}
