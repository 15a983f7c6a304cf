/**
 * What it takes to write a Causeway adapter or store decorator outside this repository
 * (`@causewayjs/testing`): the base classes every adapter builds on, the planning helpers they
 * share, and every conformance suite that proves an adapter (each declares vitest tests
 * against a harness; vitest is a peer dependency of this entry only).
 * @packageDocumentation
 * @module @causewayjs/testing
 */
export { BaseEventStore } from '@causewayjs/core/internals';
export type { StoredStream } from '@causewayjs/core/internals';
export { BaseStoreTransaction } from '@causewayjs/core/internals';
export { StagingTransaction } from '@causewayjs/core/internals';
export { WriteLock } from '@causewayjs/core/internals';
export {
  Deleted,
  deletedLabel,
  planAppends,
  planDelete,
  resolveOutcome,
  streamNames,
  clientIds,
} from '@causewayjs/core/internals';
export type {
  DeletedFlag,
  StreamState,
  StoredEventRef,
  PlannedRow,
  PlannedOutcome,
  AppendPlan,
  DeletePlan,
} from '@causewayjs/core/internals';
export type { UnitResult } from '@causewayjs/core/internals';
export type { PreparedAppend, PreparedEvent } from '@causewayjs/core/internals';
export {
  compareCodePoints,
  prefixUpperBound,
  parseStreamMetadata,
  PAGE_SIZE,
} from '@causewayjs/core/internals';
export type { AllWindow, StreamWindow, StreamsQuery } from '@causewayjs/core/internals';
export { ForwardingEventStore, withAppends, undecorated } from '@causewayjs/core';
export type { AppendTarget } from '@causewayjs/core';
export { createBackend } from '@causewayjs/core';
export type { BackendPorts, CreateBackendOptions } from '@causewayjs/core';

// The conformance suites: each declares vitest tests against a harness of the adapter.
export { describeEventStoreConformance } from './event-store.suite.js';
export type { EventStoreHarness, EventStoreSuiteOptions } from './event-store.suite.js';
export { describeSubscriptionConformance } from './subscription.suite.js';
export type { SubscriptionHarness, SubscriptionProcess, EffectSink } from './subscription.suite.js';
export { describeSubscriptionSeamsConformance } from './subscription-seams.suite.js';
export type { SeamsHarness } from './subscription-seams.suite.js';
export { describeConsumerGroupConformance } from './consumer-group.suite.js';
export type { GroupHarness, GroupProcess } from './consumer-group.suite.js';
export { describeProjectionConformance } from './projection.suite.js';
export type {
  ProjectionHarness,
  ProjectionProcess,
  Tally,
  TallyModel,
} from './projection.suite.js';
export { describeDocumentStoreConformance } from './document-store.suite.js';
export type { DocumentStoreHarness, DocumentStoreProcess } from './document-store.suite.js';
export { describeSagaStoreConformance } from './saga-store.suite.js';
export type { SagaStoreHarness, SagaStoreParts } from './saga-store.suite.js';
export { describeSnapshotStoreConformance } from './snapshot-store.suite.js';
export type { SnapshotStoreHarness, PreviousVersionRow } from './snapshot-store.suite.js';
export { describeSchemaStorageConformance } from './schema-storage.suite.js';
export type { SchemaStorageHarness } from './schema-storage.suite.js';
export { describeKeyStoreConformance } from './key-store.suite.js';
export type { KeyStoreHarness } from './key-store.suite.js';
export { describeStreamStateConformance } from './stream-state.suite.js';
export type { StreamStateHarness } from './stream-state.suite.js';
export { describeSubjectEraserConformance } from './subject-eraser.suite.js';
export type { SubjectEraserHarness } from './subject-eraser.suite.js';
export { describeMessageBusConformance, busEvent, eventually } from './message-bus.suite.js';
export type { MessageBusHarness } from './message-bus.suite.js';
export { conformanceTests } from './conformance-tests.js';
export type { ConformanceSkip, ConformanceTests } from './conformance-tests.js';
export { describeCommandsConformance } from './commands.suite.js';
export type { CommandsHarness, CommandsResponder } from './commands.suite.js';
