import type { PlainRow, RawRow } from './plan.js';

/**
 * The floor the store is measured against: the same rows written to and read from a table
 * identical to the adapter's events table (same columns and indexes), with the raw driver
 * and nothing else — no stream table, no concurrency check, no envelope.
 */
export interface RawBaseline {
  /** Label of the driver, e.g. `better-sqlite3`. */
  readonly driver: string;
  /** How the baseline is set up, printed with results. */
  readonly notes: string;
  /** Inserts the rows into the mirror table, each in a transaction of its own. */
  insertOnePerTransaction(rows: readonly RawRow[]): Promise<void>;
  /** Inserts the rows into the mirror table in transactions of `size` rows. */
  insertInTransactionsOf(rows: readonly RawRow[], size: number): Promise<void>;
  /**
   * Optional floor of sequential appends, "raw with the store's writes": each row written
   * with everything an append writes, in one autocommit statement per row (a single round
   * trip): the position counter advanced, the stream row upserted and the row inserted at
   * the position the counter gave, on mirror tables of the adapter's events, streams and
   * position counter. Informational: what the store cannot beat on its own writes.
   */
  insertWithStoreWrites?(rows: readonly RawRow[]): Promise<void>;
  /**
   * Optional floor of appends in batches, "raw with encoding": {@link insertInTransactionsOf}
   * on a copy of the mirror table, with each row's data and metadata JSON-encoded and its
   * event id generated inside the timed loop, as the store does.
   */
  insertInTransactionsOfEncoding?(rows: readonly PlainRow[], size: number): Promise<void>;
  /**
   * Optional: the rows of each writer inserted by a writer of its own on a connection of
   * its own, one row per transaction, all writers at once (the server's group commit). When
   * absent, the concurrent-writers baseline is a group commit on this one connection
   * (`raw-group-commit.ts`).
   */
  insertConcurrently?(writers: readonly (readonly RawRow[])[]): Promise<void>;
  /** Inserts the rows into a separate, empty copy of the table in one transaction. */
  insertAllInOneTransaction(rows: readonly RawRow[]): Promise<void>;
  /**
   * Selects `count` rows of the mirror table from position `from` on, in position order,
   * in one query; resolves with the row count.
   */
  selectRange(from: number, count: number): Promise<number>;
  /** Selects one stream's rows from the mirror table in revision order. */
  selectStream(stream: string): Promise<number>;
  close(): Promise<void>;
}
