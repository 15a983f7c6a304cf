import { CausewayError } from '../core/errors.js';

/**
 * Stable error codes of the domain module (deciders, command handling, snapshots). Like
 * the core's `ErrorCode`, a code never changes meaning once published.
 */
export const DomainErrorCode = {
  INVALID_COMMAND: 'INVALID_COMMAND',
  UNKNOWN_COMMAND: 'UNKNOWN_COMMAND',
  INVALID_DECISION: 'INVALID_DECISION',
  INVALID_SNAPSHOT: 'INVALID_SNAPSHOT',
  SNAPSHOTS_NOT_CONFIGURED: 'SNAPSHOTS_NOT_CONFIGURED',
} as const;

/** One of the values of {@link DomainErrorCode}. */
export type DomainErrorCode = (typeof DomainErrorCode)[keyof typeof DomainErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '../core/errors.js' {
  interface CausewayErrorCodes {
    domain: DomainErrorCode;
  }
}

/**
 * A command was not an object `{ type, data, id?, metadata? }` with a non-empty string type,
 * a UUID id (if any) and string values for the well-known metadata keys.
 */
export class InvalidCommandError extends CausewayError {
  constructor(
    /** What was wrong with it. */
    readonly reason: string,
  ) {
    super(DomainErrorCode.INVALID_COMMAND, `Invalid command: ${reason}`);
  }
}

/**
 * A decider was given a command type it does not handle. Deciders throw it from the
 * default branch of their `switch (command.type)`.
 *
 * @example
 * ```ts
 * default: throw new UnknownCommandError(command.type);
 * ```
 */
export class UnknownCommandError extends CausewayError {
  constructor(readonly commandType: string) {
    super(
      DomainErrorCode.UNKNOWN_COMMAND,
      `No decider handles commands of type ${JSON.stringify(commandType)}`,
    );
  }
}

/**
 * A decider's `decide` returned something other than an array of `{ type, data }` events.
 * Nothing was appended.
 */
export class InvalidDecisionError extends CausewayError {
  constructor(
    readonly commandType: string,
    readonly reason: string,
  ) {
    super(
      DomainErrorCode.INVALID_DECISION,
      `The decision for command ${JSON.stringify(commandType)} is invalid: ${reason}`,
    );
  }
}

/** A snapshot handed to a snapshot store was malformed (bad revision, version key or state). */
export class InvalidSnapshotError extends CausewayError {
  constructor(
    readonly stream: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      DomainErrorCode.INVALID_SNAPSHOT,
      `Invalid snapshot of stream "${stream}": ${reason}`,
      options,
    );
  }
}

/** A snapshot was asked of a command handler that has no snapshot store. */
export class SnapshotsNotConfiguredError extends CausewayError {
  constructor() {
    super(
      DomainErrorCode.SNAPSHOTS_NOT_CONFIGURED,
      'This command handler has no snapshot store: pass { snapshots: { store, stateVersion } }',
    );
  }
}
