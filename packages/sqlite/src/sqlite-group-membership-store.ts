import type Database from 'better-sqlite3';
import {
  type Migration,
  assertDefineArguments,
  assertGroupName,
  assertHeartbeatArguments,
  assertMemberId,
  assertNow,
  assertName,
} from '@causewayjs/core/internals';
import {
  type GroupDefinition,
  type GroupMember,
  type GroupMembershipStore,
  type HeartbeatResult,
  type StoredGroupDefinition,
} from '@causewayjs/core';
import type { SqliteEventStore } from './sqlite-event-store.js';
import { migrateSqlite } from './sqlite-migrations.js';
import { SqliteStatementCache } from './sqlite-statement-cache.js';

/** The name under which the consumer group tables record their schema version. */
export const SQLITE_GROUPS_COMPONENT = 'consumer-groups';

/**
 * The consumer group tables (groups, members), version by version. Never edit a published
 * step: add one. Times are milliseconds from the members' clock, as for leases.
 */
export const sqliteGroupMigrations: readonly Migration[] = [
  {
    version: 1,
    description: 'consumer groups and their members',
    statements: [
      `CREATE TABLE causeway_consumer_groups (
         name TEXT PRIMARY KEY,
         partitions INTEGER NOT NULL,
         start_after INTEGER NOT NULL,
         created_at INTEGER NOT NULL
       ) WITHOUT ROWID`,
      `CREATE TABLE causeway_group_members (
         group_name TEXT NOT NULL,
         member TEXT NOT NULL,
         instance TEXT NOT NULL,
         joined_at INTEGER NOT NULL,
         expires_at INTEGER NOT NULL,
         PRIMARY KEY (group_name, member)
       ) WITHOUT ROWID`,
    ],
  },
];

interface MemberRow {
  member: string;
  instance: string;
  joined_at: number;
  expires_at: number;
}

interface GroupRow {
  partitions: number;
  start_after: number;
  created_at: number;
}

function prepare(db: Database.Database) {
  return {
    define: db.prepare<[string, number, number, number]>(
      `INSERT INTO causeway_consumer_groups (name, partitions, start_after, created_at)
       VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
    ),
    definition: db.prepare<[string], GroupRow>(
      'SELECT partitions, start_after, created_at FROM causeway_consumer_groups WHERE name = ?',
    ),
    // Taken when free, expired, or already this instance's; joined_at kept for the same one.
    heartbeat: db.prepare<[string, string, string, number, number, number]>(
      `INSERT INTO causeway_group_members (group_name, member, instance, joined_at, expires_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (group_name, member) DO UPDATE SET
         joined_at = CASE WHEN causeway_group_members.instance = excluded.instance
           THEN causeway_group_members.joined_at ELSE excluded.joined_at END,
         instance = excluded.instance, expires_at = excluded.expires_at
       WHERE causeway_group_members.instance = excluded.instance
         OR causeway_group_members.expires_at <= ?`,
    ),
    member: db.prepare<[string, string], MemberRow>(
      `SELECT member, instance, joined_at, expires_at FROM causeway_group_members
       WHERE group_name = ? AND member = ?`,
    ),
    prune: db.prepare<[string, number]>(
      'DELETE FROM causeway_group_members WHERE group_name = ? AND expires_at <= ?',
    ),
    leave: db.prepare<[string, string, string]>(
      'DELETE FROM causeway_group_members WHERE group_name = ? AND member = ? AND instance = ?',
    ),
    members: db.prepare<[string, number], MemberRow>(
      `SELECT member, instance, joined_at, expires_at FROM causeway_group_members
       WHERE group_name = ? AND expires_at > ?`,
    ),
  };
}

/**
 * Creates or migrates the consumer group tables in the store's file, in a transaction of the
 * store.
 *
 * @throws {SchemaTooNewError} when a newer Causeway migrated the tables.
 */
export async function migrateSqliteGroupTables(store: SqliteEventStore): Promise<void> {
  await store.transaction((tx) => {
    migrateSqlite(tx.database, SQLITE_GROUPS_COMPONENT, sqliteGroupMigrations);
    return Promise.resolve();
  });
}

/**
 * Consumer group membership in the store's SQLite file, migrated first (as the
 * `consumer-groups` component): members of a group in every process opening the file see
 * each other.
 *
 * @example
 * ```ts
 * const store = SqliteEventStore.open('./data/events.db');
 * const group = new ConsumerGroup<SqliteTransaction>({
 *   name: 'mailer',
 *   partitions: 8,
 *   storage: await sqliteSubscriptionStorage(store),
 *   membership: await sqliteGroupMembership(store),
 *   handler,
 * });
 * ```
 */
export async function sqliteGroupMembership(
  store: SqliteEventStore,
): Promise<SqliteGroupMembershipStore> {
  await migrateSqliteGroupTables(store);
  return new SqliteGroupMembershipStore(store);
}

/**
 * Consumer groups and their members in the store's SQLite file (`causeway_consumer_groups`,
 * `causeway_group_members`). Usually made with `sqliteGroupMembership(store)`, which
 * migrates the tables first.
 */
export class SqliteGroupMembershipStore implements GroupMembershipStore {
  private readonly sql: SqliteStatementCache<ReturnType<typeof prepare>>;

  constructor(store: SqliteEventStore) {
    this.sql = new SqliteStatementCache(store, prepare, 'consumer groups');
  }

  async define(
    group: string,
    definition: GroupDefinition,
    now: number,
  ): Promise<StoredGroupDefinition> {
    assertDefineArguments(group, definition, now);
    return this.sql.write(undefined, (s) => {
      s.define.run(group, definition.partitions, definition.startAfter, now);
      const row = s.definition.get(group);
      if (!row) throw new Error('internal: a consumer group was neither defined nor found');
      return toDefinition(row);
    });
  }

  definition(group: string): Promise<StoredGroupDefinition | undefined> {
    return this.sql.read((s) => {
      assertGroupName(group);
      const row = s.definition.get(group);
      return row && toDefinition(row);
    });
  }

  async heartbeat(
    group: string,
    member: string,
    instance: string,
    ttlMs: number,
    now: number,
  ): Promise<HeartbeatResult> {
    assertHeartbeatArguments(group, member, instance, ttlMs, now);
    return this.sql.write(undefined, (s): HeartbeatResult => {
      s.prune.run(group, now);
      if (s.heartbeat.run(group, member, instance, now, now + ttlMs, now).changes > 0)
        return { joined: true };
      const row = s.member.get(group, member);
      if (!row) throw new Error('internal: a member was neither recorded nor found');
      return { joined: false, holder: toMember(group, row) };
    });
  }

  async leave(group: string, member: string, instance: string): Promise<void> {
    assertGroupName(group);
    assertMemberId(member);
    assertName(instance, 'instance');
    await this.sql.write(undefined, (s) => s.leave.run(group, member, instance));
  }

  members(group: string, now: number): Promise<GroupMember[]> {
    return this.sql.read((s) => {
      assertGroupName(group);
      assertNow(now);
      return (
        s.members
          .all(group, now)
          .map((row) => toMember(group, row))
          // Sorted here rather than by SQL, whose collation may order ids differently.
          .sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0))
      );
    });
  }
}

function toDefinition(row: GroupRow): StoredGroupDefinition {
  return {
    partitions: row.partitions,
    startAfter: row.start_after,
    createdAt: new Date(row.created_at),
  };
}

function toMember(group: string, row: MemberRow): GroupMember {
  return {
    group,
    member: row.member,
    instance: row.instance,
    joinedAt: new Date(row.joined_at),
    expiresAt: new Date(row.expires_at),
  };
}
