import type { RecordedEvent } from '../core/envelope.js';
import { fnv1a32 } from '../store/partition.js';
import type { GroupMembershipStore } from '../subscriptions/group-membership-store.js';
import { assertPartitionedRunOptions } from '../subscriptions/partitioned-run-options.js';

/**
 * How a runtime runs its sagas partitioned (see `SagaRuntimeOptions.partitions`): each saga
 * becomes a consumer group named `saga:<name>` whose partitions (`saga:<name>#<n>`) are
 * spread over every runtime started with the same sagas and the same `count`.
 */
export interface SagaPartitionOptions {
  /**
   * Partitions per saga (1–1,024), fixed for the life of the saga's checkpoints: an instance
   * id always hashes to the same partition, so a new count needs every instance settled (or
   * a new saga name). It caps how many processes share a saga's events.
   */
  count: number;
  /** Where the members of the groups are recorded: the same database as `storage`. */
  membership: GroupMembershipStore;
  /** This process's id in the groups. Default: host, process id and a random suffix. */
  memberId?: string;
  /** How long a member and its partition leases last without a heartbeat (default 30,000 ms). */
  leaseTtlMs?: number;
  /** How often members heartbeat and rebalance (default a tenth of `leaseTtlMs`). */
  heartbeatIntervalMs?: number;
}

/**
 * Checks `partitions` options.
 *
 * @throws {InvalidArgumentError} naming the first bad option.
 */
export function assertSagaPartitionOptions(options: SagaPartitionOptions): void {
  assertPartitionedRunOptions(options);
}

/**
 * The partition key of a saga's events: the instance id its correlation yields, so that
 * every event of one instance goes to one partition, in log order. An event the saga does not
 * correlate (not one of its types, or no id) is keyed by its stream: the saga ignores it
 * wherever it lands, and it still moves that partition's checkpoint on.
 */
export function sagaPartitionKey(
  correlationOf: (event: RecordedEvent) => string | undefined,
): (event: RecordedEvent) => string {
  return (event) => {
    try {
      return correlationOf(event) ?? event.stream;
    } catch {
      // A correlation that throws fails in the handler, where the event is retried and parked.
      return event.stream;
    }
  };
}

/** The partition (of `count`) an instance id belongs to: what the consumer group computes. */
export function sagaPartitionOf(instanceId: string, count: number): number {
  return fnv1a32(instanceId) % count;
}
