/**
 * Causeway: event sourcing, CQRS and event streaming for TypeScript.
 *
 * This entry point holds the core and the in-memory store. Drivers live behind
 * `@causewayjs/sqlite` and `@causewayjs/postgres`, and load only when used.
 * @packageDocumentation
 * @module @causewayjs/core
 */
export {
  CausewayError,
  DuplicateEventIdError,
  EmptyAppendError,
  ErrorCode,
  EventDecodeError,
  EventTooLargeError,
  InvalidArgumentError,
  InvalidEventError,
  InvalidStreamNameError,
  NotJsonError,
  SchemaTooNewError,
  StorageFullError,
  StoreBusyError,
  StoreClosedError,
  StoreUnavailableError,
  StreamDeletedError,
  StreamNotFoundError,
  UnsupportedStoreUrlError,
  AdapterNotInstalledError,
  WriteRejectedError,
  WrongExpectedRevisionError,
} from './core/errors.js';
export type {
  CausewayErrorCode,
  CausewayErrorCodes,
  EventDecodeFailure,
  ExpectedRevisionValue,
} from './core/errors.js';
export type {
  EventInput,
  EventMetadata,
  RecordedEvent,
  ReservedMetadataKey,
} from './core/envelope.js';
export { RESERVED_METADATA_KEYS } from './core/envelope.js';
export { newId, isUuid } from './core/ids.js';
export { encodeJson, decodeJson } from './core/json-codec.js';
export { ManualClock, systemClock } from './core/clock.js';
export type { Clock } from './core/clock.js';
export type {
  AppendOptions,
  AppendRequest,
  AppendResult,
  DeleteStreamOptions,
  EventStore,
  EventStoreOptions,
  ExpectedRevision,
  ListStreamsOptions,
  StreamSummary,
  ReadAllFilter,
  StreamPartition,
  ReadAllOptions,
  ReadStreamOptions,
  StreamInfo,
  StreamMetadata,
  CommitListener,
  StoreTransaction,
  TransactionalEventStore,
} from './store/event-store.js';
export { MemoryEventStore } from './store/memory-event-store.js';
export { collect } from './store/collect.js';
export {
  DEFAULT_MAX_EVENT_BYTES,
  MAX_STREAM_NAME_LENGTH,
  MAX_EVENT_TYPE_LENGTH,
} from './store/validation.js';
export { openEventStore } from './open-event-store.js';
export type { OpenEventStoreOptions } from './open-event-store.js';
export { openBackend, backendAdapters, adapterFor } from './open-backend.js';
export type { BackendKind, RegisteredAdapter } from './open-backend.js';
export type { Backend, BackendAdapter, OpenBackendOptions } from './store/backend.js';
export { createBackend } from './store/adapter-backend.js';
export type { BackendPorts, CreateBackendOptions } from './store/adapter-backend.js';
export { openMemoryBackend, memoryBackendAdapter } from './memory-backend.js';
export type { MemoryBackend } from './memory-backend.js';
export { ForwardingEventStore, withAppends, undecorated } from './store/forwarding-event-store.js';
export type { AppendTarget } from './store/forwarding-event-store.js';
export { withMembers } from './store/with-members.js';
export {
  DEFAULT_SCAVENGE_BATCH_SIZE,
  MAX_SCAVENGE_BATCH_SIZE,
  ScavengeErrorCode,
  ScavengeRunningError,
  ScavengeUnsupportedError,
  hiddenEvents,
  isScavengeable,
} from './store/scavenge.js';
export type {
  HiddenEvents,
  ScavengeOptions,
  ScavengeProgress,
  ScavengeReport,
  Scavengeable,
} from './store/scavenge.js';
export { storeStack, stackBackend } from './store-stack.js';
export type { StoreLayers, BackendLayers } from './store-stack.js';
// Curated per module in each module's index.ts.
export * from './domain/index.js';
export * from './schema/index.js';
export * from './subscriptions/index.js';
export * from './projections/index.js';
export * from './security/index.js';
export * from './sagas/index.js';
export * from './streams/index.js';
export * from './bus/index.js';
export * from './federation/index.js';
