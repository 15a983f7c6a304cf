import { type PoolClient, escapeIdentifier } from 'pg';
import { checkErasure, type SubjectEraser } from '@causewayjs/core';
import { ERASURE_EXCLUDED_COMPONENT_TABLES } from '@causewayjs/core/internals';
import { postgresError } from './postgres-errors.js';
import type { PostgresEventStore } from './postgres-event-store.js';

/**
 * Tables never rewritten: the log and its streams (the hash chains cover them, and personal
 * fields are stored there only as ciphertext), the chains' anchors, the key tables (wrapped
 * keys, no plaintext) and the schema bookkeeping.
 */
export const POSTGRES_ERASURE_EXCLUDED_TABLES: ReadonlySet<string> = new Set([
  'causeway_events',
  'causeway_streams',
  'causeway_log',
  'causeway_commits',
  ...ERASURE_EXCLUDED_COMPONENT_TABLES,
]);

const TEXT_TYPES = ['text', 'character varying', 'character', 'json', 'jsonb'];

/**
 * The {@link SubjectEraser} of a PostgreSQL store's schema: overwrites a forgotten subject's
 * values in every `text`, `varchar`, `char`, `json` and `jsonb` column of every table of the
 * schema (saga instances, timers and outbox, stream-job checkpoints, parked events, the
 * inbox, snapshots, read models, tables of third-party components), but those of
 * {@link POSTGRES_ERASURE_EXCLUDED_TABLES}, in one transaction of the store. Where a
 * constraint of the table refuses a column's rewrite (a unique key that would collide, a
 * check), its matching rows are deleted instead.
 *
 * Stream jobs whose checkpointed state it rewrote are fenced (their epoch moved on), so a
 * running instance, which still holds the values in memory, cannot checkpoint them again.
 *
 * The old row versions stay in the table's pages as dead tuples until `VACUUM` reclaims
 * them (autovacuum does, in time); they are not visible to any query.
 *
 * @throws {CausewayError} as the store's other writes do (`STORE_UNAVAILABLE`, `STORE_BUSY`,
 *   `WRITE_REJECTED` when a table's own constraint refuses a rewritten row).
 *
 * @example
 * ```ts
 * const store = await encryptedEventStore(raw, { keyStore, masterKey, personal,
 *   erasers: postgresSubjectEraser(raw) });
 * ```
 */
export function postgresSubjectEraser(store: PostgresEventStore): SubjectEraser {
  return {
    async eraseValues(values, replacement) {
      const searched = checkErasure(values, replacement);
      if (searched.length === 0) return 0;
      try {
        return await store.transaction((tx) =>
          eraseIn({ client: tx.client, schema: store.schema, values: searched, replacement }),
        );
      } catch (error) {
        throw postgresError('subject erasure', error);
      }
    },
  };
}

async function eraseIn(options: {
  client: PoolClient;
  schema: string;
  values: readonly string[];
  replacement: string;
}): Promise<number> {
  const { client, schema, values, replacement } = options;
  const { rows } = await client.query<{
    table_name: string;
    column_name: string;
    data_type: string;
  }>(
    `SELECT c.table_name, c.column_name, c.data_type
       FROM information_schema.columns c
       JOIN information_schema.tables t
         ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE' AND c.data_type = ANY($2)
        AND c.is_generated = 'NEVER'
      ORDER BY c.table_name, c.ordinal_position`,
    [schema, TEXT_TYPES],
  );
  const checkpoints = rows.some((r) => r.table_name === 'causeway_stream_checkpoints');
  const fences = `${escapeIdentifier(schema)}.causeway_stream_fences`;
  const fenced = checkpoints
    ? (
        await client.query<{ job: string }>(
          `SELECT job FROM ${escapeIdentifier(schema)}.causeway_stream_checkpoints
            WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) v WHERE strpos(state, v) > 0)`,
          [values],
        )
      ).rows.map((r) => r.job)
    : [];
  let changed = 0;
  for (const { table_name: name, column_name: column, data_type: type } of rows) {
    if (POSTGRES_ERASURE_EXCLUDED_TABLES.has(name)) continue;
    const table = `${escapeIdentifier(schema)}.${escapeIdentifier(name)}`;
    const col = escapeIdentifier(column);
    const asText = type === 'json' || type === 'jsonb' ? `${col}::text` : col;
    const back = type === 'json' || type === 'jsonb' ? `::${type}` : '';
    const where = `strpos(${asText}, $1) > 0`;
    for (const value of values) {
      await client.query('SAVEPOINT causeway_erase');
      try {
        const updated = await client.query(
          `UPDATE ${table} SET ${col} = replace(${asText}, $1, $2)${back} WHERE ${where}`,
          [value, replacement],
        );
        changed += updated.rowCount ?? 0;
        await client.query('RELEASE SAVEPOINT causeway_erase');
      } catch (error) {
        await client.query('ROLLBACK TO SAVEPOINT causeway_erase');
        // Class 23: a constraint of the table (a unique key that would collide, a check)
        // refuses the rewritten row; the row holds the subject's value: it goes.
        const code = (error as { code?: unknown }).code;
        if (typeof code !== 'string' || !code.startsWith('23')) throw error;
        const deleted = await client.query(`DELETE FROM ${table} WHERE ${where}`, [value]);
        changed += deleted.rowCount ?? 0;
      }
    }
  }
  // A running instance of a job whose state was erased still holds the values in memory:
  // moving its fencing epoch on, as a takeover would, keeps it from checkpointing them again.
  if (fenced.length > 0)
    await client.query(`UPDATE ${fences} SET epoch = epoch + 1 WHERE job = ANY($1)`, [fenced]);
  return changed;
}
