import { escapeIdentifier } from 'pg';
import { InvalidArgumentError } from '../../core/errors.js';
import { decodeJson, encodeJson } from '../../core/json-codec.js';
import type { CommandReply } from '../../domain/command-dispatcher.js';
import type { Migration } from '../../store/migrations.js';
import {
  assertSagaKey,
  assertTimer,
  resolveListInstances,
  toInstanceView,
} from '../../sagas/saga-records.js';
import {
  DEFAULT_SAGA_LIST_LIMIT,
  type ListCommandsOptions,
  type NewOutboxEntry,
  type OutboxEntry,
  type OutboxStatus,
  type OutboxUpdate,
  type SagaInstanceRecord,
  type SagaStore,
  type SagaTimerRecord,
} from '../../sagas/saga-store.js';
import type { SagaInstanceView, SagaQuery } from '../../sagas/saga-view.js';
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
  ];
}

interface InstanceRow {
  saga: string;
  id: string;
  status: string;
  step: string;
  body: string;
  started_at: string;
  updated_at: string;
}
interface TimerRow {
  id: string;
  saga: string;
  instance_id: string;
  type: string;
  due_at: string;
  data: string;
}
interface OutboxRow {
  seq: string;
  command_id: string;
  source: string;
  instance_id: string | null;
  compensation: boolean;
  type: string;
  data: string;
  metadata: string;
  status: string;
  attempts: number;
  last_error: string | null;
  next_attempt_at: string;
  created_at: string;
  settled_at: string | null;
  reply: string | null;
}

const OUTBOX_COLUMNS =
  'seq, command_id, source, instance_id, compensation, type, data, metadata, status, attempts, last_error, next_attempt_at, created_at, settled_at, reply';

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
      load: st('saga_load', `SELECT * FROM ${i} WHERE saga = $1 AND id = $2`),
      loadForUpdate: st(
        'saga_load_lock',
        `SELECT * FROM ${i} WHERE saga = $1 AND id = $2 FOR UPDATE`,
      ),
      save: st(
        'saga_save',
        `INSERT INTO ${i} (saga, id, status, step, body, started_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (saga, id) DO UPDATE SET status = EXCLUDED.status, step = EXCLUDED.step,
           body = EXCLUDED.body, updated_at = EXCLUDED.updated_at`,
      ),
      list: st(
        'saga_list',
        `SELECT * FROM ${i}
         WHERE ($1::text IS NULL OR saga = $1) AND ($2::text IS NULL OR status = $2)
           AND ($3::text IS NULL OR id COLLATE "C" > $3)
         ORDER BY id COLLATE "C", saga COLLATE "C" LIMIT $4`,
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
    const { rows } = await this.db.query<InstanceRow>(
      'saga load',
      tx ? this.sql.loadForUpdate : this.sql.load,
      [saga, id],
      tx,
    );
    return rows[0] && toRecord(rows[0]);
  }

  async saveInstance(record: SagaInstanceRecord, tx: PostgresTransaction): Promise<void> {
    assertSagaKey(record.saga, record.id);
    const body = encodeJson({
      state: record.state,
      trail: record.trail,
      history: record.history,
      pendingCompensations: record.pendingCompensations,
      failedCompensations: record.failedCompensations,
    });
    await this.db.query(
      'saga save',
      this.sql.save,
      [
        record.saga,
        record.id,
        record.status,
        record.step,
        body,
        record.startedAt,
        record.updatedAt,
      ],
      required(tx),
    );
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
    const { rows } = await this.db.query<TimerRow>(
      'saga timer take',
      this.sql.takeTimer,
      [id],
      required(tx),
    );
    return rows[0] && toTimer(rows[0]);
  }

  async timersOf(
    saga: string,
    instanceId: string,
    tx?: PostgresTransaction,
  ): Promise<SagaTimerRecord[]> {
    assertSagaKey(saga, instanceId);
    const { rows } = await this.db.query<TimerRow>(
      'saga timers',
      this.sql.timersOf,
      [saga, instanceId],
      tx,
    );
    return rows.map(toTimer);
  }

  async dueTimers(
    now: number,
    limit: number,
    sagas?: readonly string[],
  ): Promise<SagaTimerRecord[]> {
    assertLimit(limit);
    const { rows } = await this.db.query<TimerRow>('saga due timers', this.sql.due, [
      now,
      limit,
      sagas ? [...sagas] : null,
    ]);
    return rows.map(toTimer);
  }

  async enqueue(entries: readonly NewOutboxEntry[], tx: PostgresTransaction): Promise<void> {
    required(tx);
    if (entries.length === 0) return;
    // In order, so that `seq` follows the order the saga sent them in.
    for (const e of entries) {
      await this.db.query(
        'saga outbox enqueue',
        this.sql.enqueue,
        [
          e.command.id,
          e.source,
          e.instanceId,
          e.compensation,
          e.command.type,
          encodeJson(e.command.data ?? null),
          encodeJson(e.command.metadata),
          e.createdAt,
        ],
        tx,
      );
    }
  }

  async pendingCommands(limit: number, sources?: readonly string[]): Promise<OutboxEntry[]> {
    assertLimit(limit);
    const { rows } = await this.db.query<OutboxRow>('saga outbox pending', this.sql.pending, [
      limit,
      sources ? [...sources] : null,
    ]);
    return rows.map(toEntry);
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

  async listCommands(options: ListCommandsOptions = {}): Promise<OutboxEntry[]> {
    const limit = options.limit ?? DEFAULT_SAGA_LIST_LIMIT;
    assertLimit(limit);
    const { rows } = await this.db.query<OutboxRow>('saga outbox list', this.sql.listCommands, [
      options.after ?? 0,
      options.source ?? null,
      options.instanceId ?? null,
      options.status ?? null,
      limit,
    ]);
    return rows.map(toEntry);
  }

  async listInstances(
    options?: Parameters<SagaQuery['listInstances']>[0],
  ): Promise<SagaInstanceView[]> {
    const o = resolveListInstances(options);
    const { rows } = await this.db.query<InstanceRow>('saga list', this.sql.list, [
      o.saga ?? null,
      o.status ?? null,
      o.after ?? null,
      o.limit,
    ]);
    const views: SagaInstanceView[] = [];
    for (const row of rows)
      views.push(toInstanceView(toRecord(row), await this.timersOf(row.saga, row.id)));
    return views;
  }

  async getInstance(saga: string, id: string): Promise<SagaInstanceView | undefined> {
    const record = await this.loadInstance(saga, id);
    return record && toInstanceView(record, await this.timersOf(saga, id));
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

function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new InvalidArgumentError('limit', 'must be an integer >= 1');
}

function toRecord(row: InstanceRow): SagaInstanceRecord {
  const body = decodeJson<
    Pick<
      SagaInstanceRecord,
      'state' | 'trail' | 'history' | 'pendingCompensations' | 'failedCompensations'
    >
  >(row.body);
  return {
    saga: row.saga,
    id: row.id,
    status: row.status as SagaInstanceRecord['status'],
    step: row.step,
    ...body,
    startedAt: Number(row.started_at),
    updatedAt: Number(row.updated_at),
  };
}

function toTimer(row: TimerRow): SagaTimerRecord {
  return {
    id: row.id,
    saga: row.saga,
    instanceId: row.instance_id,
    type: row.type,
    dueAt: Number(row.due_at),
    data: decodeJson(row.data),
  };
}

function toEntry(row: OutboxRow): OutboxEntry {
  return {
    seq: Number(row.seq),
    command: {
      id: row.command_id,
      type: row.type,
      data: decodeJson(row.data),
      metadata: decodeJson<Record<string, unknown>>(row.metadata),
    },
    source: row.source,
    instanceId: row.instance_id,
    compensation: row.compensation,
    status: row.status as OutboxStatus,
    attempts: row.attempts,
    lastError: row.last_error,
    nextAttemptAt: Number(row.next_attempt_at),
    createdAt: Number(row.created_at),
    settledAt: row.settled_at === null ? null : Number(row.settled_at),
    reply: row.reply === null ? null : decodeJson<CommandReply>(row.reply),
  };
}
