import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';

/** The server PostgreSQL tests use: `CAUSEWAY_PG_URL`, or a local trust-auth default. */
export const pgUrl = process.env.CAUSEWAY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let probe: Promise<boolean> | undefined;

/**
 * Whether the test server answers, probed once per test file. When it does not: under
 * `CI=true` this throws (a CI run must not pass by skipping); elsewhere it prints one line
 * naming the URL and returns false, and the caller skips its tests.
 */
export function pgAvailable(): Promise<boolean> {
  probe ??= (async () => {
    const client = new Client({ connectionString: pgUrl, connectionTimeoutMillis: 3000 });
    let reason: string | undefined;
    try {
      await client.connect();
      await client.query('SELECT 1');
    } catch (error) {
      reason = error instanceof Error ? error.message || error.constructor.name : String(error);
    } finally {
      await client.end().catch(() => undefined);
    }
    if (reason === undefined) return true;
    const shown = pgUrl.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@');
    const message = `PostgreSQL at ${shown} is unreachable (${reason}); set CAUSEWAY_PG_URL`;
    if (process.env.CI === 'true') throw new Error(message);
    console.warn(`SKIPPING PostgreSQL tests: ${message}`);
    return false;
  })();
  return probe;
}

/** A fresh schema name no other test uses (the schema itself is created by the store). */
export function randomSchemaName(): string {
  return `causeway_test_${randomBytes(6).toString('hex')}`;
}

/** Runs one statement on its own short-lived connection. */
export async function pgExec(text: string, values: unknown[] = []): Promise<unknown[]> {
  const client = new Client({ connectionString: pgUrl });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as unknown[];
  } finally {
    await client.end();
  }
}

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await pgExec(`DROP SCHEMA IF EXISTS ${escapeIdentifier(schema)} CASCADE`);
}

/**
 * Resolves once some connection whose current statement mentions `marker` (a schema name,
 * say) is waiting for a lock: the way to know a writer is really blocked before a test lets
 * the blocker go. Polls the server's own activity view; fails after `timeoutMs`.
 */
export async function waitForLockWait(marker: string, timeoutMs = 10_000): Promise<void> {
  const client = new Client({ connectionString: pgUrl });
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND strpos(query, $1) > 0`,
        [marker],
      );
      if ((rows[0]?.n ?? 0) > 0) return;
      if (Date.now() > deadline) throw new Error(`no connection waited for a lock on ${marker}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    await client.end();
  }
}
