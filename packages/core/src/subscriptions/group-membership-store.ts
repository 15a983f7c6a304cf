import { InvalidArgumentError } from '../core/errors.js';
import { assertPartitionCount } from '../store/partition.js';
import { assertMilliseconds, assertName, assertPosition } from './validation.js';

/** What a consumer group fixes when it is first used (see {@link GroupMembershipStore.define}). */
export interface GroupDefinition {
  /** How many partitions the group's streams are hashed into; never changes. */
  partitions: number;
  /** The position after which partitions without a checkpoint begin. */
  startAfter: number;
}

/** A stored consumer group: its definition and when it was first used. */
export interface StoredGroupDefinition extends GroupDefinition {
  createdAt: Date;
}

/** One member of a consumer group, as its last heartbeat left it. */
export interface GroupMember {
  group: string;
  /** The member id. */
  member: string;
  /** The running instance behind the id (a fresh token each time a member starts). */
  instance: string;
  /** When this instance joined. */
  joinedAt: Date;
  /** When it counts as gone unless it heartbeats again. */
  expiresAt: Date;
}

/** What {@link GroupMembershipStore.heartbeat} found. */
export type HeartbeatResult =
  /** The member is in the group until `now + ttlMs`. */
  | { joined: true }
  /** Another live instance has this member id. */
  | { joined: false; holder: GroupMember };

/**
 * Who belongs to which consumer group, in the event store's database: how the members of a
 * group, in any number of processes, learn of each other. Each member heartbeats; a member
 * whose heartbeat has expired is gone. Times are milliseconds since the epoch from the
 * caller's clock, as for leases. Implemented for memory, SQLite and PostgreSQL
 * (`MemoryGroupMembershipStore`, `sqliteGroupMembership(store)`, `postgresGroupMembership(store)`).
 */
export interface GroupMembershipStore {
  /**
   * Records `definition` for `group` if it has none yet, and returns the stored one (which
   * differs from `definition` when the group was defined before with other values).
   */
  define(group: string, definition: GroupDefinition, now: number): Promise<StoredGroupDefinition>;
  /** The stored definition of `group`, if any. */
  definition(group: string): Promise<StoredGroupDefinition | undefined>;
  /**
   * Adds or keeps `member` (run by `instance`) in `group` until `now + ttlMs`, unless another
   * instance holds that member id and has not expired. Also forgets the group's expired members.
   */
  heartbeat(
    group: string,
    member: string,
    instance: string,
    ttlMs: number,
    now: number,
  ): Promise<HeartbeatResult>;
  /** Removes `member` from `group`, if `instance` is the one holding it. */
  leave(group: string, member: string, instance: string): Promise<void>;
  /** The members of `group` whose heartbeat has not expired at `now`, sorted by member id. */
  members(group: string, now: number): Promise<GroupMember[]>;
}

/** Longest consumer group name: its partitions are subscriptions named `<group>#<partition>`. */
export const MAX_GROUP_NAME_LENGTH = 190;

/** Longest member id: partition leases are owned by `<member>/<instance>`. */
export const MAX_MEMBER_ID_LENGTH = 180;

/** Throws unless `group` is a usable consumer group name. */
export function assertGroupName(group: unknown, argument = 'group'): asserts group is string {
  assertName(group, argument);
  if (group.length > MAX_GROUP_NAME_LENGTH)
    throw new InvalidArgumentError(
      argument,
      `must be at most ${MAX_GROUP_NAME_LENGTH} characters (partitions are named <group>#<n>)`,
    );
}

/** Throws unless `member` is a usable member id. */
export function assertMemberId(member: unknown, argument = 'member'): asserts member is string {
  assertName(member, argument);
  if (member.length > MAX_MEMBER_ID_LENGTH)
    throw new InvalidArgumentError(argument, `must be at most ${MAX_MEMBER_ID_LENGTH} characters`);
}

/** Checks the arguments of {@link GroupMembershipStore.define}. */
export function assertDefineArguments(group: unknown, definition: unknown, now: unknown): void {
  assertGroupName(group);
  if (typeof definition !== 'object' || definition === null)
    throw new InvalidArgumentError('definition', 'must be { partitions, startAfter }');
  const d = definition as Partial<GroupDefinition>;
  assertPartitionCount(d.partitions, 'definition.partitions');
  assertPosition(d.startAfter, 'definition.startAfter');
  assertNow(now);
}

/** Checks the arguments of {@link GroupMembershipStore.heartbeat}. */
export function assertHeartbeatArguments(
  group: unknown,
  member: unknown,
  instance: unknown,
  ttlMs: unknown,
  now: unknown,
): void {
  assertGroupName(group);
  assertMemberId(member);
  assertName(instance, 'instance');
  assertMilliseconds(ttlMs, 'ttlMs');
  assertNow(now);
}

/** Throws unless `now` is a time in milliseconds since the epoch. */
export function assertNow(now: unknown): asserts now is number {
  if (typeof now !== 'number' || !Number.isFinite(now))
    throw new InvalidArgumentError('now', 'must be a time in milliseconds since the epoch');
}
