/** Deciders, command handling, snapshots and specifications (the write side). */
export type { Command, CommandMetadata, NormalisedCommand } from './command.js';
export { normaliseCommand } from './command.js';
export type { Decider, DomainEvent, CommandOf, EventOf, StateOf } from './decider.js';
export { fold, initialStateOf } from './decider.js';
export {
  DomainErrorCode,
  InvalidCommandError,
  InvalidDecisionError,
  InvalidSnapshotError,
  SnapshotsNotConfiguredError,
  UnknownCommandError,
} from './domain-errors.js';
export type { BackoffOptions } from '../core/backoff.js';
export type {
  AppendedEvent,
  CommandHandlerOptions,
  CommandResult,
  LoadedState,
  SnapshotOptions,
} from './command-handler.js';
export { CommandHandler, handleCommand } from './command-handler.js';
export type {
  DeciderGiven,
  DeciderThen,
  DeciderWhen,
  ErrorExpectation,
} from './decider-specification.js';
export { DeciderSpecificationError, deciderSpecification } from './decider-specification.js';
export type { PreparedSnapshot, Snapshot, SnapshotStore } from './snapshot-store.js';
export type { ForgottenSubjects } from './forgotten-subjects.js';
export { prepareSnapshot } from './snapshot-store.js';
export { MemorySnapshotStore } from './memory-snapshot-store.js';
export type { SnapshotDecisionInput, SnapshotPolicy } from './snapshot-policy.js';
export { everyNEvents, explicitSnapshots } from './snapshot-policy.js';
export type { LogPoint, StateAt, StreamPoint } from './time-travel.js';
export { readAllUntil, stateAt } from './time-travel.js';
