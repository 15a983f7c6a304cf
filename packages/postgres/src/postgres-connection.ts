import type { Pool, PoolClient } from 'pg';

/**
 * A connection checked out of a pool. While it is out, pg-pool no longer listens for its
 * `'error'` events (a terminated backend, a server restart, a dropped socket), and an
 * `'error'` event nobody listens to ends the process; this listens, and remembers the error.
 */
export interface CheckedOutClient {
  readonly client: PoolClient;
  /** The error the connection broke with, once it has: it is then of no further use. */
  readonly lost: Error | undefined;
  /**
   * Gives the connection back. A broken one, or any with `discard` set, is passed to the pool
   * with an error (`release(err)`), so the pool closes it rather than hand it out again.
   * Later calls do nothing.
   */
  release(discard?: boolean): void;
}

/**
 * Checks a connection out of `pool`, listening for its errors until it is released.
 *
 * @throws whatever `pool.connect()` throws (the server cannot be reached, the pool ended).
 */
export async function checkOut(pool: Pool): Promise<CheckedOutClient> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost ??= error;
  };
  client.on('error', onError);
  let released = false;
  return {
    client,
    get lost() {
      return lost;
    },
    release(discard = false) {
      if (released) return;
      released = true;
      // pg-pool puts its own listener back in `release`, synchronously: no gap.
      client.removeListener('error', onError);
      client.release(
        lost ?? (discard ? new Error('connection discarded after a failure') : undefined),
      );
    },
  };
}

/**
 * Makes a pool the adapter owns safe against connections that break: an idle connection's
 * error is reported on the pool (dropped there, the pool replaces the connection on next
 * use), and every connection carries a listener of its own from the moment it is made, so
 * that a connection someone checked out without listening (code sharing the store's pool)
 * cannot end the process either. Queries in flight on a broken connection still fail.
 */
export function guardPool(pool: Pool): Pool {
  pool.on('error', ignore);
  pool.on('connect', (client) => client.on('error', ignore));
  return pool;
}

function ignore(): void {
  // Nothing to do: the pool drops the connection, and its callers see their queries fail.
}
