import {
  assertDefineArguments,
  assertGroupName,
  assertHeartbeatArguments,
  assertMemberId,
  assertNow,
  type GroupDefinition,
  type GroupMember,
  type GroupMembershipStore,
  type HeartbeatResult,
  type StoredGroupDefinition,
} from './group-membership-store.js';
import { assertName } from './validation.js';

interface MemberRow {
  instance: string;
  joinedAt: number;
  expiresAt: number;
}

/**
 * Consumer group membership in process memory, beside a `MemoryEventStore`: for tests and
 * for several members of a group inside one process.
 *
 * @example
 * ```ts
 * const membership = new MemoryGroupMembershipStore();
 * const group = new ConsumerGroup({ name: 'mailer', partitions: 8, storage, membership, handler });
 * ```
 */
export class MemoryGroupMembershipStore implements GroupMembershipStore {
  private readonly groups = new Map<
    string,
    { partitions: number; startAfter: number; createdAt: number }
  >();
  private readonly memberRows = new Map<string, Map<string, MemberRow>>();

  define(group: string, definition: GroupDefinition, now: number): Promise<StoredGroupDefinition> {
    return new Promise((resolve) => {
      assertDefineArguments(group, definition, now);
      let stored = this.groups.get(group);
      if (!stored) {
        stored = {
          partitions: definition.partitions,
          startAfter: definition.startAfter,
          createdAt: now,
        };
        this.groups.set(group, stored);
      }
      resolve(toDefinition(stored));
    });
  }

  definition(group: string): Promise<StoredGroupDefinition | undefined> {
    return new Promise((resolve) => {
      assertGroupName(group);
      const stored = this.groups.get(group);
      resolve(stored && toDefinition(stored));
    });
  }

  heartbeat(
    group: string,
    member: string,
    instance: string,
    ttlMs: number,
    now: number,
  ): Promise<HeartbeatResult> {
    return new Promise((resolve) => {
      assertHeartbeatArguments(group, member, instance, ttlMs, now);
      let rows = this.memberRows.get(group);
      if (!rows) this.memberRows.set(group, (rows = new Map<string, MemberRow>()));
      for (const [id, other] of rows) if (other.expiresAt <= now) rows.delete(id);
      const row = rows.get(member);
      if (row && row.instance !== instance) {
        resolve({ joined: false, holder: toMember(group, member, row) });
        return;
      }
      rows.set(member, {
        instance,
        joinedAt: row?.instance === instance ? row.joinedAt : now,
        expiresAt: now + ttlMs,
      });
      resolve({ joined: true });
    });
  }

  leave(group: string, member: string, instance: string): Promise<void> {
    return new Promise((resolve) => {
      assertGroupName(group);
      assertMemberId(member);
      assertName(instance, 'instance');
      const rows = this.memberRows.get(group);
      if (rows?.get(member)?.instance === instance) rows.delete(member);
      resolve();
    });
  }

  members(group: string, now: number): Promise<GroupMember[]> {
    return new Promise((resolve) => {
      assertGroupName(group);
      assertNow(now);
      const rows = this.memberRows.get(group) ?? new Map<string, MemberRow>();
      resolve(
        [...rows]
          .filter(([, row]) => row.expiresAt > now)
          .map(([member, row]) => toMember(group, member, row))
          .sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0)),
      );
    });
  }
}

function toDefinition(stored: {
  partitions: number;
  startAfter: number;
  createdAt: number;
}): StoredGroupDefinition {
  return {
    partitions: stored.partitions,
    startAfter: stored.startAfter,
    createdAt: new Date(stored.createdAt),
  };
}

function toMember(group: string, member: string, row: MemberRow): GroupMember {
  return {
    group,
    member,
    instance: row.instance,
    joinedAt: new Date(row.joinedAt),
    expiresAt: new Date(row.expiresAt),
  };
}
