import type Database from 'better-sqlite3';
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
import type { SqliteEventStore, SqliteTransaction } from './sqlite-event-store.js';
import { migrateSqlite } from './sqlite-migrations.js';
import { SqliteStatementCache } from './sqlite-statement-cache.js';

/** The name under which the saga tables record their schema version. */
export const SQLITE_SAGAS_COMPONENT = 'sagas';

/** The saga tables (instances, timers, outbox), version by version. Never edit a published step. */
export const sqliteSagaMigrations: readonly Migration[] = [
  {
    version: 1,
    description: 'saga instances, timers, command outbox',
    statements: [
      `CREATE TABLE causeway_saga_instances (
         saga TEXT NOT NULL,
         id TEXT NOT NULL,
         status TEXT NOT NULL,
         step TEXT NOT NULL,
         body TEXT NOT NULL,
         started_at INTEGER NOT NULL,
         updated_at INTEGER NOT NULL,
         PRIMARY KEY (saga, id)
       )`,
      `CREATE INDEX causeway_saga_instances_id ON causeway_saga_instances (id, saga)`,
      `CREATE TABLE causeway_saga_timers (
         id TEXT PRIMARY KEY,
         saga TEXT NOT NULL,
         instance_id TEXT NOT NULL,
         type TEXT NOT NULL,
         due_at INTEGER NOT NULL,
         data TEXT NOT NULL
       ) WITHOUT ROWID`,
      `CREATE INDEX causeway_saga_timers_due ON causeway_saga_timers (due_at, id)`,
      `CREATE INDEX causeway_saga_timers_instance ON causeway_saga_timers (saga, instance_id)`,
      `CREATE TABLE causeway_saga_outbox (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         command_id TEXT NOT NULL UNIQUE,
         source TEXT NOT NULL,
         instance_id TEXT,
         compensation INTEGER NOT NULL,
         type TEXT NOT NULL,
         data TEXT NOT NULL,
         metadata TEXT NOT NULL,
         status TEXT NOT NULL,
         attempts INTEGER NOT NULL,
         last_error TEXT,
         next_attempt_at INTEGER NOT NULL,
         created_at INTEGER NOT NULL,
         settled_at INTEGER,
         reply TEXT
       )`,
      `CREATE INDEX causeway_saga_outbox_pending ON causeway_saga_outbox (seq) WHERE status = 'pending'`,
      `CREATE INDEX causeway_saga_outbox_instance ON causeway_saga_outbox (source, instance_id, seq)`,
    ],
  },
  {
    version: 2,
    description:
      'saga history in a column of its own, appended to; duplicates told by log position',
    statements: [
      `ALTER TABLE causeway_saga_instances ADD COLUMN history TEXT NOT NULL DEFAULT ''`,
      // One JSON entry per line, in order. The last position received is that of the newest
      // event among the 'received' entries still in the log (0 when none is).
      `UPDATE causeway_saga_instances SET
         history = coalesce(
           (SELECT group_concat(h.value, char(10) ORDER BY h.key) || char(10)
              FROM json_each(body, '$.history') h),
           ''),
         body = json_set(json_remove(body, '$.history'), '$.lastPosition', coalesce(
           (SELECT max(e.position) FROM json_each(body, '$.history') h
              JOIN causeway_events e ON e.id = json_extract(h.value, '$.id')
             WHERE json_extract(h.value, '$.kind') = 'received'),
           0))`,
    ],
  },
];

function prepare(db: Database.Database) {
  return {
    load: db.prepare<[string, string], SagaInstanceRow>(
      `SELECT ${INSTANCE_COLUMNS} FROM causeway_saga_instances WHERE saga = ? AND id = ?`,
    ),
    history: db
      .prepare<[string, string], string>(
        'SELECT history FROM causeway_saga_instances WHERE saga = ? AND id = ?',
      )
      .pluck(),
    view: db.prepare<[string, string], SagaInstanceViewRow>(
      'SELECT * FROM causeway_saga_instances WHERE saga = ? AND id = ?',
    ),
    save: db.prepare<[string, string, string, string, string, string, number, number]>(
      `INSERT INTO causeway_saga_instances
         (saga, id, status, step, body, history, started_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (saga, id) DO UPDATE SET status = excluded.status, step = excluded.step,
         body = excluded.body, history = causeway_saga_instances.history || excluded.history,
         updated_at = excluded.updated_at`,
    ),
    list: db.prepare<
      [
        string | null,
        string | null,
        string | null,
        string | null,
        string | null,
        string | null,
        number,
      ],
      SagaInstanceViewRow
    >(
      `SELECT * FROM causeway_saga_instances
       WHERE (? IS NULL OR saga = ?) AND (? IS NULL OR status = ?) AND (? IS NULL OR id > ?)
       ORDER BY id, saga LIMIT ?`,
    ),
    count: db.prepare<[string | null, string | null, string | null, string | null], { n: number }>(
      `SELECT count(*) AS n FROM causeway_saga_instances
       WHERE (? IS NULL OR saga = ?) AND (? IS NULL OR status = ?)`,
    ),
    addTimer: db.prepare<[string, string, string, string, number, string]>(
      `INSERT INTO causeway_saga_timers (id, saga, instance_id, type, due_at, data)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ),
    takeTimer: db.prepare<[string], SagaTimerRow>(
      'DELETE FROM causeway_saga_timers WHERE id = ? RETURNING *',
    ),
    timersOf: db.prepare<[string, string], SagaTimerRow>(
      'SELECT * FROM causeway_saga_timers WHERE saga = ? AND instance_id = ? ORDER BY due_at, id',
    ),
    due: db.prepare<[number, string | null, string | null, number], SagaTimerRow>(
      `SELECT * FROM causeway_saga_timers
       WHERE due_at <= ? AND (? IS NULL OR saga IN (SELECT value FROM json_each(?)))
       ORDER BY due_at, id LIMIT ?`,
    ),
    enqueue: db.prepare<
      [string, string, string | null, number, string, string, string, number, number]
    >(
      `INSERT INTO causeway_saga_outbox (command_id, source, instance_id, compensation, type, data,
         metadata, status, attempts, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (command_id) DO NOTHING`,
    ),
    pending: db.prepare<[string | null, string | null, number], SagaOutboxRow>(
      `SELECT ${OUTBOX_COLUMNS} FROM causeway_saga_outbox
       WHERE status = 'pending' AND (? IS NULL OR source IN (SELECT value FROM json_each(?)))
       ORDER BY seq LIMIT ?`,
    ),
    settle: db.prepare<
      [string, number, string | null, number, number | null, string | null, string]
    >(
      `UPDATE causeway_saga_outbox SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ?,
         settled_at = ?, reply = ? WHERE command_id = ?`,
    ),
    listCommands: db.prepare<
      [
        number,
        string | null,
        string | null,
        string | null,
        string | null,
        string | null,
        string | null,
        number,
      ],
      SagaOutboxRow
    >(
      `SELECT ${OUTBOX_COLUMNS} FROM causeway_saga_outbox
       WHERE seq > ? AND (? IS NULL OR source = ?) AND (? IS NULL OR instance_id = ?)
         AND (? IS NULL OR status = ?)
       ORDER BY seq LIMIT ?`,
    ),
  };
}

/**
 * Saga instances, timers and the command outbox in the store's SQLite file
 * (`causeway_saga_instances`, `causeway_saga_timers`, `causeway_saga_outbox`), written in the
 * store's transactions so they commit with the saga's checkpoint. Make it with
 * {@link sqliteSagaStore}, which migrates the tables first.
 */
export class SqliteSagaStore implements SagaStore<SqliteTransaction> {
  private readonly sql: SqliteStatementCache<ReturnType<typeof prepare>>;

  constructor(store: SqliteEventStore) {
    this.sql = new SqliteStatementCache(store, prepare, 'sagas');
  }

  async loadInstance(
    saga: string,
    id: string,
    tx?: SqliteTransaction,
  ): Promise<SagaInstanceRecord | undefined> {
    assertSagaKey(saga, id);
    const row = tx
      ? await this.sql.write(tx, (s) => s.load.get(saga, id))
      : await this.sql.read((s) => s.load.get(saga, id));
    return row && sagaInstanceFromRow(row);
  }

  async loadInstances(
    saga: string,
    ids: readonly string[],
    tx: SqliteTransaction,
  ): Promise<SagaInstanceRecord[]> {
    for (const id of ids) assertSagaKey(saga, id);
    // Prepared point reads in one call: no round trip to save on SQLite, only the awaits.
    const rows = await this.sql.write(required(tx), (s) =>
      ids.map((id) => s.load.get(saga, id)).filter((row) => row !== undefined),
    );
    return rows.map(sagaInstanceFromRow);
  }

  async saveInstance(record: SagaInstanceRecord, tx: SqliteTransaction): Promise<void> {
    await this.saveInstances([record], tx);
  }

  async saveInstances(
    records: readonly SagaInstanceRecord[],
    tx: SqliteTransaction,
  ): Promise<void> {
    const rows = records.map((record) => {
      assertSagaKey(record.saga, record.id);
      return [
        record.saga,
        record.id,
        record.status,
        record.step,
        sagaInstanceBody(record),
        sagaHistoryText(record.newHistory),
        record.startedAt,
        record.updatedAt,
      ] as const;
    });
    await this.sql.write(required(tx), (s) => {
      for (const row of rows) s.save.run(...row);
    });
  }

  async loadHistory(saga: string, id: string, tx?: SqliteTransaction): Promise<SagaHistoryEntry[]> {
    assertSagaKey(saga, id);
    const text = tx
      ? await this.sql.write(tx, (s) => s.history.get(saga, id))
      : await this.sql.read((s) => s.history.get(saga, id));
    return sagaHistoryFromText(text ?? '');
  }

  async addTimer(timer: SagaTimerRecord, tx: SqliteTransaction): Promise<void> {
    assertTimer(timer);
    const data = encodeJson(timer.data ?? null);
    await this.sql.write(required(tx), (s) =>
      s.addTimer.run(timer.id, timer.saga, timer.instanceId, timer.type, timer.dueAt, data),
    );
  }

  async takeTimer(id: string, tx: SqliteTransaction): Promise<SagaTimerRecord | undefined> {
    const row = await this.sql.write(required(tx), (s) => s.takeTimer.get(id));
    return row && sagaTimerFromRow(row);
  }

  async timersOf(
    saga: string,
    instanceId: string,
    tx?: SqliteTransaction,
  ): Promise<SagaTimerRecord[]> {
    assertSagaKey(saga, instanceId);
    const rows = tx
      ? await this.sql.write(tx, (s) => s.timersOf.all(saga, instanceId))
      : await this.sql.read((s) => s.timersOf.all(saga, instanceId));
    return rows.map(sagaTimerFromRow);
  }

  async dueTimers(
    now: number,
    limit: number,
    sagas?: readonly string[],
  ): Promise<SagaTimerRecord[]> {
    assertPageLimit(limit);
    const only = sagas ? JSON.stringify(sagas) : null;
    return this.sql.read((s) => s.due.all(now, only, only, limit).map(sagaTimerFromRow));
  }

  async enqueue(entries: readonly NewOutboxEntry[], tx: SqliteTransaction): Promise<void> {
    const rows = entries.map(
      (e) =>
        [
          e.command.id,
          e.source,
          e.instanceId,
          e.compensation ? 1 : 0,
          e.command.type,
          encodeJson(e.command.data ?? null),
          encodeJson(e.command.metadata),
          e.createdAt,
          e.createdAt,
        ] as const,
    );
    await this.sql.write(required(tx), (s) => {
      for (const row of rows) s.enqueue.run(...row);
    });
  }

  async pendingCommands(limit: number, sources?: readonly string[]): Promise<OutboxEntry[]> {
    assertPageLimit(limit);
    const only = sources ? JSON.stringify(sources) : null;
    return this.sql.read((s) => s.pending.all(only, only, limit).map(outboxEntryFromRow));
  }

  async settleCommand(
    commandId: string,
    update: OutboxUpdate,
    tx?: SqliteTransaction,
  ): Promise<void> {
    await this.settleCommands([{ commandId, update }], tx);
  }

  async settleCommands(
    settlements: readonly CommandSettlement[],
    tx?: SqliteTransaction,
  ): Promise<void> {
    const rows = settlements.map(
      ({ commandId, update }) =>
        [
          update.status,
          update.attempts,
          update.lastError,
          update.nextAttemptAt,
          update.settledAt,
          update.reply === null ? null : encodeJson(update.reply),
          commandId,
        ] as const,
    );
    await this.sql.write(tx, (s) => {
      for (const row of rows) s.settle.run(...row);
    });
  }

  async listCommands(options: ListCommandsOptions = {}): Promise<OutboxEntry[]> {
    const limit = options.limit ?? DEFAULT_SAGA_LIST_LIMIT;
    assertPageLimit(limit);
    const { source = null, instanceId = null, status = null, after = 0 } = options;
    return this.sql.read((s) =>
      s.listCommands
        .all(after, source, source, instanceId, instanceId, status, status, limit)
        .map(outboxEntryFromRow),
    );
  }

  async listInstances(
    options?: Parameters<SagaQuery['listInstances']>[0],
  ): Promise<SagaInstanceView[]> {
    const o = resolveListInstances(options);
    const saga = o.saga ?? null;
    const status = o.status ?? null;
    const after = o.after ?? null;
    return this.sql.read((s) =>
      s.list
        .all(saga, saga, status, status, after, after, o.limit)
        .map((row) => sagaViewFromRow(row, s.timersOf.all(row.saga, row.id).map(sagaTimerFromRow))),
    );
  }

  async countInstances(options?: { saga?: string; status?: SagaStatus }): Promise<number> {
    const o = resolveListInstances(options);
    const saga = o.saga ?? null;
    const status = o.status ?? null;
    return this.sql.read((s) => s.count.get(saga, saga, status, status)?.n ?? 0);
  }

  async getInstance(saga: string, id: string): Promise<SagaInstanceView | undefined> {
    assertSagaKey(saga, id);
    return this.sql.read((s) => {
      const row = s.view.get(saga, id);
      return row && sagaViewFromRow(row, s.timersOf.all(saga, id).map(sagaTimerFromRow));
    });
  }
}

/**
 * Migrates the saga tables in the store's file and returns a {@link SqliteSagaStore}.
 *
 * @example
 * ```ts
 * const store = SqliteEventStore.open('./data/events.db');
 * const runtime = new SagaRuntime({
 *   storage: await sqliteSubscriptionStorage(store),
 *   sagaStore: await sqliteSagaStore(store),
 *   sagas: [fulfilmentSaga],
 *   dispatcher,
 * });
 * ```
 */
export async function sqliteSagaStore(store: SqliteEventStore): Promise<SqliteSagaStore> {
  await store.transaction((tx) => {
    migrateSqlite(tx.database, SQLITE_SAGAS_COMPONENT, sqliteSagaMigrations);
    return Promise.resolve();
  });
  return new SqliteSagaStore(store);
}

function required(tx: SqliteTransaction | undefined): SqliteTransaction {
  if (!tx) throw new InvalidArgumentError('tx', 'saga writes need the transaction of the store');
  return tx;
}
