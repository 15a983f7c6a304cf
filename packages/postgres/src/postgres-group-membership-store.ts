import { escapeIdentifier } from 'pg';
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
import type { PostgresEventStore } from './postgres-event-store.js';
import { migrateStoreComponent } from './postgres-migrations.js';
import { PostgresSubscriptionTables } from './postgres-subscription-storage.js';

/** The name under which the consumer group tables record their schema version. */
export const POSTGRES_GROUPS_COMPONENT = 'consumer-groups';

/**
 * The consumer group tables (groups, members) for a given schema, version by version. Never
 * edit a published step: add one. Times are milliseconds from the members' clock, as for
 * leases, not the server's.
 */
export function postgresGroupMigrations(schema: string): Migration[] {
  const s = escapeIdentifier(schema);
  return [
    {
      version: 1,
      description: 'consumer groups and their members',
      statements: [
        `CREATE TABLE ${s}.causeway_consumer_groups (
          name text PRIMARY KEY,
          partitions int NOT NULL,
          start_after bigint NOT NULL,
          created_at bigint NOT NULL
        )`,
        `CREATE TABLE ${s}.causeway_group_members (
          group_name text NOT NULL,
          member text NOT NULL,
          instance text NOT NULL,
          joined_at bigint NOT NULL,
          expires_at bigint NOT NULL,
          PRIMARY KEY (group_name, member)
        )`,
      ],
    },
  ];
}

/**
 * Creates or migrates the consumer group tables in the store's schema, on one of its pooled
 * connections (under the schema's migration lock).
 *
 * @throws {SchemaTooNewError} when a newer Causeway migrated the tables.
 * @throws {StoreUnavailableError} when the tables cannot be prepared.
 */
export function migratePostgresGroupTables(store: PostgresEventStore): Promise<void> {
  return migrateStoreComponent(
    store,
    POSTGRES_GROUPS_COMPONENT,
    postgresGroupMigrations(store.schema),
    'consumer group',
  );
}

/**
 * Consumer group membership in the store's PostgreSQL schema, migrated first (as the
 * `consumer-groups` component): members of a group in every process using the database see
 * each other.
 *
 * @example
 * ```ts
 * const store = await PostgresEventStore.open(url);
 * const group = new ConsumerGroup<PostgresTransaction>({
 *   name: 'mailer',
 *   partitions: 16,
 *   storage: await postgresSubscriptionStorage(store),
 *   membership: await postgresGroupMembership(store),
 *   handler,
 * });
 * ```
 */
export async function postgresGroupMembership(
  store: PostgresEventStore,
): Promise<PostgresGroupMembershipStore> {
  await migratePostgresGroupTables(store);
  return new PostgresGroupMembershipStore(store);
}

interface MemberRow {
  member: string;
  instance: string;
  joined_at: string;
  expires_at: string;
}

interface GroupRow {
  partitions: number;
  start_after: string;
  created_at: string;
}

/**
 * Consumer groups and their members in the store's PostgreSQL schema
 * (`causeway_consumer_groups`, `causeway_group_members`), on the store's pool. Usually made
 * with `postgresGroupMembership(store)`, which migrates the tables first.
 */
export class PostgresGroupMembershipStore implements GroupMembershipStore {
  private readonly db: PostgresSubscriptionTables;
  private readonly sql;

  constructor(store: PostgresEventStore) {
    this.db = new PostgresSubscriptionTables(store);
    const g = this.db.table('causeway_consumer_groups');
    const m = this.db.table('causeway_group_members');
    const st = this.db.statement.bind(this.db);
    this.sql = {
      define: st(
        'group_define',
        `INSERT INTO ${g} (name, partitions, start_after, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO NOTHING`,
      ),
      definition: st(
        'group_definition',
        `SELECT partitions, start_after, created_at FROM ${g} WHERE name = $1`,
      ),
      prune: st('group_prune', `DELETE FROM ${m} WHERE group_name = $1 AND expires_at <= $2`),
      // Taken when free, expired, or already this instance's; joined_at kept for the same one.
      heartbeat: st(
        'group_heartbeat',
        `INSERT INTO ${m} AS r (group_name, member, instance, joined_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (group_name, member) DO UPDATE SET
           joined_at = CASE WHEN r.instance = EXCLUDED.instance THEN r.joined_at ELSE EXCLUDED.joined_at END,
           instance = EXCLUDED.instance, expires_at = EXCLUDED.expires_at
         WHERE r.instance = EXCLUDED.instance OR r.expires_at <= $4
         RETURNING member`,
      ),
      member: st(
        'group_member',
        `SELECT member, instance, joined_at, expires_at FROM ${m}
         WHERE group_name = $1 AND member = $2`,
      ),
      leave: st(
        'group_leave',
        `DELETE FROM ${m} WHERE group_name = $1 AND member = $2 AND instance = $3`,
      ),
      members: st(
        'group_members',
        `SELECT member, instance, joined_at, expires_at FROM ${m}
         WHERE group_name = $1 AND expires_at > $2`,
      ),
    };
  }

  async define(
    group: string,
    definition: GroupDefinition,
    now: number,
  ): Promise<StoredGroupDefinition> {
    assertDefineArguments(group, definition, now);
    await this.db.query('define consumer group', this.sql.define, [
      group,
      definition.partitions,
      definition.startAfter,
      now,
    ]);
    const stored = await this.definition(group);
    if (!stored) throw new Error('internal: a consumer group was neither defined nor found');
    return stored;
  }

  async definition(group: string): Promise<StoredGroupDefinition | undefined> {
    assertGroupName(group);
    const { rows } = await this.db.query<GroupRow>('read consumer group', this.sql.definition, [
      group,
    ]);
    const row = rows[0];
    return (
      row && {
        partitions: row.partitions,
        startAfter: Number(row.start_after),
        createdAt: new Date(Number(row.created_at)),
      }
    );
  }

  async heartbeat(
    group: string,
    member: string,
    instance: string,
    ttlMs: number,
    now: number,
  ): Promise<HeartbeatResult> {
    assertHeartbeatArguments(group, member, instance, ttlMs, now);
    await this.db.query('prune group members', this.sql.prune, [group, now]);
    // The holder may leave between the two statements; then the next round records this one.
    for (let round = 0; round < 3; round++) {
      const { rowCount } = await this.db.query('heartbeat', this.sql.heartbeat, [
        group,
        member,
        instance,
        now,
        now + ttlMs,
      ]);
      if (rowCount > 0) return { joined: true };
      const { rows } = await this.db.query<MemberRow>('read group member', this.sql.member, [
        group,
        member,
      ]);
      const row = rows[0];
      if (row) return { joined: false, holder: toMember(group, row) };
    }
    throw new Error('internal: a member was neither recorded nor found three times over');
  }

  async leave(group: string, member: string, instance: string): Promise<void> {
    assertGroupName(group);
    assertMemberId(member);
    assertName(instance, 'instance');
    await this.db.query('leave consumer group', this.sql.leave, [group, member, instance]);
  }

  async members(group: string, now: number): Promise<GroupMember[]> {
    assertGroupName(group);
    assertNow(now);
    const { rows } = await this.db.query<MemberRow>('read group members', this.sql.members, [
      group,
      now,
    ]);
    return (
      rows
        .map((row) => toMember(group, row))
        // Sorted here rather than by SQL, whose collation may order ids differently.
        .sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0))
    );
  }
}

function toMember(group: string, row: MemberRow): GroupMember {
  return {
    group,
    member: row.member,
    instance: row.instance,
    joinedAt: new Date(Number(row.joined_at)),
    expiresAt: new Date(Number(row.expires_at)),
  };
}
