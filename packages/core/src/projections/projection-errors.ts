import { CausewayError } from '../core/errors.js';

/**
 * Stable error codes of the projections module. Like the core's `ErrorCode`, a code never
 * changes meaning once published.
 */
export const ProjectionErrorCode = {
  DUPLICATE_PROJECTION: 'DUPLICATE_PROJECTION',
  UNKNOWN_PROJECTION: 'UNKNOWN_PROJECTION',
  PROJECTION_SETUP_FAILED: 'PROJECTION_SETUP_FAILED',
  PROJECTION_APPLY_FAILED: 'PROJECTION_APPLY_FAILED',
  PROJECTION_OUTDATED: 'PROJECTION_OUTDATED',
  PROJECTION_MODE_CONFLICT: 'PROJECTION_MODE_CONFLICT',
  PROJECTION_NOT_READY: 'PROJECTION_NOT_READY',
  PROJECTION_STOPPED: 'PROJECTION_STOPPED',
  PROJECTION_WAIT_TIMEOUT: 'PROJECTION_WAIT_TIMEOUT',
} as const;

/** One of the values of {@link ProjectionErrorCode}. */
export type ProjectionErrorCode = (typeof ProjectionErrorCode)[keyof typeof ProjectionErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '../core/errors.js' {
  interface CausewayErrorCodes {
    projections: ProjectionErrorCode;
  }
}

/** Two projection definitions given to one projector share a name and a version. */
export class DuplicateProjectionError extends CausewayError {
  constructor(
    readonly projection: string,
    readonly version: number,
  ) {
    super(
      ProjectionErrorCode.DUPLICATE_PROJECTION,
      `Projection "${projection}" version ${version} is defined twice; give each definition its own name, or a new version`,
    );
  }
}

/** A projector was asked about a projection it was not given. */
export class UnknownProjectionError extends CausewayError {
  constructor(readonly projection: string) {
    super(
      ProjectionErrorCode.UNKNOWN_PROJECTION,
      `This projector has no projection named "${projection}"`,
    );
  }
}

/**
 * A projection's `setup` failed. Its transaction was rolled back: none of the tables or
 * collections it created exist, and no version was registered. Starting again retries it.
 */
export class ProjectionSetupError extends CausewayError {
  constructor(
    readonly projection: string,
    readonly version: number,
    cause: unknown,
  ) {
    super(
      ProjectionErrorCode.PROJECTION_SETUP_FAILED,
      `Setting up projection "${projection}" version ${version} failed, and nothing of it was kept: ${messageOf(cause)}`,
      { cause },
    );
  }
}

/**
 * An inline projection failed to apply an appended event, so the append was rolled back:
 * no event of it was stored. `cause` says why (a thrown error, a `NonErrorThrownError`, a
 * timeout, an invalid return value).
 */
export class ProjectionApplyError extends CausewayError {
  constructor(
    readonly projection: string,
    readonly version: number,
    /** The stream and type of the event that failed. */
    readonly stream: string,
    readonly type: string,
    cause: unknown,
  ) {
    super(
      ProjectionErrorCode.PROJECTION_APPLY_FAILED,
      `Inline projection "${projection}" version ${version} failed on a ${type} event of "${stream}", so the append was rolled back: ${messageOf(cause)}`,
      { cause },
    );
  }
}

/**
 * The version of a projection registered in the database is newer than any this process
 * defines (older code running beside newer): it can neither run nor maintain it.
 */
export class ProjectionOutdatedError extends CausewayError {
  constructor(
    readonly projection: string,
    /** The newest version this process defines. */
    readonly defined: number,
    /** The version the database serves or builds. */
    readonly registered: number,
  ) {
    super(
      ProjectionErrorCode.PROJECTION_OUTDATED,
      `Projection "${projection}" is at version ${registered} in the database but this process only knows version ${defined}: deploy the newer definition here`,
    );
  }
}

/** A version is registered with another mode than its definition now declares. */
export class ProjectionModeConflictError extends CausewayError {
  constructor(
    readonly projection: string,
    readonly version: number,
    readonly registered: string,
    readonly defined: string,
  ) {
    super(
      ProjectionErrorCode.PROJECTION_MODE_CONFLICT,
      `Projection "${projection}" version ${version} is registered as ${registered} but defined as ${defined}: bump the version to change its mode`,
    );
  }
}

/** A projection has no version serving queries yet (its first build is still running). */
export class ProjectionNotReadyError extends CausewayError {
  constructor(readonly projection: string) {
    super(
      ProjectionErrorCode.PROJECTION_NOT_READY,
      `Projection "${projection}" has no read model serving yet: its first build is still running (wait for it with minPosition, or projector.switched())`,
    );
  }
}

/** A projection stopped (on an error, or by `stop()`) while something waited on it. */
export class ProjectionStoppedError extends CausewayError {
  constructor(
    readonly projection: string,
    reason: string,
    cause?: unknown,
  ) {
    super(
      ProjectionErrorCode.PROJECTION_STOPPED,
      `Projection "${projection}" stopped: ${reason}`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/**
 * A projection did not get where a caller waited for it to (a position, for read-your-writes;
 * or the end of a rebuild) within the timeout.
 */
export class ProjectionWaitTimeoutError extends CausewayError {
  constructor(
    readonly projection: string,
    /** The position waited for; undefined when waiting for a rebuild to switch in. */
    readonly position: number | undefined,
    /** Where the projection's serving read model was when the wait ended. */
    readonly reached: number,
    readonly timeoutMs: number,
  ) {
    super(
      ProjectionErrorCode.PROJECTION_WAIT_TIMEOUT,
      position === undefined
        ? `Projection "${projection}" did not finish its rebuild within ${timeoutMs} ms (its serving read model is at position ${reached})`
        : `Projection "${projection}" did not reach position ${position} within ${timeoutMs} ms (it is at ${reached})`,
    );
  }
}

function messageOf(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}
