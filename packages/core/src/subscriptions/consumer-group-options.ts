import { hostname } from 'node:os';
import type { Clock } from '../core/clock.js';
import type { RecordedEvent } from '../core/envelope.js';
import { InvalidArgumentError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { StoreTransaction } from '../store/event-store.js';
import {
  assertGroupName,
  assertMemberId,
  type GroupMembershipStore,
} from './group-membership-store.js';
import { assertPartitionCount } from '../store/partition.js';
import {
  resolveSubscriptionOptions,
  type ResolvedSubscriptionOptions,
  type SubscriptionOptions,
} from './subscription-options.js';
import { assertMilliseconds } from './validation.js';

/**
 * Options of {@link ConsumerGroup}. Besides its own, it takes the options of `Subscription`
 * that shape how each partition handles events (`handler`, `batchHandler`, `storage`, `from`,
 * `filter`, `where`, `batchSize`, `catchUp`, `retry`, `handlerTimeoutMs`, `source`, `wakeGate`, `clock`, `logger`,
 * `idleCheckIntervalMs`), with the same meaning and defaults.
 */
export interface ConsumerGroupOptions<Tx extends StoreTransaction = StoreTransaction> extends Pick<
  SubscriptionOptions<Tx>,
  | 'storage'
  | 'handler'
  | 'batchHandler'
  | 'source'
  | 'wakeGate'
  | 'from'
  | 'filter'
  | 'where'
  | 'batchSize'
  | 'catchUp'
  | 'retry'
  | 'handlerTimeoutMs'
  | 'clock'
  | 'logger'
  | 'idleCheckIntervalMs'
> {
  /**
   * The group's name (1–190 characters). Its partitions are subscriptions named
   * `<name>#<partition>`: their checkpoints, leases and parked events go by those names.
   */
  name: string;
  /**
   * How many partitions the group's streams are hashed into (1–1,024), fixed when the group
   * is first started: a member started with another count fails. It caps how many members
   * can share the work, so choose a small multiple of the most members you expect (8 to 32 is
   * typical). With the default {@link partitionKey}, each partition reads only its own
   * streams' events (`filter.partition`, filtered by the store in SQLite and PostgreSQL).
   */
  partitions: number;
  /**
   * What decides an event's partition: `fnv1a32(partitionKey(event)) % partitions`. Events
   * with equal keys go to one partition, in log order. Default: the event's stream, which the
   * store filters on as it reads (`filter.partition`), so a member decodes only its own
   * partitions' events.
   *
   * A custom key (a customer id from the payload, say) cannot be filtered by the store: every
   * partition then reads every event the group's `filter` lets through and keeps its share in
   * process, so a member decodes the whole log once per partition it runs. Prefer the default
   * when streams already group what must stay in order. The function must be pure and the same
   * in every member, forever (changing it moves events between partitions mid-flight).
   */
  partitionKey?: (event: RecordedEvent) => string;
  /** Where the members of groups are recorded (the same database as `storage`). */
  membership: GroupMembershipStore;
  /**
   * This member's id in the group (at most 180 characters), unique among live members.
   * Default: host, process id and a random suffix.
   */
  memberId?: string;
  /**
   * How long a member and its partition leases last without a heartbeat, in ms (default
   * 30,000): a member that dies loses its partitions to the others this long after its last
   * heartbeat at most (plus a heartbeat interval to notice).
   */
  leaseTtlMs?: number;
  /**
   * How often a member heartbeats and looks for members joining or leaving, in ms (default a
   * tenth of `leaseTtlMs`; at most a third of it). It bounds how soon a join or a graceful
   * leave is acted on.
   */
  heartbeatIntervalMs?: number;
}

/** {@link ConsumerGroupOptions} checked, with every default filled in. */
export interface ResolvedConsumerGroupOptions<Tx extends StoreTransaction> {
  name: string;
  partitions: number;
  /** The custom partition key, if any (undefined: by stream, filtered by the store). */
  partitionKey: ((event: RecordedEvent) => string) | undefined;
  membership: GroupMembershipStore;
  memberId: string;
  leaseTtlMs: number;
  heartbeatIntervalMs: number;
  /** How often a partition waiting for its lease tries again, in ms. */
  leaseRetryIntervalMs: number;
  clock: Clock;
  /**
   * What every partition's subscription shares, checked (as for partition 0); the name,
   * `where`, `from`, lease and owner are set per partition.
   */
  resolved: ResolvedSubscriptionOptions<Tx>;
}

/**
 * Checks consumer group options and fills in the defaults.
 *
 * @throws {InvalidArgumentError} naming the first bad option.
 */
export function resolveConsumerGroupOptions<Tx extends StoreTransaction>(
  options: ConsumerGroupOptions<Tx>,
): ResolvedConsumerGroupOptions<Tx> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError(
      'options',
      'must be an object { name, partitions, storage, membership, handler, ... }',
    );
  assertGroupName(options.name, 'name');
  assertPartitionCount(options.partitions);
  const membership = options.membership;
  if (
    typeof membership !== 'object' ||
    membership === null ||
    typeof membership.heartbeat !== 'function' ||
    typeof membership.members !== 'function' ||
    typeof membership.define !== 'function' ||
    typeof membership.leave !== 'function'
  )
    throw new InvalidArgumentError(
      'membership',
      'must be a group membership store, as made by new MemoryGroupMembershipStore() / sqliteGroupMembership / postgresGroupMembership',
    );
  const memberId =
    options.memberId ?? `${hostname().slice(0, 120)}:${process.pid}:${newId().slice(-12)}`;
  assertMemberId(memberId, 'memberId');
  if (options.partitionKey !== undefined && typeof options.partitionKey !== 'function')
    throw new InvalidArgumentError('partitionKey', 'must be a function (event) => string');
  const leaseTtlMs = options.leaseTtlMs ?? 30_000;
  assertMilliseconds(leaseTtlMs, 'leaseTtlMs');
  const heartbeatIntervalMs =
    options.heartbeatIntervalMs ?? Math.max(1, Math.floor(leaseTtlMs / 10));
  assertMilliseconds(heartbeatIntervalMs, 'heartbeatIntervalMs');
  if (heartbeatIntervalMs * 3 > leaseTtlMs)
    throw new InvalidArgumentError(
      'heartbeatIntervalMs',
      `must be at most a third of leaseTtlMs (${leaseTtlMs}), so a member survives a missed heartbeat`,
    );
  const leaseRetryIntervalMs = Math.max(1, Math.floor(heartbeatIntervalMs / 2));
  const resolved = resolveSubscriptionOptions<Tx>({
    ...options,
    name: `${options.name}#0`,
    lease: { ttlMs: leaseTtlMs, wait: true, retryIntervalMs: leaseRetryIntervalMs },
    owner: `${memberId}/instance`,
  });
  return {
    name: options.name,
    partitions: options.partitions,
    partitionKey: options.partitionKey,
    membership,
    memberId,
    leaseTtlMs,
    heartbeatIntervalMs,
    leaseRetryIntervalMs,
    clock: resolved.clock,
    resolved,
  };
}
