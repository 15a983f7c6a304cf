import { CausewayError } from '../core/errors.js';

/**
 * Stable error codes of the sagas module (process managers, timers, command outbox and
 * dispatch). A code never changes meaning once published.
 */
export const SagaErrorCode = {
  INVALID_SAGA_DEFINITION: 'INVALID_SAGA_DEFINITION',
  INVALID_SAGA_REACTION: 'INVALID_SAGA_REACTION',
  NO_COMMAND_HANDLER: 'NO_COMMAND_HANDLER',
  COMMAND_HANDLER_EXISTS: 'COMMAND_HANDLER_EXISTS',
  INVALID_COMMAND_ENVELOPE: 'INVALID_COMMAND_ENVELOPE',
  SAGA_RUNTIME_STATE: 'SAGA_RUNTIME_STATE',
  SAGA_IDLE_TIMEOUT: 'SAGA_IDLE_TIMEOUT',
  PARKED_COMMAND_NOT_FOUND: 'PARKED_COMMAND_NOT_FOUND',
  PARKED_COMMAND_NOT_RETRYABLE: 'PARKED_COMMAND_NOT_RETRYABLE',
} as const;

/** One of the values of {@link SagaErrorCode}. */
export type SagaErrorCode = (typeof SagaErrorCode)[keyof typeof SagaErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '../core/errors.js' {
  interface CausewayErrorCodes {
    sagas: SagaErrorCode;
  }
}

/** A saga or choreography definition is malformed (no name, unknown step, bad types...). */
export class InvalidSagaDefinitionError extends CausewayError {
  constructor(
    readonly saga: string,
    readonly reason: string,
  ) {
    super(SagaErrorCode.INVALID_SAGA_DEFINITION, `Saga "${saga}" is invalid: ${reason}`);
  }
}

/**
 * A saga's handler returned a reaction that cannot be applied (an unknown step, a command
 * without a type, a timer without a valid due time...). Nothing of it was written; the event
 * is retried and then parked like any failing event.
 */
export class InvalidSagaReactionError extends CausewayError {
  constructor(
    readonly saga: string,
    readonly instance: string,
    readonly reason: string,
  ) {
    super(
      SagaErrorCode.INVALID_SAGA_REACTION,
      `Saga "${saga}" instance "${instance}" returned an invalid reaction: ${reason}`,
    );
  }
}

/** A command was dispatched in process, but no handler is registered for its type. */
export class NoCommandHandlerError extends CausewayError {
  constructor(readonly commandType: string) {
    super(
      SagaErrorCode.NO_COMMAND_HANDLER,
      `No command handler is registered for commands of type ${JSON.stringify(commandType)}`,
    );
  }
}

/** A second handler was registered for a command type that already has one. */
export class CommandHandlerExistsError extends CausewayError {
  constructor(readonly commandType: string) {
    super(
      SagaErrorCode.COMMAND_HANDLER_EXISTS,
      `A command handler is already registered for ${JSON.stringify(commandType)}`,
    );
  }
}

/** A command envelope handed to a dispatcher is malformed (no UUID id, no type, bad metadata). */
export class InvalidCommandEnvelopeError extends CausewayError {
  constructor(readonly reason: string) {
    super(SagaErrorCode.INVALID_COMMAND_ENVELOPE, `Invalid command envelope: ${reason}`);
  }
}

/** A saga runtime was used in a state that does not allow it (started twice, used after stop). */
export class SagaRuntimeStateError extends CausewayError {
  constructor(readonly reason: string) {
    super(SagaErrorCode.SAGA_RUNTIME_STATE, `Saga runtime: ${reason}`);
  }
}

/** `runUntilIdle` did not reach a quiet state within its time limit. */
export class SagaIdleTimeoutError extends CausewayError {
  constructor(readonly timeoutMs: number) {
    super(
      SagaErrorCode.SAGA_IDLE_TIMEOUT,
      `The sagas did not become idle within ${timeoutMs} ms (events, commands or due timers kept coming)`,
    );
  }
}

/** No parked outbox command has this id (it never existed, or was retried or skipped already). */
export class ParkedCommandNotFoundError extends CausewayError {
  constructor(readonly commandId: string) {
    super(
      SagaErrorCode.PARKED_COMMAND_NOT_FOUND,
      `No parked saga command has the id ${JSON.stringify(commandId)}`,
    );
  }
}

/**
 * A parked command that may not be sent again: a saga's forward command whose instance no
 * longer runs (its failure started the compensation, so sending it now would redo a step the
 * compensation undoes). Skip it instead.
 */
export class ParkedCommandNotRetryableError extends CausewayError {
  constructor(
    readonly commandId: string,
    readonly reason: string,
  ) {
    super(
      SagaErrorCode.PARKED_COMMAND_NOT_RETRYABLE,
      `Parked saga command ${JSON.stringify(commandId)} cannot be retried: ${reason}`,
    );
  }
}
