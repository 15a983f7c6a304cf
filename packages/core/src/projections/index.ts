/** Projections: read models kept inline or by subscriptions, rebuilds, status, read-your-writes. */
export {
  MAX_PROJECTION_NAME_LENGTH,
  MAX_PROJECTION_VERSION,
  MAX_TABLE_NAME_LENGTH,
  buildNamespace,
  buildSubscriptionName,
  buildTableName,
  defineProjection,
} from './projection.js';
export type {
  ApplyBatchContext,
  ApplyContext,
  ProjectionBuild,
  ProjectionDefinition,
  ProjectionMode,
} from './projection.js';
export { Projector } from './projector.js';
export type { ProjectorOptions, QueryOptions } from './projector.js';
export type { ProjectionSubscriptionOptions } from './projection-runtime.js';
export {
  ProjectionPartitionErrorCode,
  ProjectionPartitionedRebuildError,
  assertProjectionPartitionOptions,
} from './projection-partitions.js';
export type { ProjectionPartitionOptions } from './projection-partitions.js';
export { InlineProjections } from './inline-projections.js';
export type {
  ProjectionLag,
  ProjectionPartitionStatus,
  ProjectionState,
  ProjectionStatus,
  QueryResult,
  RebuildStatus,
} from './projection-status.js';
export type {
  AppendedEvents,
  BindOptions,
  BuildStatus,
  ProjectionRecord,
  ProjectionStore,
} from './projection-store.js';
export type { DocumentCollection, DocumentReadModel } from './document-read-model.js';
export {
  DEFAULT_DOCUMENT_PAGE_SIZE,
  DOCUMENT_ID_FIELD,
  MAX_DOCUMENT_ID_LENGTH,
  MAX_DOCUMENT_INDEXES,
  MAX_DOCUMENT_PAGE_SIZE,
  MAX_INDEXED_STRING_BYTES,
} from './documents.js';
export type {
  DocumentEntry,
  DocumentFieldCondition,
  DocumentOrder,
  DocumentPage,
  DocumentPatch,
  DocumentQuery,
  DocumentScalar,
  DocumentSortDirection,
  DocumentWhere,
  Documents,
  DocumentsHandle,
  DocumentsOptions,
} from './documents.js';
export { mergePatch } from './merge-patch.js';
export {
  DocumentErrorCode,
  DocumentsReadOnlyError,
  InvalidDocumentCursorError,
  InvalidDocumentError,
  InvalidDocumentIdError,
  InvalidDocumentQueryError,
  UnindexedFieldError,
} from './document-errors.js';
export { memoryProjectionStore } from './memory-projection-store.js';
export {
  DuplicateProjectionError,
  ProjectionApplyError,
  ProjectionErrorCode,
  ProjectionModeConflictError,
  ProjectionNotReadyError,
  ProjectionOutdatedError,
  ProjectionSetupError,
  ProjectionStoppedError,
  ProjectionWaitTimeoutError,
  UnknownProjectionError,
} from './projection-errors.js';
