import {
  INVALID_SPAN_CONTEXT,
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { CAUSEWAY_VERSION } from './version.js';

/** Name of the OpenTelemetry tracer (instrumentation scope) Causeway's spans belong to. */
export const TRACER_NAME = 'causeway';

/**
 * Where a trace context is carried: an event's metadata (`traceparent`, `tracestate`,
 * `baggage`), a broker message's headers, an HTTP request's headers. Read and written with
 * the OpenTelemetry propagation API; only string values are read.
 */
export type TraceCarrier = Readonly<Record<string, unknown>>;

/** The trace context fields a propagator wrote: `traceparent`, `tracestate`, `baggage` (W3C). */
export type TraceContextFields = Record<string, string>;

/** Options of {@link withSpan}. */
export interface SpanOptions {
  attributes?: Attributes;
  kind?: SpanKind;
  /**
   * Parent given as a W3C `traceparent` (e.g. from an event's metadata). Without it the span
   * is a child of the active context, if any.
   */
  traceparent?: string | undefined;
  /**
   * Where the parent's context is carried (an event's metadata, a message's headers),
   * extracted with the propagation API; it wins over `traceparent`. A carrier without a trace
   * context leaves the span a child of the active context, and so does one carrying the trace
   * the active span is already in (the active span descends from the carried one).
   */
  parent?: TraceCarrier | undefined;
}

/**
 * The W3C trace-context and baggage propagators, used when the host registered no global
 * propagator: Causeway never sets the global one, so a host's choice (B3, Jaeger...) is kept.
 */
const DEFAULT_PROPAGATOR: TextMapPropagator = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
});

/** The host's global propagator, or the W3C ones when it registered none (the API's no-op). */
export function activePropagator(): TextMapPropagator {
  // The API's no-op propagator writes no field: that is how "none registered" shows.
  return propagation.fields().length > 0 ? propagation : DEFAULT_PROPAGATOR;
}

const CARRIER_GETTER: TextMapGetter<TraceCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    const value = carrier[key] ?? carrier[key.toLowerCase()];
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
    return undefined;
  },
};

const FIELDS_SETTER: TextMapSetter<TraceContextFields> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/**
 * `base` (default: the active context) with the trace context and baggage carried by
 * `carrier`, read with the active propagator; `base` unchanged when it carries none.
 */
export function extractTraceContext(
  carrier: TraceCarrier | undefined,
  base: Context = context.active(),
): Context {
  if (carrier === undefined || carrier === null || typeof carrier !== 'object') return base;
  return activePropagator().extract(base, carrier, CARRIER_GETTER);
}

/**
 * The trace context of `ctx` (default: the active one) as carrier fields, written with the
 * active propagator: `{ traceparent, tracestate?, baggage? }` with the W3C ones. Empty when no
 * span is recording and no baggage is set. Events written now carry them in their metadata,
 * messages in their headers, so the work they cause joins the same trace.
 */
export function currentTraceContext(ctx: Context = context.active()): TraceContextFields {
  const fields: TraceContextFields = {};
  activePropagator().inject(ctx, fields, FIELDS_SETTER);
  return fields;
}

/**
 * `carried` when it holds a trace context the active propagator reads (a message's headers),
 * else `fallback` (the event's metadata): a consumer's span follows the publisher's span when
 * the broker carried it, the event's own context otherwise.
 */
export function carriedTraceContext(
  carried: TraceCarrier | undefined,
  fallback: TraceCarrier,
): TraceCarrier {
  if (!carried) return fallback;
  const fields = activePropagator().fields();
  return fields.some((f) => carried[f] !== undefined) ? carried : fallback;
}

/** Causeway's tracer: instrumentation scope `causeway`, at the package's version. */
export function causewayTracer(): Tracer {
  return trace.getTracer(TRACER_NAME, CAUSEWAY_VERSION);
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * Parses a W3C `traceparent` header value into a remote span context, or `undefined` when it
 * is missing or malformed (a bad value from outside never breaks the work it rides on).
 */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  if (value === undefined) return undefined;
  const match = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags] = match;
  if (version === undefined || traceId === undefined || spanId === undefined || !flags)
    return undefined;
  if (version === 'ff' || /^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
}

/** Formats a span context as a W3C `traceparent` value. */
export function formatTraceparent(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/**
 * The `traceparent` of the active span, to store in the metadata of events written now, so
 * the work they cause later (projections, sagas, consumers) joins the same trace. `undefined`
 * when no span is recording.
 */
export function currentTraceparent(): string | undefined {
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const spanContext = span.spanContext();
  if (!trace.isSpanContextValid(spanContext)) return undefined;
  return currentTraceContext().traceparent ?? formatTraceparent(spanContext);
}

function parentContext(options: SpanOptions): Context {
  if (options.parent !== undefined) {
    const carried = extractTraceContext(options.parent);
    // Already inside a span of the carried trace (a command handled under the bus span that
    // received it): nest under that span, which descends from the carried one.
    const active = trace.getSpanContext(context.active());
    const remote = trace.getSpanContext(carried);
    if (active && remote && active !== remote && active.traceId === remote.traceId)
      return context.active();
    return carried;
  }
  const remote = parseTraceparent(options.traceparent);
  return remote ? trace.setSpanContext(context.active(), remote) : context.active();
}

/**
 * Runs `work` inside a new span, ending it when the work settles and recording a thrown error
 * on it. With no OpenTelemetry SDK registered it makes no span at all: `work` gets a no-op span
 * and runs in the parent's context when one is carried (so what it sends carries that trace
 * context), else in the active one.
 *
 * @example
 * ```ts
 * await withSpan('causeway.append', { attributes: { 'causeway.stream': stream } }, () =>
 *   store.append(stream, events),
 * );
 * ```
 */
export function withSpan<T>(
  name: string,
  options: SpanOptions,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  // With no SDK registered every span is a no-op: make none (this runs per saga step and per
  // dispatched command). The parent context is still made active when one is carried, so the
  // trace context reaches what `work` sends, as it does through a no-op span.
  if (tracingDisabled()) {
    try {
      const parent = parentContext(options);
      return parent === context.active()
        ? work(NO_SPAN)
        : context.with(parent, work, null, NO_SPAN);
    } catch (error) {
      // As from the async callback of a span: a synchronous throw is a rejection, of the
      // value thrown.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      return Promise.reject(error);
    }
  }
  const tracer = causewayTracer();
  return tracer.startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} },
    parentContext(options),
    async (span) => {
      try {
        return await work(span);
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

export { SpanKind };

/**
 * Runs `work` inside a new span like {@link withSpan}, but without forcing it to be async: a
 * synchronous `work` runs and ends its span at once (so a hot, synchronous path such as a
 * projection's `apply` keeps running without a turn of the event loop), a promise-returning
 * one ends it when the promise settles. With no OpenTelemetry SDK registered it only calls
 * `work` (no span, no context switch), as it runs once per event on hot paths.
 */
export function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => T): T {
  // With no SDK registered every span is a no-op: skip making one (this runs per event).
  if (tracingDisabled()) return work(NO_SPAN);
  const tracer = causewayTracer();
  const parent = parentContext(options);
  const span = tracer.startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} },
    parent,
  );
  const fail = (error: unknown): never => {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
    span.end();
    throw error;
  };
  let result: T;
  try {
    result = context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    return fail(error);
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then((value) => {
      span.end();
      return value;
    }, fail) as T;
  }
  span.end();
  return result;
}

/** The API's own no-op provider, which a global provider delegates to until an SDK registers. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * False while no OpenTelemetry SDK is registered, when spans would record nothing: a hot path
 * can then skip building a span's options (its attributes) before calling {@link inSpan}.
 */
export function tracingActive(): boolean {
  return !tracingDisabled();
}

/** True while no OpenTelemetry SDK is registered: spans would record nothing. */
function tracingDisabled(): boolean {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_PROVIDER;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
