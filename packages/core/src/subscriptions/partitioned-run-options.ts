import { InvalidArgumentError } from '../core/errors.js';
import type { GroupMembershipStore } from './group-membership-store.js';

/**
 * What every partitioned runner (projections, sagas) takes as its `partitions` option: the
 * fields it hands to the consumer group it runs each build or saga as.
 */
export interface PartitionedRunOptions {
  /** Partitions per group (1–1,024). */
  count: number;
  /** Where the members of the groups are recorded. */
  membership: GroupMembershipStore;
}

/**
 * Checks a runner's `partitions` option (the consumer group checks the timings and member id
 * when it is made), so projections and sagas refuse bad options with the same messages.
 *
 * @throws {InvalidArgumentError} naming the first bad option.
 */
export function assertPartitionedRunOptions(options: PartitionedRunOptions): void {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('partitions', 'must be an object { count, membership }');
  if (!Number.isSafeInteger(options.count) || options.count < 1 || options.count > 1024)
    throw new InvalidArgumentError('partitions.count', 'must be an integer from 1 to 1,024');
  if (typeof options.membership?.heartbeat !== 'function')
    throw new InvalidArgumentError('partitions.membership', 'must be a group membership store');
}
