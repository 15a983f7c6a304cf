import type { CausewayErrorCode } from '@causewayjs/core';

/**
 * The exit codes of the `causeway` command. Scripts may rely on them: a code never changes
 * meaning once published.
 */
export const ExitCode = {
  /** Done as asked. */
  OK: 0,
  /** Bad usage: unknown command or option, a bad argument or store URL. */
  USAGE: 1,
  /** What was asked for does not exist (stream, projection, saga, parked event, schema). */
  NOT_FOUND: 2,
  /** A conflict: wrong expected revision, duplicate event id, incompatible schema. */
  CONFLICT: 3,
  /** The store could not be reached or opened. */
  STORE_UNAVAILABLE: 4,
  /** Input data was refused: malformed JSON or JSONL, invalid event, schema validation. */
  INVALID_DATA: 5,
  /** The address to listen on (`serve`, `demo`) is in use: choose another `--port`. */
  PORT_IN_USE: 6,
  /** Something failed that is none of the above (a bug, or an unexpected failure). */
  FAILURE: 10,
  /** Interrupted by SIGINT or SIGTERM before finishing. */
  INTERRUPTED: 130,
} as const;

/** One of the values of {@link ExitCode}. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const BY_CODE: Partial<Record<CausewayErrorCode, ExitCode>> = {
  // Usage.
  INVALID_ARGUMENT: ExitCode.USAGE,
  UNSUPPORTED_STORE_URL: ExitCode.USAGE,
  SCAVENGE_UNSUPPORTED: ExitCode.USAGE,
  CLI_USAGE: ExitCode.USAGE,
  INVALID_TRANSLATION: ExitCode.USAGE,
  // Not found (or gone for good).
  STREAM_NOT_FOUND: ExitCode.NOT_FOUND,
  STREAM_DELETED: ExitCode.NOT_FOUND,
  UNKNOWN_PROJECTION: ExitCode.NOT_FOUND,
  UNKNOWN_SCHEMA_VERSION: ExitCode.NOT_FOUND,
  UNREGISTERED_EVENT_TYPE: ExitCode.NOT_FOUND,
  PARKED_EVENT_MISSING: ExitCode.NOT_FOUND,
  CLI_NOT_FOUND: ExitCode.NOT_FOUND,
  CLI_CONFIG_NOT_FOUND: ExitCode.NOT_FOUND,
  // Conflicts.
  WRONG_EXPECTED_REVISION: ExitCode.CONFLICT,
  DUPLICATE_EVENT_ID: ExitCode.CONFLICT,
  INCOMPATIBLE_SCHEMA: ExitCode.CONFLICT,
  SCHEMA_CONFLICT: ExitCode.CONFLICT,
  PROJECTION_MODE_CONFLICT: ExitCode.CONFLICT,
  PROJECTION_OUTDATED: ExitCode.CONFLICT,
  SUBSCRIPTION_LEASED: ExitCode.CONFLICT,
  CHECKPOINT_AHEAD: ExitCode.CONFLICT,
  CLI_CONFLICT: ExitCode.CONFLICT,
  // The store.
  STORE_UNAVAILABLE: ExitCode.STORE_UNAVAILABLE,
  STORE_CLOSED: ExitCode.STORE_UNAVAILABLE,
  SCHEMA_TOO_NEW: ExitCode.STORE_UNAVAILABLE,
  STORE_BUSY: ExitCode.STORE_UNAVAILABLE,
  STORAGE_FULL: ExitCode.STORE_UNAVAILABLE,
  // Data.
  INVALID_EVENT: ExitCode.INVALID_DATA,
  INVALID_STREAM_NAME: ExitCode.INVALID_DATA,
  EMPTY_APPEND: ExitCode.INVALID_DATA,
  NOT_JSON: ExitCode.INVALID_DATA,
  EVENT_TOO_LARGE: ExitCode.INVALID_DATA,
  INVALID_SCHEMA: ExitCode.INVALID_DATA,
  SCHEMA_VALIDATION_FAILED: ExitCode.INVALID_DATA,
  INVALID_COMMAND: ExitCode.INVALID_DATA,
  CLI_INVALID_INPUT: ExitCode.INVALID_DATA,
  CLI_CONFIG_INVALID: ExitCode.INVALID_DATA,
  WRITE_REJECTED: ExitCode.INVALID_DATA,
  // The port.
  CLI_PORT_IN_USE: ExitCode.PORT_IN_USE,
};

/**
 * Whether `error` has a string `code`, as Causeway errors do. Checked by shape, so that this
 * module, loaded by `causeway --help`, does not load the core; codes not in the table (a
 * Node.js `ENOENT`, say) map to {@link ExitCode.FAILURE} anyway.
 */
function hasCode(error: unknown): error is Error & { code: CausewayErrorCode } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

/**
 * The exit code for an error: by its `code` when it is a Causeway error (see the table in
 * docs/cli.md), {@link ExitCode.FAILURE} otherwise.
 */
export function exitCodeFor(error: unknown): ExitCode {
  if (hasCode(error)) return BY_CODE[error.code] ?? ExitCode.FAILURE;
  return ExitCode.FAILURE;
}
