/**
 * `@causewayjs/server`: the HTTP server (JSON API, server-sent events, CloudEvents ingest,
 * metrics, admin UI), also as a fastify plugin and a web `fetch` handler.
 * @packageDocumentation
 * @module @causewayjs/server
 */
export {
  causewayFastifyOptions,
  createServer,
  DEFAULT_BODY_LIMIT,
  isLoopback,
} from './create-server.js';
export type { CausewayServer, ServerAddress } from './create-server.js';
export { causeway } from './causeway-plugin.js';
export type { CausewayPluginOptions } from './causeway-plugin.js';
export { createFetchHandler } from './fetch-handler.js';
export type { CausewayFetchHandler, FetchHandlerOptions } from './fetch-handler.js';
export { DEFAULT_HSTS_MAX_AGE_SECONDS, hstsHeader } from './hsts.js';
export type { HstsOptions } from './hsts.js';
export { parkedSubscription } from './server-options.js';
export type {
  AggregateFold,
  ServerOptions,
  ServerProjector,
  ServerSubscription,
  TlsOptions,
} from './server-options.js';
export {
  AccessDeniedError,
  HttpError,
  InsecureListenError,
  InvalidCloudEventError,
  InvalidRequestError,
  NotConfiguredError,
  NotFoundError,
  NotReadyError,
  ServerErrorCode,
} from './server-errors.js';
export { errorResponse, PROBLEM_JSON, problemDetails } from './error-response.js';
export type {
  ErrorBody,
  ErrorResponse,
  ErrorResponseOptions,
  ProblemDetails,
} from './error-response.js';
export {
  CLOUDEVENT_ID_NAMESPACE,
  CLOUDEVENTS_BATCH_JSON,
  CLOUDEVENTS_JSON,
  STREAM_EXTENSION,
  binaryCloudEvent,
  mapCloudEvent,
} from './cloud-events.js';
export type { MappedCloudEvent } from './cloud-events.js';
export {
  acceptedCloudEvents,
  DEFAULT_CLOUDEVENT_SOURCE,
  toCloudEvent,
} from './cloud-events-out.js';
export type { ToCloudEventOptions } from './cloud-events-out.js';
export { eventJson } from './event-json.js';
export type { EventJson } from './event-json.js';
export { openApiDocument } from './openapi.js';
export type { OpenApiDocument, OpenApiOptions } from './openapi.js';
export { ADMIN_RESOURCE } from './route-context.js';
export { streamParam } from './stream-param.js';
export {
  CAUSEWAY_VERSION,
  CausewayMetrics,
  RuntimeRegistry,
  checkpointSource,
  consumerGroupSource,
  createLogger,
  currentTraceContext,
  currentTraceparent,
  eventLogFields,
  extractTraceContext,
  instrumentEventStore,
  isInstrumented,
  projectorSource,
  relaySource,
  sagaRuntimeSource,
  streamJobSource,
  subscriptionSource,
  traceLogMixin,
  tracedEventStore,
  withSpan,
} from '@causewayjs/core/internals';
export type {
  CausewayMetricsOptions,
  CreateLoggerOptions,
  RuntimeComponentStatus,
  RuntimeReading,
  RuntimeSnapshot,
  RuntimeSource,
  TraceCarrier,
  TraceContextFields,
} from '@causewayjs/core/internals';
