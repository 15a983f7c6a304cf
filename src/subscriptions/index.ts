/** Subscriptions: catch-up and live delivery, checkpoints, retries, parking, leases, inbox. */
export { Subscription } from './subscription.js';
export type { FailingEvent, SubscriptionState, SubscriptionStatus } from './subscription.js';
export { SUBSCRIPTION_RETRY_DEFAULTS } from './subscription-options.js';
export type {
  SubscriptionLeaseOptions,
  SubscriptionLogger,
  SubscriptionOptions,
  SubscriptionStart,
} from './subscription-options.js';
export { ack, nack, toHandlerResult } from './event-handler.js';
export type { EventHandler, HandlerContext, HandlerResult } from './event-handler.js';
export {
  CheckpointAheadError,
  HandlerCommitFailedError,
  HandlerTimeoutError,
  InvalidHandlerResultError,
  LeaseLostError,
  NonErrorThrownError,
  ParkedEventMissingError,
  SubscriptionErrorCode,
  SubscriptionLeasedError,
  SubscriptionStoppedByHandlerError,
  WaitTimeoutError,
} from './subscription-errors.js';
export type { Checkpoint, CheckpointStore } from './checkpoint-store.js';
export {
  DEFAULT_PARKED_LIST_LIMIT,
  prepareParkEntry,
  resolveListOptions,
} from './parked-event-store.js';
export type {
  ListParkedOptions,
  ParkEntry,
  ParkReason,
  ParkedError,
  ParkedEvent,
  ParkedEventStore,
  ParkedSelection,
  PreparedParkEntry,
} from './parked-event-store.js';
export type { Lease, LeaseAcquisition, LeaseStore } from './lease-store.js';
export type { InboxStore } from './inbox-store.js';
export { withInbox } from './with-inbox.js';
export type { SubscriptionStorage } from './subscription-storage.js';
export { MemoryCheckpointStore } from './memory-checkpoint-store.js';
export { MemoryParkedEventStore } from './memory-parked-event-store.js';
export { MemoryLeaseStore } from './memory-lease-store.js';
export { MemoryInboxStore } from './memory-inbox-store.js';
export { memorySubscriptionStorage } from './memory-subscription-storage.js';
export { MAX_SUBSCRIPTION_NAME_LENGTH } from './validation.js';
