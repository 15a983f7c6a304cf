import { Pool } from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pgAvailable, pgExec, pgUrl } from '../../../test/support/postgres.js';
import { checkOut, guardPool } from './postgres-connection.js';

const available = await pgAvailable();

/** Uncaught exceptions while a test runs: each would have ended a real process. */
let uncaught: unknown[] = [];
const record = (error: unknown) => uncaught.push(error);

/** Terminates one backend and waits until the server has let it go. */
async function terminate(pid: number): Promise<void> {
  await pgExec('SELECT pg_terminate_backend($1)', [pid]);
  await vi.waitFor(
    async () => {
      const rows = await pgExec('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
      expect(rows).toEqual([]);
    },
    { timeout: 10_000, interval: 20 },
  );
}

describe.skipIf(!available)('PostgreSQL connections that break while checked out', () => {
  let pool: Pool;

  beforeEach(() => {
    uncaught = [];
    process.on('uncaughtException', record);
    pool = guardPool(new Pool({ connectionString: pgUrl, max: 2 }));
  });

  afterEach(async () => {
    process.off('uncaughtException', record);
    await pool.end();
  });

  it('checkOut hears the error, and release hands the broken connection back to be closed', async () => {
    const lease = await checkOut(pool);
    const { rows } = await lease.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await terminate(rows[0]?.pid ?? 0);
    await vi.waitFor(() => expect(lease.lost).toBeInstanceOf(Error), { timeout: 5000 });
    await expect(lease.client.query('SELECT 1')).rejects.toThrow();
    lease.release();
    lease.release(); // a second release does nothing
    expect(pool.totalCount).toBe(0);
    // The pool opens a fresh connection.
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect(uncaught).toEqual([]);
  });

  it('a guarded pool keeps a connection checked out without a listener from ending the process', async () => {
    const client = await pool.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await terminate(rows[0]?.pid ?? 0);
    await vi.waitFor(() => expect(client.query('SELECT 1')).rejects.toThrow(), { timeout: 5000 });
    client.release(true);
    expect(uncaught).toEqual([]);
  });
});
