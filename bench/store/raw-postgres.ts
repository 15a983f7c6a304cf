import pg from 'pg';
import { fnv1a32 } from '@causewayjs/core';
import type { RawRow } from './plan.js';
import type { RawBaseline } from './raw-baseline.js';

// stream_hash as the store writes it (readAll's partition filter reads it).
const COLUMNS =
  'position, id, stream, revision, type, data, metadata, schema_version, stream_hash, recorded_at';
/** Rows per statement when loading everything in one transaction. */
const LOAD_CHUNK = 1000;
/**
 * Connections of the concurrent writers (workload 3 has 64 writers), opened with the baseline
 * so that no timed part pays for connecting.
 */
const WRITER_CONNECTIONS = 64;

/**
 * The PostgreSQL baseline: one `pg` client, tables made `LIKE` the adapter's
 * `causeway_events INCLUDING ALL` (same columns, types, constraints and indexes). Single
 * rows go in with a prepared INSERT; batches with one multi-row INSERT over unnest()ed
 * arrays, as a good hand-written loader would. Concurrent writers each insert their rows one
 * per transaction on a connection of their own, so the server's group commit shares WAL
 * flushes among them.
 *
 * @param schema an empty schema for the baseline's tables
 * @param storeSchema the schema of an opened Causeway store, whose table is copied
 */
export async function openRawPostgres(
  url: string,
  schema: string,
  storeSchema: string,
): Promise<RawBaseline> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // Kept open however long the other workloads take (no idle timeout).
  const writers = new pg.Pool({
    connectionString: url,
    max: WRITER_CONNECTIONS,
    idleTimeoutMillis: 0,
  });
  const id = pg.escapeIdentifier;
  const mirror = `${id(schema)}.bench_raw_events`;
  const copy = `${id(schema)}.bench_raw_events_copy`;
  // The floor with the store's writes: mirrors of the events, streams and position counter.
  const floorEvents = `${id(schema)}.bench_floor_events`;
  const floorStreams = `${id(schema)}.bench_floor_streams`;
  const floorLog = `${id(schema)}.bench_floor_log`;
  try {
    for (const [table, like] of [
      [mirror, 'causeway_events'],
      [copy, 'causeway_events'],
      [floorEvents, 'causeway_events'],
      [floorStreams, 'causeway_streams'],
      [floorLog, 'causeway_log'],
    ] as const) {
      await client.query(`CREATE TABLE ${table} (LIKE ${id(storeSchema)}.${like} INCLUDING ALL)`);
    }
    // The counter's one row, as the adapter's migration seeds it.
    await client.query(`INSERT INTO ${floorLog} (id, position) VALUES (1, 0)`);
    // Every writer connection open (and idle in the pool) before anything is timed.
    const opened = await Promise.all(
      Array.from({ length: WRITER_CONNECTIONS }, () => writers.connect()),
    );
    for (const connection of opened) connection.release();
  } catch (error) {
    await client.end();
    await writers.end();
    throw error;
  }
  const insertOne = {
    name: 'bench.raw_insert_one',
    text: `INSERT INTO ${mirror} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  };
  // The three writes of a one-event append in one autocommit statement (as the adapter's
  // single-event append does): advance the counter, upsert the stream, insert the row at the
  // allocated position. $1-$9 the row's columns without its position.
  const insertWithStoreWrites = {
    name: 'bench.raw_insert_store_writes',
    text: `WITH alloc AS (
             UPDATE ${floorLog} SET position = position + 1 WHERE id = 1 RETURNING position
           ), upsert AS (
             INSERT INTO ${floorStreams} AS s (name, revision) VALUES ($2::text, $3::bigint)
             ON CONFLICT (name) DO UPDATE SET revision = EXCLUDED.revision
           ), ins AS (
             INSERT INTO ${floorEvents} (${COLUMNS})
             SELECT alloc.position, $1::uuid, $2::text, $3::bigint, $4::text, $5::json, $6::json,
                    $7::int, $8::bigint, $9::timestamptz
             FROM alloc
           )
           SELECT position FROM alloc`,
  };
  const oneRow = (r: RawRow): unknown[] => [
    r.position,
    r.id,
    r.stream,
    r.revision,
    r.type,
    r.data,
    r.metadata,
    r.schemaVersion,
    fnv1a32(r.stream),
    new Date(r.recordedAt),
  ];
  const unnestInsert = (table: string, name: string) => ({
    name,
    text: `INSERT INTO ${table} (${COLUMNS})
           SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[],
                                $6::json[], $7::json[], $8::int[], $9::bigint[],
                                $10::timestamptz[])`,
  });
  const insertManyMirror = unnestInsert(mirror, 'bench.raw_insert_many');
  const insertManyCopy = unnestInsert(copy, 'bench.raw_insert_many_copy');
  const columns = (rows: readonly RawRow[]): unknown[] => [
    rows.map((r) => r.position),
    rows.map((r) => r.id),
    rows.map((r) => r.stream),
    rows.map((r) => r.revision),
    rows.map((r) => r.type),
    rows.map((r) => r.data),
    rows.map((r) => r.metadata),
    rows.map((r) => r.schemaVersion),
    rows.map((r) => fnv1a32(r.stream)),
    rows.map((r) => new Date(r.recordedAt)),
  ];
  return {
    driver: 'pg',
    notes:
      "raw: one pg client, table LIKE causeway_events INCLUDING ALL; rows pre-encoded (JSON text, ids); autocommit prepared INSERT per row, one INSERT ... SELECT unnest(arrays) per 100 rows, 1,000-row unnest INSERTs in one transaction; concurrent writers each on a connection of their own (64, opened beforehand), autocommit prepared INSERT per row; floor of sequential appends (raw with the store's writes): tables LIKE causeway_events, causeway_streams and causeway_log INCLUDING ALL (counter row seeded), one autocommit prepared statement per row, a data-modifying CTE advancing the counter (UPDATE ... SET position = position + 1 ... RETURNING), upserting the stream row (INSERT ... ON CONFLICT (name) DO UPDATE SET revision) and inserting the row at the allocated position",
    async insertOnePerTransaction(rows) {
      for (const r of rows) await client.query({ ...insertOne, values: oneRow(r) });
    },
    async insertWithStoreWrites(rows) {
      for (const r of rows) {
        const result = await client.query({
          ...insertWithStoreWrites,
          // The row's columns without its position, which the counter gives.
          values: oneRow(r).slice(1),
          rowMode: 'array',
        });
        if (result.rows.length !== 1) throw new Error('the position counter has no row');
      }
    },
    async insertConcurrently(shares) {
      // Settles once every writer has stopped; rejects with the first failure.
      const outcomes = await Promise.allSettled(
        shares.map(async (rows) => {
          const connection = await writers.connect();
          let broken: Error | undefined;
          try {
            for (const r of rows) await connection.query({ ...insertOne, values: oneRow(r) });
          } catch (error) {
            broken = error instanceof Error ? error : new Error(String(error));
            throw error;
          } finally {
            connection.release(broken);
          }
        }),
      );
      const failed = outcomes.find((o) => o.status === 'rejected');
      if (failed) throw failed.reason;
    },
    async insertInTransactionsOf(rows, size) {
      // One statement is one transaction.
      for (let i = 0; i < rows.length; i += size) {
        await client.query({ ...insertManyMirror, values: columns(rows.slice(i, i + size)) });
      }
    },
    async insertAllInOneTransaction(rows) {
      await client.query('BEGIN');
      try {
        for (let i = 0; i < rows.length; i += LOAD_CHUNK) {
          await client.query({ ...insertManyCopy, values: columns(rows.slice(i, i + LOAD_CHUNK)) });
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
    async selectRange(from, count) {
      const result = await client.query({
        name: 'bench.raw_select_range',
        text: `SELECT ${COLUMNS} FROM ${mirror} WHERE position >= $1 ORDER BY position LIMIT $2`,
        values: [from, count],
        rowMode: 'array',
      });
      return result.rows.length;
    },
    async selectStream(stream) {
      const result = await client.query({
        name: 'bench.raw_select_stream',
        text: `SELECT ${COLUMNS} FROM ${mirror} WHERE stream = $1 ORDER BY revision`,
        values: [stream],
        rowMode: 'array',
      });
      return result.rows.length;
    },
    close: async () => {
      await writers.end();
      await client.end();
    },
  };
}
