// The SQL projection of the projection crash test: running balances per account, and one row
// per applied event (its primary key makes a second application of an event fail, which
// would then show as a parked event).
import {
  SqliteEventStore,
  sqliteProjectionStore,
  type SqliteReadModel,
  type SqliteTransaction,
} from '@causewayjs/sqlite';
import { defineProjection, Projector, type ProjectorOptions } from '@causewayjs/core';

/** What the read model holds, in a comparable order. */
export interface Balances {
  balances: [account: string, total: number, events: number][];
  applied: number[];
}

export const BALANCES = 'balances';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The balances projection. `onApplied` is called once an event's rows are written (inside the
 * transaction, not yet committed); `delayMs` pauses after that, so a kill lands mid-batch.
 */
export function balancesProjection(
  options: { onApplied?: (position: number) => void; delayMs?: number } = {},
) {
  return defineProjection<SqliteReadModel>({
    name: BALANCES,
    version: 1,
    handles: ['money.moved'],
    setup: (rm) => {
      rm.database.exec(`CREATE TABLE ${rm.table()} (
        account TEXT PRIMARY KEY, total INTEGER NOT NULL, events INTEGER NOT NULL)`);
      rm.database.exec(`CREATE TABLE ${rm.table('applied')} (
        position INTEGER PRIMARY KEY, event_id TEXT NOT NULL)`);
    },
    apply: async (event, rm) => {
      rm.prepare(
        `INSERT INTO ${rm.table()} (account, total, events) VALUES (?, ?, 1)
           ON CONFLICT (account) DO UPDATE SET total = total + excluded.total, events = events + 1`,
      ).run(event.stream, (event.data as { amount: number }).amount);
      rm.prepare(`INSERT INTO ${rm.table('applied')} (position, event_id) VALUES (?, ?)`).run(
        event.position,
        event.id,
      );
      options.onApplied?.(event.position);
      if (options.delayMs) await pause(options.delayMs);
    },
  });
}

/** Reads the balances through a projector's query helper. */
export async function readBalances(
  projector: Projector<SqliteTransaction, SqliteReadModel>,
): Promise<{ data: Balances; position: number; build: number }> {
  const { data, position } = await projector.query(BALANCES, (rm) => ({
    balances: rm.database
      .prepare<[], [string, number, number]>(
        `SELECT account, total, events FROM ${rm.table()} ORDER BY account`,
      )
      .raw(true)
      .all(),
    applied: rm.database
      .prepare<[], { position: number }>(
        `SELECT position FROM ${rm.table('applied')} ORDER BY position`,
      )
      .all()
      .map((r) => r.position),
  }));
  const status = await projector.status(BALANCES);
  return { data, position, build: status.build ?? 0 };
}

/** Opens the store in `file` and a projector of the balances on it. */
export async function openBalances(
  file: string,
  options: {
    onApplied?: (position: number) => void;
    delayMs?: number;
    subscription?: ProjectorOptions<SqliteTransaction, SqliteReadModel>['subscription'];
  } = {},
) {
  const store = SqliteEventStore.open(file);
  const projector = new Projector<SqliteTransaction, SqliteReadModel>({
    store: await sqliteProjectionStore(store),
    projections: [balancesProjection(options)],
    ...(options.subscription ? { subscription: options.subscription } : {}),
  });
  return { store, projector };
}
