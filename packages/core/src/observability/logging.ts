import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { RecordedEvent } from '../core/envelope.js';

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Minimum level. Default `'info'`. */
  level?: LoggerOptions['level'];
  /** Name in every line (e.g. the service). Default `'causeway'`. */
  name?: string;
  /** Where lines go. Default: stdout. */
  destination?: DestinationStream;
}

/**
 * Paths pino blanks before a line is written: event payloads and credentials never reach a
 * log, even when a caller logs a whole event or request by mistake.
 */
export const REDACTED_LOG_PATHS: readonly string[] = [
  'data',
  '*.data',
  'event.data',
  'events[*].data',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
];

/**
 * A pino `mixin` adding the active span's `trace_id` and `span_id` (and `trace_flags`) to every
 * line logged inside it, so logs and traces join in the backend; nothing outside a span.
 *
 * @example
 * ```ts
 * const logger = pino({ mixin: traceLogMixin });
 * ```
 */
export function traceLogMixin(): { trace_id?: string; span_id?: string; trace_flags?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (!trace.isSpanContextValid(span.spanContext())) return {};
  return {
    trace_id: traceId,
    span_id: spanId,
    trace_flags: (traceFlags & 0xff).toString(16).padStart(2, '0'),
  };
}

/**
 * A pino logger set up the Causeway way: JSON lines, with event data and credentials redacted
 * (see `REDACTED_LOG_PATHS`), and the active span's `trace_id` and `span_id` on every
 * line logged inside one ({@link traceLogMixin}). Log events with {@link eventLogFields}, not whole.
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: 'debug' });
 * logger.info(eventLogFields(event), 'order placed');
 * ```
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const config: LoggerOptions = {
    name: options.name ?? 'causeway',
    level: options.level ?? 'info',
    redact: { paths: [...REDACTED_LOG_PATHS], censor: '[redacted]' },
    mixin: traceLogMixin,
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

/** The fields of an event that may be logged: identity, place and correlation, never data. */
export interface EventLogFields {
  eventId: string;
  eventType: string;
  stream: string;
  position: number;
  correlationId?: string | undefined;
  causationId?: string | undefined;
}

/** What to log about an event: its id, type, stream, position and correlation ids, no data. */
export function eventLogFields(event: RecordedEvent): EventLogFields {
  return {
    eventId: event.id,
    eventType: event.type,
    stream: event.stream,
    position: event.position,
    correlationId: event.metadata.correlationId,
    causationId: event.metadata.causationId,
  };
}
