/**
 * What it takes to write a Causeway adapter or store decorator outside this repository
 * (`causeway/testing`): the base classes every adapter builds on, the planning helpers they
 * share, and every conformance suite that proves an adapter (each declares vitest tests
 * against a harness; vitest is a peer dependency of this entry only).
 * @packageDocumentation
 */
export { BaseEventStore } from '../store/base-event-store.js';
export type { StoredStream } from '../store/base-event-store.js';
export { BaseStoreTransaction } from '../store/store-transaction.js';
export { WriteLock } from '../store/write-lock.js';
export {
  Deleted,
  deletedLabel,
  planAppends,
  planDelete,
  resolveOutcome,
  streamNames,
  clientIds,
} from '../store/append-plan.js';
export type {
  DeletedFlag,
  StreamState,
  StoredEventRef,
  PlannedRow,
  PlannedOutcome,
  AppendPlan,
  DeletePlan,
} from '../store/append-plan.js';
export type { UnitResult } from '../store/append-queue.js';
export type { PreparedAppend, PreparedEvent } from '../store/validation.js';
export {
  compareCodePoints,
  prefixUpperBound,
  parseStreamMetadata,
  PAGE_SIZE,
} from '../store/reading.js';
export type { AllWindow, StreamWindow, StreamsQuery } from '../store/reading.js';
export { ForwardingEventStore, withAppends, undecorated } from '../store/forwarding-event-store.js';
export type { AppendTarget } from '../store/forwarding-event-store.js';
export { createBackend } from '../store/adapter-backend.js';
export type { BackendPorts, CreateBackendOptions } from '../store/adapter-backend.js';
