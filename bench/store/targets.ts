import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { StoreTarget } from '../peers/store-peer.js';

/** Fresh, empty places for one run: one per store under test, and one for the baseline. */
export interface RunTargets {
  /** A new place for the store named `name` (Causeway or a peer). */
  forStore(name: string): Promise<StoreTarget>;
  /** Removes everything the run created. */
  cleanup(): Promise<void>;
}

/** SQLite files in a new temporary folder, removed afterwards. */
export async function sqliteTargets(): Promise<RunTargets> {
  const dir = await mkdtemp(join(tmpdir(), 'causeway-bench-'));
  return {
    forStore: (name) => Promise.resolve({ kind: 'sqlite', file: join(dir, `${slug(name)}.db`) }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** New PostgreSQL schemas named after `prefix`, dropped with everything in them afterwards. */
export async function postgresTargets(url: string, prefix: string): Promise<RunTargets> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const created: string[] = [];
  return {
    async forStore(name) {
      const schema = `${prefix}_${slug(name)}`;
      await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      await admin.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
      created.push(schema);
      return { kind: 'postgres', url, schema };
    },
    async cleanup() {
      try {
        for (const schema of created) {
          await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
        }
      } finally {
        await admin.end();
      }
    },
  };
}

/** Checks that the server answers; resolves with the error message if it does not. */
export async function postgresUnreachable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error instanceof AggregateError
      ? error.errors.map((e: Error) => e.message).join('; ')
      : (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The URL without its password, for printing. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@');
}

function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}
