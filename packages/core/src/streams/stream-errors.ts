import { CausewayError } from '../core/errors.js';

/**
 * Stable error codes of the stream-processing module. Like the core's `ErrorCode`, a code
 * never changes meaning once published.
 */
export const StreamErrorCode = {
  INVALID_WINDOW: 'STREAM_INVALID_WINDOW',
  INVALID_PATTERN: 'STREAM_INVALID_PATTERN',
  INVALID_DEFINITION: 'STREAM_INVALID_DEFINITION',
  JOB_STATE: 'STREAM_JOB_STATE',
  STATE_MISMATCH: 'STREAM_STATE_MISMATCH',
  STATE_NOT_JSON: 'STREAM_STATE_NOT_JSON',
  COMMIT_FAILED: 'STREAM_COMMIT_FAILED',
  OPERATOR_FAILED: 'STREAM_OPERATOR_FAILED',
  WAIT_TIMEOUT: 'STREAM_WAIT_TIMEOUT',
  SOURCE_STOPPED: 'STREAM_SOURCE_STOPPED',
  JOB_LEASED: 'STREAM_JOB_LEASED',
  JOB_FENCED: 'STREAM_JOB_FENCED',
} as const;

/** One of the values of {@link StreamErrorCode}. */
export type StreamErrorCode = (typeof StreamErrorCode)[keyof typeof StreamErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '../core/errors.js' {
  interface CausewayErrorCodes {
    streams: StreamErrorCode;
  }
}

/** A window definition that cannot work: size ≤ 0, slide > size, gap ≤ 0, bad offset... */
export class InvalidWindowError extends CausewayError {
  constructor(
    readonly window: string,
    readonly reason: string,
  ) {
    super(StreamErrorCode.INVALID_WINDOW, `Invalid ${window} window: ${reason}`);
  }
}

/** A pattern that is malformed or can never match (caught when it is defined). */
export class InvalidPatternError extends CausewayError {
  constructor(
    /** The stage the problem is at, if any. */
    readonly stage: string | undefined,
    readonly reason: string,
  ) {
    super(
      StreamErrorCode.INVALID_PATTERN,
      `Invalid pattern${stage === undefined ? '' : ` at stage "${stage}"`}: ${reason}`,
    );
  }
}

/** Any other definition error of a dataflow: a bad option, a missing function, a bad join. */
export class InvalidStreamDefinitionError extends CausewayError {
  constructor(
    readonly argument: string,
    readonly reason: string,
  ) {
    super(StreamErrorCode.INVALID_DEFINITION, `Invalid stream definition, ${argument}: ${reason}`);
  }
}

/** The job cannot do this in its current state (defining after start, starting twice...). */
export class StreamJobStateError extends CausewayError {
  constructor(
    readonly job: string,
    readonly state: string,
    reason: string,
  ) {
    super(StreamErrorCode.JOB_STATE, `Stream job "${job}" is ${state}: ${reason}`);
  }
}

/**
 * The stored checkpoint was written by a differently shaped job (other operators): its state
 * cannot be restored into this one. Delete the checkpoint to start afresh.
 */
export class StreamStateMismatchError extends CausewayError {
  constructor(
    readonly job: string,
    readonly stored: string,
    readonly current: string,
  ) {
    super(
      StreamErrorCode.STATE_MISMATCH,
      `Stream job "${job}" has a checkpoint of another shape (stored operators: ${stored}; this job: ${current}); delete its checkpoint to start afresh`,
    );
  }
}

/** Operator state could not be encoded for a checkpoint (a cycle, a BigInt, a function...). */
export class StreamStateNotJsonError extends CausewayError {
  constructor(
    readonly job: string,
    cause: unknown,
  ) {
    super(
      StreamErrorCode.STATE_NOT_JSON,
      `Stream job "${job}" holds state that cannot be checkpointed as JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/**
 * A checkpoint (its outputs and state in one transaction) failed to commit. The job stops;
 * started again, it resumes from its last committed checkpoint.
 */
export class StreamCommitFailedError extends CausewayError {
  constructor(
    readonly job: string,
    cause: unknown,
  ) {
    super(
      StreamErrorCode.COMMIT_FAILED,
      `Stream job "${job}" could not commit its checkpoint: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/** A user function (map, condition, aggregate...) threw; the job stops at that element. */
export class StreamOperatorError extends CausewayError {
  constructor(
    readonly job: string,
    readonly operator: string,
    cause: unknown,
  ) {
    super(
      StreamErrorCode.OPERATOR_FAILED,
      `Operator "${operator}" of stream job "${job}" failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/** Waiting for a job to reach a source position ended before it got there. */
export class StreamWaitTimeoutError extends CausewayError {
  constructor(
    readonly job: string,
    readonly position: number,
    readonly reached: number,
    reason: string,
  ) {
    super(
      StreamErrorCode.WAIT_TIMEOUT,
      `Stream job "${job}" did not reach position ${position} (it is at ${reached}): ${reason}`,
    );
  }
}

/** The job stopped before committing elements pushed to its source: deliver them again. */
export class StreamSourceStoppedError extends CausewayError {
  constructor() {
    super(
      StreamErrorCode.SOURCE_STOPPED,
      'The stream job stopped before committing this element; it must be delivered again',
    );
  }
}

/**
 * Another instance of the job holds its lease, and this one was started without
 * `lease.wait`: it does not run. Start it with `lease: { wait: true }` to take over once that
 * instance stops or its lease runs out.
 */
export class StreamJobLeasedError extends CausewayError {
  constructor(
    readonly job: string,
    /** Who holds the lease. */
    readonly owner: string,
    /** When the lease runs out unless its holder renews it. */
    readonly expiresAt: Date,
  ) {
    super(
      StreamErrorCode.JOB_LEASED,
      `Stream job "${job}" is already running in ${owner} (lease until ${expiresAt.toISOString()}); start it with lease.wait to take over when that one stops`,
    );
  }
}

/**
 * Another instance took the job over (it claimed a newer fencing epoch, or its lease): this
 * instance's commit was refused, nothing of it was written, and it stops. Its in-memory state
 * is dropped; started again, it claims the job anew and resumes from the stored checkpoint.
 */
export class StreamJobFencedError extends CausewayError {
  constructor(
    readonly job: string,
    /** The epoch this instance held (undefined if it lost the job before claiming one). */
    readonly epoch: number | undefined,
    /** The job's current epoch and its owner, when known. */
    readonly current: { epoch: number; owner: string } | undefined,
  ) {
    super(
      StreamErrorCode.JOB_FENCED,
      `Stream job "${job}" was taken over by another instance${
        current ? ` (${current.owner}, epoch ${current.epoch})` : ''
      }: this one${epoch === undefined ? '' : ` (epoch ${epoch})`} may no longer commit, and stops`,
    );
  }
}
