/** Process managers (sagas), durable timers, choreography, the command outbox and dispatch. */
export type {
  SagaHistoryEntry,
  SagaInstanceView,
  SagaQuery,
  SagaStatus,
  SagaTimerView,
} from './saga-view.js';
export type {
  EmittedEvent,
  EventOfType,
  FiredTimer,
  OutgoingCommand,
  SagaContext,
  SagaDefinition,
  SagaEvent,
  SagaReaction,
  SagaStep,
  ScheduledMessage,
} from './saga-definition.js';
export { defineSaga, sagaEventTypes, schedule } from './saga-definition.js';
export type { ChoreographyDefinition } from './choreography.js';
export { defineChoreography } from './choreography.js';
export {
  CommandHandlerExistsError,
  InvalidCommandEnvelopeError,
  InvalidSagaDefinitionError,
  InvalidSagaReactionError,
  NoCommandHandlerError,
  ParkedCommandNotFoundError,
  ParkedCommandNotRetryableError,
  SagaErrorCode,
  SagaIdleTimeoutError,
  SagaRuntimeStateError,
} from './saga-errors.js';
export type {
  CommandSettlement,
  ListCommandsOptions,
  NewOutboxEntry,
  OutboxEntry,
  OutboxStatus,
  OutboxUpdate,
  SagaInstanceRecord,
  SagaStore,
  SagaTimerRecord,
} from './saga-store.js';
export { DEFAULT_SAGA_LIST_LIMIT, MAX_SAGA_LIST_LIMIT } from './saga-store.js';
export {
  assertSagaKey,
  assertTimer,
  resolveListInstances,
  toInstanceView,
} from './saga-records.js';
export type { ResolvedListInstances } from './saga-records.js';
export { MemorySagaStore } from './memory-saga-store.js';
export { SagaEngine } from './saga-engine.js';
export type { CommandOutcome, SagaEngineStats } from './saga-engine.js';
export { SagaRuntime } from './saga-runtime.js';
export { sagaPartitionKey, sagaPartitionOf } from './saga-partitions.js';
export type { SagaPartitionOptions } from './saga-partitions.js';
export { ParkedSagaCommands } from './parked-commands.js';
export type {
  ListParkedCommandsOptions,
  ParkedCommandResult,
  ParkedSagaCommandsOptions,
  SagaCommandAdmin,
} from './parked-commands.js';
export type {
  OutboxOptions,
  SagaOutboxCounts,
  SagaRuntimeOptions,
  SagaRuntimeStatus,
  SagaGroupStatus,
  SagaParkedEventCounts,
  TimerOptions,
} from './saga-runtime.js';
export { InProcessCommandDispatcher, checkEnvelope } from './in-process-command-dispatcher.js';
export type { CommandEnvelopeHandler } from './in-process-command-dispatcher.js';
export { deciderCommandHandler } from './decider-command-handler.js';
export type { DeciderCommandHandlerOptions } from './decider-command-handler.js';
export { idempotentDecider } from './idempotent-decider.js';
export type { IdempotentState } from './idempotent-decider.js';
export { CAUSEWAY_ID_NAMESPACE, deterministicId } from './deterministic-id.js';
// The dispatch port lives with the domain; re-exported here, where its users are.
export type {
  CommandDispatcher,
  CommandEnvelope,
  CommandReply,
} from '../domain/command-dispatcher.js';
export { SagaSpecificationError, sagaSpecification } from './saga-specification.js';
export type {
  SagaExpectation,
  SagaStimulus,
  SagaThen,
  SagaWhen,
  SentCommand,
  SpecEvent,
} from './saga-specification.js';
