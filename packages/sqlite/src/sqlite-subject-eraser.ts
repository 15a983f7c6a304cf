import type Database from 'better-sqlite3';
import { checkErasure, type SubjectEraser } from '@causewayjs/core';
import { ERASURE_EXCLUDED_COMPONENT_TABLES } from '@causewayjs/core/internals';
import { sqliteCall } from './sqlite-errors.js';
import type { SqliteEventStore } from './sqlite-event-store.js';

/** What a failure names as the operation. */
const OPERATION = 'subject erasure';

/**
 * Tables never rewritten: the log and its streams (the hash chains cover them, and personal
 * fields are stored there only as ciphertext), the chains' anchors, the key tables (wrapped keys, no plaintext)
 * and the schema bookkeeping.
 */
export const SQLITE_ERASURE_EXCLUDED_TABLES: ReadonlySet<string> = new Set([
  'causeway_events',
  'causeway_streams',
  'causeway_position_floor',
  ...ERASURE_EXCLUDED_COMPONENT_TABLES,
]);

/**
 * The {@link SubjectEraser} of a SQLite store's file: overwrites a forgotten subject's values
 * in every text column of every table of the file (saga instances, timers and outbox,
 * stream-job checkpoints, parked events, the inbox, snapshots, read models, tables of
 * third-party components), but those of {@link SQLITE_ERASURE_EXCLUDED_TABLES}, in one
 * transaction of the store. A row that a constraint of its table refuses once rewritten (a
 * unique key that would collide, a check) is deleted instead. Then it checkpoints the write-ahead log and truncates it,
 * so no page image of the old rows stays in the `-wal` file; the store's connections run with
 * `secure_delete`, so the rewritten rows leave no old bytes in the database file either.
 * Stream jobs whose checkpointed state it rewrote are fenced (their epoch moved on), so a
 * running instance, which still holds the values in memory, cannot checkpoint them again.
 *
 * @example
 * ```ts
 * const store = await encryptedEventStore(raw, { keyStore, masterKey, personal,
 *   erasers: sqliteSubjectEraser(raw) });
 * ```
 */
export function sqliteSubjectEraser(store: SqliteEventStore): SubjectEraser {
  return {
    async eraseValues(values, replacement) {
      const searched = checkErasure(values, replacement);
      if (searched.length === 0) return 0;
      const changed = await store.transaction((tx) =>
        Promise.resolve(sqliteCall(OPERATION, () => eraseIn(tx.database, searched, replacement))),
      );
      // Busy readers may keep the checkpoint from finishing; the frames are then overwritten
      // as the log is reused, and the next erasure tries again.
      if (!store.database.memory)
        sqliteCall(OPERATION, () => store.database.pragma('wal_checkpoint(TRUNCATE)'));
      return changed;
    },
  };
}

function eraseIn(db: Database.Database, values: readonly string[], replacement: string): number {
  let changed = 0;
  const tables = db
    .prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .all() as { name: string; sql: string | null }[];
  const fenced = jobsHolding(db, tables, values);
  for (const { name, sql } of tables) {
    if (SQLITE_ERASURE_EXCLUDED_TABLES.has(name)) continue;
    // Virtual tables (full-text indexes) may not take updates; their shadow tables, plain
    // tables, are scanned like any other.
    if (sql !== null && /^\s*CREATE\s+VIRTUAL\b/i.test(sql)) continue;
    const columns = db.pragma(`table_info(${quote(name)})`) as { name: string }[];
    for (const column of columns) {
      const table = quote(name);
      const col = quote(column.name);
      const where = `typeof(${col}) = 'text' AND instr(${col}, ?) > 0`;
      const update = db.prepare(
        `UPDATE OR IGNORE ${table} SET ${col} = replace(${col}, ?, ?) WHERE ${where}`,
      );
      const remove = db.prepare(`DELETE FROM ${table} WHERE ${where}`);
      for (const value of values) {
        changed += update.run(value, replacement, value).changes;
        changed += remove.run(value).changes;
      }
    }
  }
  fence(db, fenced);
  return changed;
}

/**
 * The stream jobs whose checkpointed state holds one of `values`. A running instance of one
 * keeps that state in memory and would write it back at its next checkpoint: such jobs are
 * fenced once their state is erased (see {@link fence}).
 */
function jobsHolding(
  db: Database.Database,
  tables: readonly { name: string }[],
  values: readonly string[],
): string[] {
  const names = new Set(tables.map((t) => t.name));
  if (!names.has('causeway_stream_checkpoints') || !names.has('causeway_stream_fences')) return [];
  const find = db.prepare('SELECT job FROM causeway_stream_checkpoints WHERE instr(state, ?) > 0');
  const jobs = new Set<string>();
  for (const value of values)
    for (const row of find.all(value) as { job: string }[]) jobs.add(row.job);
  return [...jobs];
}

/**
 * Moves the fencing epoch of `jobs` on, as a takeover would: the instance running now can no
 * longer commit (it stops with `StreamJobFencedError`), and the next start resumes from the
 * erased checkpoint.
 */
function fence(db: Database.Database, jobs: readonly string[]): void {
  const bump = db.prepare('UPDATE causeway_stream_fences SET epoch = epoch + 1 WHERE job = ?');
  for (const job of jobs) bump.run(job);
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
