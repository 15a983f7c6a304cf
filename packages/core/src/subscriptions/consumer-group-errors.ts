import { CausewayError } from '../core/errors.js';

/**
 * Stable error codes of consumer groups. Like every code map of Causeway, a code never
 * changes meaning once published.
 */
export const ConsumerGroupErrorCode = {
  GROUP_PARTITIONS_MISMATCH: 'GROUP_PARTITIONS_MISMATCH',
  MEMBER_ID_IN_USE: 'MEMBER_ID_IN_USE',
} as const;

/** One of the values of {@link ConsumerGroupErrorCode}. */
export type ConsumerGroupErrorCode =
  (typeof ConsumerGroupErrorCode)[keyof typeof ConsumerGroupErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '../core/errors.js' {
  interface CausewayErrorCodes {
    consumerGroups: ConsumerGroupErrorCode;
  }
}

/**
 * A member was started with another partition count than the one the group was created
 * with. The count is fixed for good: streams are hashed into partitions, and each partition
 * keeps its own checkpoint, so another count would hand streams to partitions that have
 * already moved past their events. Use a new group name to repartition.
 */
export class PartitionCountMismatchError extends CausewayError {
  constructor(
    readonly group: string,
    /** The group's partition count, as stored. */
    readonly stored: number,
    /** The count this member was given. */
    readonly requested: number,
  ) {
    super(
      ConsumerGroupErrorCode.GROUP_PARTITIONS_MISMATCH,
      `Consumer group "${group}" has ${stored} partitions; it cannot be started with ${requested}. The partition count of a group never changes: start a group under a new name to repartition`,
    );
  }
}

/**
 * Another running instance already uses this member id in the group (or a crashed one whose
 * heartbeat has not expired yet). Two instances under one id would both believe they own the
 * same partitions.
 */
export class MemberIdInUseError extends CausewayError {
  constructor(
    readonly group: string,
    readonly member: string,
    /** When the other instance's membership runs out unless it heartbeats again. */
    readonly expiresAt: Date,
  ) {
    super(
      ConsumerGroupErrorCode.MEMBER_ID_IN_USE,
      `Member id "${member}" of consumer group "${group}" is in use by another instance until ${expiresAt.toISOString()} at least; give each member its own id, or start this one after that`,
    );
  }
}
