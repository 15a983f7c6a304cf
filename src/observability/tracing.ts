import {
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';

/** Name of the OpenTelemetry tracer (instrumentation scope) Causeway's spans belong to. */
export const TRACER_NAME = 'causeway';

/** Options of {@link withSpan}. */
export interface SpanOptions {
  attributes?: Attributes;
  kind?: SpanKind;
  /**
   * Parent given as a W3C `traceparent` (e.g. from an event's metadata). Without it the span
   * is a child of the active context, if any.
   */
  traceparent?: string | undefined;
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
  const [, version, traceId, spanId, flags] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
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
  return formatTraceparent(spanContext);
}

function parentContext(traceparent: string | undefined): Context {
  const remote = parseTraceparent(traceparent);
  return remote ? trace.setSpanContext(context.active(), remote) : context.active();
}

/**
 * Runs `work` inside a new span, ending it when the work settles and recording a thrown error
 * on it. With no OpenTelemetry SDK registered this costs next to nothing (the API's no-op
 * tracer).
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
  const tracer = trace.getTracer(TRACER_NAME);
  return tracer.startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} },
    parentContext(options.traceparent),
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
