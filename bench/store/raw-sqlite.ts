import Database from 'better-sqlite3';
import { fnv1a32, newId } from '@causewayjs/core';
import type { PlainRow, RawRow } from './plan.js';
import type { RawBaseline } from './raw-baseline.js';

const COLUMNS = 'position, id, stream, revision, type, data, metadata, schema_version, recorded_at';
/** What an insert writes: the adapter's columns, its stream hash included (see the adapter). */
const INSERT_COLUMNS = `${COLUMNS}, stream_hash`;
const MIRROR = 'bench_raw_events';
const COPY = 'bench_raw_events_copy';
/** The table of the floor with encoding (workload 2's rows again, encoded while timed). */
const ENCODING = 'bench_raw_events_encoding';

type Row = [number, string, string, number, string, string, string, number, number];

/**
 * The SQLite baseline: better-sqlite3 on its own file with the adapter's settings (WAL,
 * `synchronous = FULL`), and tables created from the adapter's own DDL for
 * `causeway_events`, read from the store's file, so columns and indexes are identical.
 *
 * @param file a new file for the baseline
 * @param storeFile the file of an opened Causeway store, whose schema is copied
 */
export function openRawSqlite(file: string, storeFile: string): RawBaseline {
  const ddl = readEventsTableDdl(storeFile);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  for (const table of [MIRROR, COPY, ENCODING]) {
    for (const sql of ddl) db.exec(sql.replaceAll('causeway_events', table));
  }
  const placeholders = INSERT_COLUMNS.split(',')
    .map(() => '?')
    .join(', ');
  const insertMirror = db.prepare(
    `INSERT INTO ${MIRROR} (${INSERT_COLUMNS}) VALUES (${placeholders})`,
  );
  const insertCopy = db.prepare(`INSERT INTO ${COPY} (${INSERT_COLUMNS}) VALUES (${placeholders})`);
  const insertEncoding = db.prepare(
    `INSERT INTO ${ENCODING} (${INSERT_COLUMNS}) VALUES (${placeholders})`,
  );
  const selectRange = db
    .prepare<[number, number], Row>(
      `SELECT ${COLUMNS} FROM ${MIRROR} WHERE position >= ? ORDER BY position LIMIT ?`,
    )
    .raw(true);
  const selectStream = db
    .prepare<[string], Row>(`SELECT ${COLUMNS} FROM ${MIRROR} WHERE stream = ? ORDER BY revision`)
    .raw(true);
  const run = (stmt: Database.Statement, r: RawRow) =>
    stmt.run(
      r.position,
      r.id,
      r.stream,
      r.revision,
      r.type,
      r.data,
      r.metadata,
      r.schemaVersion,
      r.recordedAt,
      fnv1a32(r.stream),
    );
  const inTransaction = db.transaction((stmt: Database.Statement, rows: readonly RawRow[]) => {
    for (const r of rows) run(stmt, r);
  });
  // The same, each row encoded as it goes in: JSON text from the plain objects and a fresh
  // event id from the store's own generator (newId, uuid v7).
  const runEncoding = (stmt: Database.Statement, r: PlainRow) =>
    stmt.run(
      r.position,
      newId(),
      r.stream,
      r.revision,
      r.type,
      JSON.stringify(r.data),
      JSON.stringify(r.metadata),
      r.schemaVersion,
      r.recordedAt,
      fnv1a32(r.stream),
    );
  const inTransactionEncoding = db.transaction(
    (stmt: Database.Statement, rows: readonly PlainRow[]) => {
      for (const r of rows) runEncoding(stmt, r);
    },
  );
  // A reader gets usable values: JSON columns parsed, as the pg driver does by itself.
  const parse = (rows: Row[]): number => {
    let n = 0;
    for (const row of rows) {
      JSON.parse(row[5]);
      JSON.parse(row[6]);
      n++;
    }
    return n;
  };
  return {
    driver: 'better-sqlite3',
    notes:
      "raw: better-sqlite3, own file, WAL, synchronous=FULL, table from the adapter DDL; rows pre-encoded (JSON text, ids), stream hash computed per row; autocommit INSERT per row, or BEGIN + prepared INSERTs + COMMIT; selects parse the JSON columns; floor of appends of 100 (raw with encoding): the same transactions of 100 on a third copy of the table, with each row's data and metadata JSON.stringify'd and its id made by the store's generator (newId, uuid v7) inside the timed loop",
    insertOnePerTransaction(rows) {
      for (const r of rows) run(insertMirror, r);
      return Promise.resolve();
    },
    insertInTransactionsOf(rows, size) {
      for (let i = 0; i < rows.length; i += size)
        inTransaction(insertMirror, rows.slice(i, i + size));
      return Promise.resolve();
    },
    insertInTransactionsOfEncoding(rows, size) {
      for (let i = 0; i < rows.length; i += size)
        inTransactionEncoding(insertEncoding, rows.slice(i, i + size));
      return Promise.resolve();
    },
    insertAllInOneTransaction(rows) {
      inTransaction(insertCopy, rows);
      return Promise.resolve();
    },
    selectRange: (from, count) => Promise.resolve(parse(selectRange.all(from, count))),
    selectStream: (stream) => Promise.resolve(parse(selectStream.all(stream))),
    close() {
      db.close();
      return Promise.resolve();
    },
  };
}

/** The CREATE statements of `causeway_events` and its indexes, table first. */
function readEventsTableDdl(storeFile: string): string[] {
  const db = new Database(storeFile, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare<[], { sql: string }>(
        `SELECT sql FROM sqlite_master WHERE tbl_name = 'causeway_events' AND sql IS NOT NULL
         ORDER BY type = 'table' DESC, name`,
      )
      .all();
    if (rows.length === 0) throw new Error('the store has no causeway_events table');
    return rows.map((r) => r.sql);
  } finally {
    db.close();
  }
}
