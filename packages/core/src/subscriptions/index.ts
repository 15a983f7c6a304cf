/** Subscriptions: catch-up and live delivery, checkpoints, retries, parking, leases, inbox. */
export { Subscription } from './subscription.js';
export type { FailingEvent, SubscriptionState, SubscriptionStatus } from './subscription.js';
export { SUBSCRIPTION_RETRY_DEFAULTS } from './subscription-options.js';
export type {
  SubscriptionCatchUpOptions,
  SubscriptionLeaseOptions,
  SubscriptionLogger,
  SubscriptionOptions,
  SubscriptionStart,
  WakeGate,
} from './subscription-options.js';
export { ack, nack, toHandlerResult } from './event-handler.js';
export type {
  BatchHandler,
  BatchHandlerContext,
  EventHandler,
  HandlerContext,
  HandlerResult,
} from './event-handler.js';
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
export type { Lease, LeaseAcquisition, LeaseClaim, LeaseStore } from './lease-store.js';
export type { InboxStore } from './inbox-store.js';
export { withInbox } from './with-inbox.js';
export type { SubscriptionStorage } from './subscription-storage.js';
export { MemoryCheckpointStore } from './memory-checkpoint-store.js';
export { MemoryParkedEventStore } from './memory-parked-event-store.js';
export { MemoryLeaseStore } from './memory-lease-store.js';
export { MemoryInboxStore } from './memory-inbox-store.js';
export { memorySubscriptionStorage } from './memory-subscription-storage.js';
export { MAX_SUBSCRIPTION_NAME_LENGTH } from './validation.js';
export { ConsumerGroup } from './consumer-group.js';
export type {
  ConsumerGroupState,
  ConsumerGroupStatus,
  GroupPartitionStatus,
} from './consumer-group.js';
export type { ConsumerGroupOptions } from './consumer-group-options.js';
export {
  ConsumerGroupErrorCode,
  MemberIdInUseError,
  PartitionCountMismatchError,
} from './consumer-group-errors.js';
export { MAX_PARTITIONS, fnv1a32, partitionOf } from '../store/partition.js';
export { assignPartitions } from './partition-assignment.js';
export { MAX_GROUP_NAME_LENGTH, MAX_MEMBER_ID_LENGTH } from './group-membership-store.js';
export type {
  GroupDefinition,
  GroupMember,
  GroupMembershipStore,
  HeartbeatResult,
  StoredGroupDefinition,
} from './group-membership-store.js';
export { MemoryGroupMembershipStore } from './memory-group-membership-store.js';
