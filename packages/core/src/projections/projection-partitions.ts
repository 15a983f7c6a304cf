import type { RecordedEvent } from '../core/envelope.js';
import { CausewayError, InvalidArgumentError } from '../core/errors.js';
import type { GroupMembershipStore } from '../subscriptions/group-membership-store.js';
import { assertPartitionedRunOptions } from '../subscriptions/partitioned-run-options.js';

/**
 * How a projector runs its async projections partitioned (see `ProjectorOptions.partitions`):
 * each build's subscription becomes a consumer group of the same name, whose partitions
 * (`<build subscription>#<n>`, each with its own checkpoint, lease and parked events) are
 * spread over every projector started with the same projections and the same `count`.
 */
export interface ProjectionPartitionOptions {
  /**
   * Partitions per build (1–1,024), fixed for the life of a build's checkpoints. It caps how
   * many processes share a projection's events.
   */
  count: number;
  /** Where the members of the groups are recorded: the same database as the read models. */
  membership: GroupMembershipStore;
  /**
   * What keeps events in order: events with one key go to one partition, applied in log
   * order. Default: the event's stream, which the store filters on as it reads, so a member
   * decodes only its own partitions' events. Give a key (a customer id from the payload, say)
   * when rows of the read model gather events of several streams; every partition then reads
   * every event of the projection and keeps its share. Pure, and the same in every member.
   */
  partitionKey?: (event: RecordedEvent) => string;
  /** This process's id in the groups. Default: host, process id and a random suffix. */
  memberId?: string;
  /** How long a member and its partition leases last without a heartbeat (default 30,000 ms). */
  leaseTtlMs?: number;
  /** How often members heartbeat and rebalance (default a tenth of `leaseTtlMs`). */
  heartbeatIntervalMs?: number;
}

/**
 * Checks `partitions` options (the consumer group checks the timings when it is made).
 *
 * @throws {InvalidArgumentError} naming the first bad option.
 */
export function assertProjectionPartitionOptions(options: ProjectionPartitionOptions): void {
  assertPartitionedRunOptions(options);
  if (options.partitionKey !== undefined && typeof options.partitionKey !== 'function')
    throw new InvalidArgumentError(
      'partitions.partitionKey',
      'must be a function (event) => string',
    );
}

/** Stable error codes of partitioned projections. */
export const ProjectionPartitionErrorCode = {
  PROJECTION_PARTITIONED_REBUILD: 'PROJECTION_PARTITIONED_REBUILD',
} as const;

/** One of the values of {@link ProjectionPartitionErrorCode}. */
export type ProjectionPartitionErrorCode =
  (typeof ProjectionPartitionErrorCode)[keyof typeof ProjectionPartitionErrorCode];

// These codes join the union of every code, CausewayErrorCode.
declare module '../core/errors.js' {
  interface CausewayErrorCodes {
    projectionPartitions: ProjectionPartitionErrorCode;
  }
}

/**
 * A partitioned projection was asked to rebuild while other members run it. A new build
 * switches in once one member has caught up every partition of it, so a rebuild is started
 * with one member running: stop the others first (they take their share again when started).
 */
export class ProjectionPartitionedRebuildError extends CausewayError {
  constructor(
    readonly projection: string,
    readonly members: readonly string[],
  ) {
    super(
      ProjectionPartitionErrorCode.PROJECTION_PARTITIONED_REBUILD,
      `Projection "${projection}" runs partitioned in ${members.length} members (${members.join(', ')}); stop all but one of them to rebuild it, and start them again once it has switched`,
    );
  }
}
