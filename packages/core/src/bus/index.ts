/** The message bus: port, in-process adapter, subjects, outbox relay, inbox consumers. */
export type {
  BusDeliveryContext,
  BusFilter,
  BusHandler,
  BusStart,
  BusSubscribeOptions,
  BusSubscription,
  BusSubscriptionStatus,
  BusTransform,
  MessageBus,
  ParkedRetryResult,
  PublishReceipt,
  BusLogTail,
  PublishOptions,
} from './message-bus.js';
export { BusPublishErrorCode, BusSequenceMismatchError } from './message-bus.js';
export { InProcessBus } from './in-process-bus.js';
export type { InProcessBusOptions } from './in-process-bus.js';
export {
  DEFAULT_MAX_DELIVERIES,
  decodeBusMessage,
  encodeBusMessage,
  resolveBusSubscribeOptions,
} from './bus-delivery.js';
export type { ResolvedBusSubscribeOptions } from './bus-delivery.js';
export {
  DEFAULT_SUBJECT_PREFIX,
  assertSubjectPattern,
  assertSubjectPrefix,
  matchSubject,
  relativeSubject,
  streamCategory,
  subjectFor,
  subjectToken,
} from './subject.js';
export {
  BusClosedError,
  BusErrorCode,
  BusUnavailableError,
  CommandTimeoutError,
  GroupAlreadySubscribedError,
  InvalidCommandReplyError,
  InvalidSubjectPatternError,
  InvalidSubjectPrefixError,
  MessageTooLargeError,
  NoCommandResponderError,
} from './bus-errors.js';
export { OutboxRelay } from './outbox-relay.js';
export type {
  OutboxRelayOptions,
  OutboxRelayState,
  OutboxRelayStatus,
  OutboxTarget,
  RelayParkedRetryResult,
} from './outbox-relay.js';
export { inboxHandler } from './inbox-handler.js';
