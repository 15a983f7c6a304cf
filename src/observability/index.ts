/** Observability: OpenTelemetry spans, Prometheus metrics and pino logging. */
export {
  SpanKind,
  TRACER_NAME,
  currentTraceparent,
  formatTraceparent,
  inSpan,
  parseTraceparent,
  withSpan,
} from './tracing.js';
export type { SpanOptions } from './tracing.js';
export { CausewayMetrics } from './metrics.js';
export type {
  CausewayMetricsOptions,
  LagSource,
  ProjectionStatusReading,
  ProjectionStatusSource,
  RelaySource,
  RelayState,
  RelayStatusReading,
  SagaInstanceSource,
  SagaInstanceStatus,
  SagaRuntimeSource,
  SagaRuntimeStats,
} from './metrics.js';
export { instrumentEventStore, tracedEventStore } from './instrument-event-store.js';
export type { InstrumentOptions } from './instrument-event-store.js';
export { REDACTED_LOG_PATHS, createLogger, eventLogFields } from './logging.js';
export type { CreateLoggerOptions, EventLogFields } from './logging.js';
