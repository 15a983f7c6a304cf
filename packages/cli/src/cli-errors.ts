import { CausewayError } from '@causewayjs/core';

/** Stable codes of the errors the `causeway` command raises itself. */
export const CliErrorCode = {
  /** An option or argument the command cannot use. */
  USAGE: 'CLI_USAGE',
  /** A thing named on the command line does not exist. */
  NOT_FOUND: 'CLI_NOT_FOUND',
  /** The target is not in the state the command needs. */
  CONFLICT: 'CLI_CONFLICT',
  /** Input (a JSON argument, a JSONL line) could not be used. */
  INVALID_INPUT: 'CLI_INVALID_INPUT',
} as const;

/** One of the values of {@link CliErrorCode}. */
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '@causewayjs/core' {
  interface CausewayErrorCodes {
    cli: CliErrorCode;
  }
}

/** A command-line option or argument that cannot be used. */
export class CliUsageError extends CausewayError {
  constructor(message: string) {
    super(CliErrorCode.USAGE, message);
  }
}

/** Something named on the command line does not exist. */
export class CliNotFoundError extends CausewayError {
  constructor(
    readonly what: string,
    readonly target: string,
  ) {
    super(CliErrorCode.NOT_FOUND, `No ${what} named "${target}"`);
  }
}

/** The target is not in the state the command needs (e.g. importing into a busy stream). */
export class CliConflictError extends CausewayError {
  constructor(message: string, cause?: unknown) {
    super(CliErrorCode.CONFLICT, message, { cause });
  }
}

/**
 * Input that could not be used: a JSON argument, or a line of a JSONL file (then `line` is
 * its 1-based number).
 */
export class CliInputError extends CausewayError {
  constructor(
    message: string,
    readonly line?: number,
    cause?: unknown,
  ) {
    super(CliErrorCode.INVALID_INPUT, line === undefined ? message : `line ${line}: ${message}`, {
      cause,
    });
  }
}
