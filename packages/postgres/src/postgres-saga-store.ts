import { escapeIdentifier } from 'pg';
import {
  InvalidArgumentError,
  encodeJson,
  assertSagaKey,
  assertTimer,
  resolveListInstances,
  DEFAULT_SAGA_LIST_LIMIT,
  type CommandSettlement,
  type ListCommandsOptions,
  type NewOutboxEntry,
  type OutboxEntry,
  type OutboxUpdate,
  type SagaHistoryEntry,
  type SagaInstanceRecord,
  type SagaStore,
  type SagaTimerRecord,
  type SagaInstanceView,
  type SagaQuery,
  type SagaStatus,
} from '@causewayjs/core';
import {
  type Migration,
  INSTANCE_COLUMNS,
  OUTBOX_COLUMNS,
  assertPageLimit,
  outboxEntryFromRow,
  sagaHistoryFromText,
  sagaHistoryText,
  sagaInstanceBody,
  sagaInstanceFromRow,
  sagaTimerFromRow,
  sagaViewFromRow,
  type SagaInstanceRow,
  type SagaInstanceViewRow,
  type SagaOutboxRow,
  type SagaTimerRow,
} from '@causewayjs/core/internals';
import type { PostgresEventStore, PostgresTransaction } from './postgres-event-store.js';
import { migrateStoreComponent } from './postgres-migrations.js';
import { PostgresSubscriptionTables } from './postgres-subscription-storage.js';

/** The name under which the saga tables record their schema version. */
export const POSTGRES_SAGAS_COMPONENT = 'sagas';

/** The saga tables (instances, timers, outbox) for a schema, version by version. */
export function postgresSagaMigrations(schema: string): Migration[] {
  const s = escapeIdentifier(schema);
  return [
    {
      version: 1,
      description: 'saga instances, timers, command outbox',
      statements: [
        `CREATE TABLE ${s}.causeway_saga_instances (
          saga text NOT NULL,
          id text NOT NULL,
          status text NOT NULL,
          step text NOT NULL,
          body text NOT NULL,
          started_at bigint NOT NULL,
          updated_at bigint NOT NULL,
          PRIMARY KEY (saga, id)
        )`,
        `CREATE INDEX causeway_saga_instances_id ON ${s}.causeway_saga_instances (id COLLATE "C", saga COLLATE "C")`,
        `CREATE TABLE ${s}.causeway_saga_timers (
          id text PRIMARY KEY,
          saga text NOT NULL,
          instance_id text NOT NULL,
          type text NOT NULL,
          due_at bigint NOT NULL,
          data text NOT NULL
        )`,
        `CREATE INDEX causeway_saga_timers_due ON ${s}.causeway_saga_timers (due_at, id)`,
        `CREATE INDEX causeway_saga_timers_instance ON ${s}.causeway_saga_timers (saga, instance_id)`,
        `CREATE TABLE ${s}.causeway_saga_outbox (
          seq bigserial PRIMARY KEY,
          command_id text NOT NULL UNIQUE,
          source text NOT NULL,
          instance_id text,
          compensation boolean NOT NULL,
          type text NOT NULL,
          data text NOT NULL,
          metadata text NOT NULL,
          status text NOT NULL,
          attempts int NOT NULL,
          last_error text,
          next_attempt_at bigint NOT NULL,
          created_at bigint NOT NULL,
          settled_at bigint,
          reply text
        )`,
        `CREATE INDEX causeway_saga_outbox_pending ON ${s}.causeway_saga_outbox (seq) WHERE status = 'pending'`,
        `CREATE INDEX causeway_saga_outbox_instance ON ${s}.causeway_saga_outbox (source, instance_id, seq)`,
      ],
    },
    {
      version: 2,
      description:
        'saga history in a column of its own, appended to; duplicates told by log position',
      statements: [
        `ALTER TABLE ${s}.causeway_saga_instances ADD COLUMN history text NOT NULL DEFAULT ''`,
        // One JSON entry per line, in order (json, not jsonb: the entries keep their text, less
        // any line feed, which in JSON text can only be whitespace). The
        // last position received is that of the newest event among the 'received' entries
        // still in the log (0 when none is).
        `UPDATE ${s}.causeway_saga_instances i SET
           history = coalesce(
             (SELECT string_agg(replace(h.value::text, E'\n', ''), E'\n' ORDER BY h.ord) || E'\n'
                FROM json_array_elements(i.body::json -> 'history') WITH ORDINALITY AS h(value, ord)),
             ''),
           -- Every key of the body but the history, as it was (a state left out stays out),
           -- and the last position.
           body = (SELECT json_object_agg(part.key, part.value) FROM (
               SELECT b.key, b.value FROM json_each(i.body::json) AS b WHERE b.key <> 'history'
               UNION ALL
               SELECT 'lastPosition', to_json(coalesce(
                 (SELECT max(e.position)
                    FROM json_array_elements(i.body::json -> 'history') AS h(value)
                    JOIN ${s}.causeway_events e ON e.id = CASE
                      WHEN h.value ->> 'id' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                      THEN (h.value ->> 'id')::uuid END
                   WHERE h.value ->> 'kind' = 'received'),
                 0))
             ) AS part)::text`,
      ],
    },
  ];
}

/**
 * Saga instances, timers and the command outbox in the store's PostgreSQL schema, written in
 * the store's transactions so they commit with the saga's checkpoint. Loading an instance in
 * a transaction locks its row until the transaction ends, so the saga's subscription, the
 * timer loop and the outbox loop never overwrite each other. Make it with
 * {@link postgresSagaStore}, which migrates the tables first.
 */
export class PostgresSagaStore implements SagaStore<PostgresTransaction> {
  private readonly db: PostgresSubscriptionTables;
  private readonly sql;

  constructor(store: PostgresEventStore) {
    this.db = new PostgresSubscriptionTables(store);
    const st = this.db.statement.bind(this.db);
    const i = this.db.table('causeway_saga_instances');
    const t = this.db.table('causeway_saga_timers');
    const o = this.db.table('causeway_saga_outbox');
    this.sql = {
      load: st('saga_load', `SELECT ${INSTANCE_COLUMNS} FROM ${i} WHERE saga = $1 AND id = $2`),
      view: st('saga_view', `SELECT * FROM ${i} WHERE saga = $1 AND id = $2`),
      history: st('saga_history', `SELECT history FROM ${i} WHERE saga = $1 AND id = $2`),
      loadForUpdate: st(
        'saga_load_lock',
        `SELECT ${INSTANCE_COLUMNS} FROM ${i} WHERE saga = $1 AND id = $2 FOR UPDATE`,
      ),
      loadManyForUpdate: st(
        'saga_load_many_lock',
        `SELECT ${INSTANCE_COLUMNS} FROM ${i} WHERE saga = $1 AND id = ANY($2::text[])
         ORDER BY id COLLATE "C" FOR UPDATE`,
      ),
      saveMany: st(
        'saga_save_many',
        `INSERT INTO ${i} AS inst (saga, id, status, step, body, history, started_at, updated_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
           $6::text[], $7::bigint[], $8::bigint[])
         ON CONFLICT (saga, id) DO UPDATE SET status = EXCLUDED.status, step = EXCLUDED.step,
           body = EXCLUDED.body, history = inst.history || EXCLUDED.history,
           updated_at = EXCLUDED.updated_at`,
      ),
      save: st(
        'saga_save',
        `INSERT INTO ${i} AS inst (saga, id, status, step, body, history, started_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (saga, id) DO UPDATE SET status = EXCLUDED.status, step = EXCLUDED.step,
           body = EXCLUDED.body, history = inst.history || EXCLUDED.history,
           updated_at = EXCLUDED.updated_at`,
      ),
      list: st(
        'saga_list',
        `SELECT * FROM ${i}
         WHERE ($1::text IS NULL OR saga = $1) AND ($2::text IS NULL OR status = $2)
           AND ($3::text IS NULL OR id COLLATE "C" > $3)
         ORDER BY id COLLATE "C", saga COLLATE "C" LIMIT $4`,
      ),
      count: st(
        'saga_count',
        `SELECT count(*) AS n FROM ${i}
         WHERE ($1::text IS NULL OR saga = $1) AND ($2::text IS NULL OR status = $2)`,
      ),
      addTimer: st(
        'saga_timer_add',
        `INSERT INTO ${t} (id, saga, instance_id, type, due_at, data) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO NOTHING`,
      ),
      takeTimer: st('saga_timer_take', `DELETE FROM ${t} WHERE id = $1 RETURNING *`),
      timersOf: st(
        'saga_timers_of',
        `SELECT * FROM ${t} WHERE saga = $1 AND instance_id = $2 ORDER BY due_at, id COLLATE "C"`,
      ),
      due: st(
        'saga_timers_due',
        `SELECT * FROM ${t} WHERE due_at <= $1 AND ($3::text[] IS NULL OR saga = ANY($3))
         ORDER BY due_at, id COLLATE "C" LIMIT $2`,
      ),
      enqueue: st(
        'saga_outbox_enqueue',
        `INSERT INTO ${o} (command_id, source, instance_id, compensation, type, data, metadata,
           status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8)
         ON CONFLICT (command_id) DO NOTHING`,
      ),
      enqueueMany: st(
        'saga_outbox_enqueue_many',
        // WITH ORDINALITY ... ORDER BY: seq follows the order the commands were sent in.
        `INSERT INTO ${o} (command_id, source, instance_id, compensation, type, data, metadata,
           status, attempts, next_attempt_at, created_at)
         SELECT c, s, i, k, t, d, m, 'pending', 0, a, a
         FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::text[], $6::text[],
           $7::text[], $8::bigint[]) WITH ORDINALITY AS u(c, s, i, k, t, d, m, a, n)
         ORDER BY n
         ON CONFLICT (command_id) DO NOTHING`,
      ),
      settleMany: st(
        'saga_outbox_settle_many',
        `UPDATE ${o} AS o SET status = u.status, attempts = u.attempts, last_error = u.last_error,
           next_attempt_at = u.next_attempt_at, settled_at = u.settled_at, reply = u.reply
         FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::bigint[], $6::text[],
           $7::text[]) AS u(status, attempts, last_error, next_attempt_at, settled_at, reply, command_id)
         WHERE o.command_id = u.command_id`,
      ),
      pending: st(
        'saga_outbox_pending',
        `SELECT ${OUTBOX_COLUMNS} FROM ${o}
         WHERE status = 'pending' AND ($2::text[] IS NULL OR source = ANY($2))
         ORDER BY seq LIMIT $1`,
      ),
      settle: st(
        'saga_outbox_settle',
        `UPDATE ${o} SET status = $1, attempts = $2, last_error = $3, next_attempt_at = $4,
           settled_at = $5, reply = $6 WHERE command_id = $7`,
      ),
      listCommands: st(
        'saga_outbox_list',
        `SELECT ${OUTBOX_COLUMNS} FROM ${o}
         WHERE seq > $1 AND ($2::text IS NULL OR source = $2) AND ($3::text IS NULL OR instance_id = $3)
           AND ($4::text IS NULL OR status = $4)
         ORDER BY seq LIMIT $5`,
      ),
    };
  }

  async loadInstance(
    saga: string,
    id: string,
    tx?: PostgresTransaction,
  ): Promise<SagaInstanceRecord | undefined> {
    assertSagaKey(saga, id);
    const { rows } = await this.db.query<SagaInstanceRow>(
      'saga load',
      tx ? this.sql.loadForUpdate : this.sql.load,
      [saga, id],
      tx,
    );
    return rows[0] && sagaInstanceFromRow(rows[0]);
  }

  async loadInstances(
    saga: string,
    ids: readonly string[],
    tx: PostgresTransaction,
  ): Promise<SagaInstanceRecord[]> {
    for (const id of ids) assertSagaKey(saga, id);
    if (ids.length === 0) return [];
    const { rows } = await this.db.query<SagaInstanceRow>(
      'saga load',
      this.sql.loadManyForUpdate,
      [saga, [...ids]],
      required(tx),
    );
    return rows.map(sagaInstanceFromRow);
  }

  async saveInstance(record: SagaInstanceRecord, tx: PostgresTransaction): Promise<void> {
    assertSagaKey(record.saga, record.id);
    await this.db.query(
      'saga save',
      this.sql.save,
      [
        record.saga,
        record.id,
        record.status,
        record.step,
        sagaInstanceBody(record),
        sagaHistoryText(record.newHistory),
        record.startedAt,
        record.updatedAt,
      ],
      required(tx),
    );
  }

  async saveInstances(
    records: readonly SagaInstanceRecord[],
    tx: PostgresTransaction,
  ): Promise<void> {
    required(tx);
    // One row per instance (an upsert may not touch a row twice): the last record given wins,
    // and the new history of every record given for it is appended, in order.
    const byKey = new Map<string, { record: SagaInstanceRecord; history: string }>();
    for (const record of records) {
      assertSagaKey(record.saga, record.id);
      const key = `${record.saga}\u0000${record.id}`;
      const history = (byKey.get(key)?.history ?? '') + sagaHistoryText(record.newHistory);
      byKey.set(key, { record, history });
    }
    if (byKey.size === 0) return;
    const list = [...byKey.values()];
    await this.db.query(
      'saga save',
      this.sql.saveMany,
      [
        list.map((x) => x.record.saga),
        list.map((x) => x.record.id),
        list.map((x) => x.record.status),
        list.map((x) => x.record.step),
        list.map((x) => sagaInstanceBody(x.record)),
        list.map((x) => x.history),
        list.map((x) => x.record.startedAt),
        list.map((x) => x.record.updatedAt),
      ],
      tx,
    );
  }

  async loadHistory(
    saga: string,
    id: string,
    tx?: PostgresTransaction,
  ): Promise<SagaHistoryEntry[]> {
    assertSagaKey(saga, id);
    const { rows } = await this.db.query<{ history: string }>(
      'saga history',
      this.sql.history,
      [saga, id],
      tx,
    );
    return sagaHistoryFromText(rows[0]?.history ?? '');
  }

  async addTimer(timer: SagaTimerRecord, tx: PostgresTransaction): Promise<void> {
    assertTimer(timer);
    await this.db.query(
      'saga timer add',
      this.sql.addTimer,
      [
        timer.id,
        timer.saga,
        timer.instanceId,
        timer.type,
        timer.dueAt,
        encodeJson(timer.data ?? null),
      ],
      required(tx),
    );
  }

  async takeTimer(id: string, tx: PostgresTransaction): Promise<SagaTimerRecord | undefined> {
    const { rows } = await this.db.query<SagaTimerRow>(
      'saga timer take',
      this.sql.takeTimer,
      [id],
      required(tx),
    );
    return rows[0] && sagaTimerFromRow(rows[0]);
  }

  async timersOf(
    saga: string,
    instanceId: string,
    tx?: PostgresTransaction,
  ): Promise<SagaTimerRecord[]> {
    assertSagaKey(saga, instanceId);
    const { rows } = await this.db.query<SagaTimerRow>(
      'saga timers',
      this.sql.timersOf,
      [saga, instanceId],
      tx,
    );
    return rows.map(sagaTimerFromRow);
  }

  async dueTimers(
    now: number,
    limit: number,
    sagas?: readonly string[],
  ): Promise<SagaTimerRecord[]> {
    assertPageLimit(limit);
    const { rows } = await this.db.query<SagaTimerRow>('saga due timers', this.sql.due, [
      now,
      limit,
      sagas ? [...sagas] : null,
    ]);
    return rows.map(sagaTimerFromRow);
  }

  async enqueue(entries: readonly NewOutboxEntry[], tx: PostgresTransaction): Promise<void> {
    required(tx);
    if (entries.length === 0) return;
    const data = entries.map((e) => encodeJson(e.command.data ?? null));
    const metadata = entries.map((e) => encodeJson(e.command.metadata));
    if (entries.length === 1) {
      const e = entries[0] as NewOutboxEntry;
      await this.db.query(
        'saga outbox enqueue',
        this.sql.enqueue,
        [
          e.command.id,
          e.source,
          e.instanceId,
          e.compensation,
          e.command.type,
          data[0],
          metadata[0],
          e.createdAt,
        ],
        tx,
      );
      return;
    }
    await this.db.query(
      'saga outbox enqueue',
      this.sql.enqueueMany,
      [
        entries.map((e) => e.command.id),
        entries.map((e) => e.source),
        entries.map((e) => e.instanceId),
        entries.map((e) => e.compensation),
        entries.map((e) => e.command.type),
        data,
        metadata,
        entries.map((e) => e.createdAt),
      ],
      tx,
    );
  }

  async pendingCommands(limit: number, sources?: readonly string[]): Promise<OutboxEntry[]> {
    assertPageLimit(limit);
    const { rows } = await this.db.query<SagaOutboxRow>('saga outbox pending', this.sql.pending, [
      limit,
      sources ? [...sources] : null,
    ]);
    return rows.map(outboxEntryFromRow);
  }

  async settleCommand(
    commandId: string,
    update: OutboxUpdate,
    tx?: PostgresTransaction,
  ): Promise<void> {
    await this.db.query(
      'saga outbox settle',
      this.sql.settle,
      [
        update.status,
        update.attempts,
        update.lastError,
        update.nextAttemptAt,
        update.settledAt,
        update.reply === null ? null : encodeJson(update.reply),
        commandId,
      ],
      tx,
    );
  }

  async settleCommands(
    settlements: readonly CommandSettlement[],
    tx?: PostgresTransaction,
  ): Promise<void> {
    if (settlements.length === 0) return;
    if (settlements.length === 1) {
      const { commandId, update } = settlements[0] as CommandSettlement;
      return this.settleCommand(commandId, update, tx);
    }
    const u = settlements.map((s) => s.update);
    await this.db.query(
      'saga outbox settle',
      this.sql.settleMany,
      [
        u.map((x) => x.status),
        u.map((x) => x.attempts),
        u.map((x) => x.lastError),
        u.map((x) => x.nextAttemptAt),
        u.map((x) => x.settledAt),
        u.map((x) => (x.reply === null ? null : encodeJson(x.reply))),
        settlements.map((s) => s.commandId),
      ],
      tx,
    );
  }

  async listCommands(options: ListCommandsOptions = {}): Promise<OutboxEntry[]> {
    const limit = options.limit ?? DEFAULT_SAGA_LIST_LIMIT;
    assertPageLimit(limit);
    const { rows } = await this.db.query<SagaOutboxRow>('saga outbox list', this.sql.listCommands, [
      options.after ?? 0,
      options.source ?? null,
      options.instanceId ?? null,
      options.status ?? null,
      limit,
    ]);
    return rows.map(outboxEntryFromRow);
  }

  async listInstances(
    options?: Parameters<SagaQuery['listInstances']>[0],
  ): Promise<SagaInstanceView[]> {
    const o = resolveListInstances(options);
    const { rows } = await this.db.query<SagaInstanceViewRow>('saga list', this.sql.list, [
      o.saga ?? null,
      o.status ?? null,
      o.after ?? null,
      o.limit,
    ]);
    const views: SagaInstanceView[] = [];
    for (const row of rows) views.push(sagaViewFromRow(row, await this.timersOf(row.saga, row.id)));
    return views;
  }

  async countInstances(options?: { saga?: string; status?: SagaStatus }): Promise<number> {
    const o = resolveListInstances(options);
    const { rows } = await this.db.query<{ n: string }>('saga count', this.sql.count, [
      o.saga ?? null,
      o.status ?? null,
    ]);
    return Number(rows[0]?.n ?? 0);
  }

  async getInstance(saga: string, id: string): Promise<SagaInstanceView | undefined> {
    assertSagaKey(saga, id);
    const { rows } = await this.db.query<SagaInstanceViewRow>('saga load', this.sql.view, [
      saga,
      id,
    ]);
    const row = rows[0];
    return row && sagaViewFromRow(row, await this.timersOf(saga, id));
  }
}

/**
 * Migrates the saga tables in the store's schema and returns a {@link PostgresSagaStore}.
 *
 * @example
 * ```ts
 * const store = await PostgresEventStore.open(url);
 * const sagaStore = await postgresSagaStore(store);
 * ```
 */
export async function postgresSagaStore(store: PostgresEventStore): Promise<PostgresSagaStore> {
  await migrateStoreComponent(
    store,
    POSTGRES_SAGAS_COMPONENT,
    postgresSagaMigrations(store.schema),
    'saga',
  );
  return new PostgresSagaStore(store);
}

function required(tx: PostgresTransaction | undefined): PostgresTransaction {
  if (!tx) throw new InvalidArgumentError('tx', 'saga writes need the transaction of the store');
  return tx;
}
