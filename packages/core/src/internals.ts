/**
 * `@causewayjs/core/internals`: the pieces of this package that Causeway's other packages (and
 * its own tests) build on but that are not its public API. Nothing here is covered by semver:
 * any release may change it. Adapter authors find the supported building blocks in
 * `@causewayjs/testing` and the public entry point.
 * @packageDocumentation
 */
export {
  busSubscription,
  deliverBusMessage,
  newCounters,
  retryParkedMessages,
  type BusCounters,
} from './bus/bus-delivery.js';
export { publishWithRetry, resolvePublishRetry } from './bus/bus-publish.js';
export {
  BrokerCommandDispatcher,
  commandAnswerer,
  commandResponderSettings,
  type CommandRequest,
} from './bus/command-transport.js';
export {
  CommandResponderCode,
  DEFAULT_COMMAND_PREFIX,
  commandSubject,
  parseCommandReply,
  type CommandServeHandler,
} from './bus/command-wire.js';
export { backoffDelay, resolveBackoff, sleepFor, type ResolvedBackoff } from './core/backoff.js';
export { ClockTimer } from './core/clock-timer.js';
export { assertSnapshotSubject, assertStateVersion } from './domain/snapshot-store.js';
export {
  CAUSEWAY_VERSION,
  TRACER_NAME,
  consumerGroupSource,
  createLogger,
  eventLogFields,
  extractTraceContext,
  projectorSource,
  relaySource,
  sagaRuntimeSource,
  streamJobSource,
  subscriptionSource,
  tracedEventStore,
  type CausewayMetricsOptions,
  type CreateLoggerOptions,
  type RuntimeComponentStatus,
  type RuntimeReading,
  type RuntimeSnapshot,
  type RuntimeSource,
  type TraceContextFields,
} from './observability/index.js';
export {
  attachAppendMetrics,
  instrumentEventStore,
  isInstrumented,
} from './observability/instrument-event-store.js';
export { traceLogMixin } from './observability/logging.js';
export { messagingAttributes } from './observability/messaging-attributes.js';
export { CausewayMetrics, type LagSource } from './observability/metrics.js';
export { RuntimeRegistry } from './observability/runtime-registry.js';
export { checkpointSource } from './observability/runtime-sources.js';
export {
  SpanKind,
  carriedTraceContext,
  currentTraceContext,
  currentTraceparent,
  inSpan,
  parseTraceparent,
  type TraceCarrier,
  tracingActive,
  withSpan,
} from './observability/tracing.js';
export {
  checkDocumentId,
  checkDocumentIds,
  checkPatch,
  collectionSpec,
  encodeDocument,
  type CollectionSpec,
} from './projections/document-collection.js';
export {
  encodeCursor,
  parseDocumentQuery,
  parseWhere,
  type DocumentCondition,
  type DocumentCursor,
  type DocumentOrdering,
  type SortKey,
} from './projections/document-query.js';
export {
  DocumentWriteBuffer,
  TransactionWriteBuffers,
} from './projections/document-write-buffer.js';
export {
  belongsToBuild,
  isProjectionTable,
  projectionTablePrefix,
} from './projections/projection.js';
export {
  INSTANCE_COLUMNS,
  OUTBOX_COLUMNS,
  assertPageLimit,
  outboxEntryFromRow,
  sagaHistoryFromText,
  sagaHistoryText,
  sagaInstanceBody,
  sagaInstanceFromRow,
  sagaTimerFromRow,
  sagaViewFromRow,
  type SagaInstanceRow,
  type SagaInstanceViewRow,
  type SagaOutboxRow,
  type SagaTimerRow,
} from './sagas/saga-rows.js';
export { anchorPageSize, decodeAnchorRow } from './security/chain-anchor-store.js';
export { assertKey, assertSubject } from './security/memory-data-key-store.js';
export { ERASURE_EXCLUDED_COMPONENT_TABLES } from './security/subject-eraser.js';
export { tenantMetadataMatches } from './security/tenants.js';
export {
  Deleted,
  clientIds,
  deletedLabel,
  planAppends,
  planDelete,
  resolveOutcome,
  streamNames,
  type AppendPlan,
  type DeletePlan,
  type DeletedFlag,
  type PlannedOutcome,
  type PlannedRow,
  type StoredEventRef,
  type StreamState,
} from './store/append-plan.js';
export { type UnitResult } from './store/append-queue.js';
export { BaseEventStore, type StoredStream } from './store/base-event-store.js';
export { decodeEventRow, decodeEventRows } from './store/decode-event-row.js';
export { pendingMigrations, type Migration } from './store/migrations.js';
export {
  PAGE_SIZE,
  compareCodePoints,
  parseStreamMetadata,
  prefixUpperBound,
  type AllWindow,
  type StreamWindow,
  type StreamsQuery,
} from './store/reading.js';
export {
  countScavenged,
  newScavengeOutcome,
  type ScavengeBatchOutcome,
  type ScavengeBatchRequest,
} from './store/scavenge.js';
export { StagingTransaction } from './store/staging-transaction.js';
export { BaseStoreTransaction } from './store/store-transaction.js';
export { assertStreamName, type PreparedAppend, type PreparedEvent } from './store/validation.js';
export { WriteLock } from './store/write-lock.js';
export { assertOwner } from './streams/stream-state-store.js';
export {
  assertDefineArguments,
  assertGroupName,
  assertHeartbeatArguments,
  assertMemberId,
  assertNow,
} from './subscriptions/group-membership-store.js';
export { checkLeaseHolder, claimOwner, holdsLease } from './subscriptions/lease-store.js';
export {
  assertLeaseArguments,
  assertName,
  assertPosition,
  checkSelection,
} from './subscriptions/validation.js';
export { WakeSignal } from './subscriptions/wake-signal.js';
