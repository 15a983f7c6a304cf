/** Observability: OpenTelemetry spans, Prometheus metrics and pino logging. */
export {
  SpanKind,
  TRACER_NAME,
  activePropagator,
  causewayTracer,
  currentTraceContext,
  currentTraceparent,
  extractTraceContext,
  formatTraceparent,
  inSpan,
  parseTraceparent,
  withSpan,
} from './tracing.js';
export type { SpanOptions, TraceCarrier, TraceContextFields } from './tracing.js';
export { messagingAttributes } from './messaging-attributes.js';
export type { MessagingSpan } from './messaging-attributes.js';
export { CAUSEWAY_VERSION } from './version.js';
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
export {
  attachAppendMetrics,
  instrumentEventStore,
  isInstrumented,
  tracedEventStore,
} from './instrument-event-store.js';
export { RuntimeRegistry } from './runtime-registry.js';
export type {
  RuntimeComponentKind,
  RuntimeComponentStatus,
  RuntimeReading,
  RuntimeSnapshot,
  RuntimeSource,
} from './runtime-registry.js';
export {
  checkpointSource,
  consumerGroupSource,
  projectorSource,
  relaySource,
  sagaRuntimeSource,
  streamJobSource,
  subscriptionSource,
} from './runtime-sources.js';
export type {
  CheckpointsReadable,
  ConsumerGroupReadable,
  ProjectorReadable,
  RelayReadable,
  SagaRuntimeReadable,
  StreamJobReadable,
  SubscriptionReadable,
} from './runtime-sources.js';
export type { InstrumentOptions } from './instrument-event-store.js';
export { REDACTED_LOG_PATHS, createLogger, eventLogFields, traceLogMixin } from './logging.js';
export type { CreateLoggerOptions, EventLogFields } from './logging.js';
