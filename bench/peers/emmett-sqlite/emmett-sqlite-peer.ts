import type { Event } from '@event-driven-io/emmett';
import {
  getSQLiteEventStore,
  readMessagesBatch,
  sqliteConnection,
  type SQLiteConnection,
  type SQLiteEventStore,
} from '@event-driven-io/emmett-sqlite';
import { installedVersion } from '../package-version.js';
import type { BenchEvent, StorePeer, StorePeerFactory, StoreTarget } from '../store-peer.js';

/** Events per round trip when reading the log, the same page size Causeway uses. */
const BATCH_SIZE = 1000;

/** SQLite's code for `synchronous = FULL`. */
const SYNCHRONOUS_FULL = 2;

/**
 * Retries of an append that met `SQLITE_BUSY`, and the longest pause between two: what an
 * application on Emmett's SQLite store adds, since a connection it opens per operation has
 * no busy timeout and concurrent writers otherwise fail at once.
 */
const BUSY_RETRIES = 200;
const BUSY_MAX_PAUSE_MS = 20;

const VERSION = installedVersion('@event-driven-io/emmett-sqlite', import.meta.url);

const SETUP =
  'sqlite3 driver, WAL, synchronous=FULL (checked); appends retried on SQLITE_BUSY (up to 200 times, pauses of 1-20 ms); log read with readMessagesBatch, 1,000 per batch';

/**
 * Emmett's SQLite event store (driver `sqlite3`) as its documentation shows:
 * `getSQLiteEventStore({ fileName })`, `appendToStream` with `expectedStreamVersion`,
 * `readStream`. For a file it opens a connection per operation. Reading the log goes
 * through `readMessagesBatch`, as Emmett's consumers do.
 */
export const emmettSqlitePeer: StorePeerFactory = {
  name: `Emmett ${VERSION}`,
  engines: ['sqlite'],
  notes: {
    sqlite: `Emmett ${VERSION}: getSQLiteEventStore({ fileName }), a connection per operation; ${SETUP}`,
  },
  async open(target: StoreTarget): Promise<StorePeer> {
    const fileName = fileOf(target);
    await withConnection(fileName, checkDurability);
    const store = getSQLiteEventStore({ fileName });
    return wrap(
      store,
      (work) => withConnection(fileName, work),
      () => Promise.resolve(),
    );
  },
};

/**
 * The same store on one connection for everything (`connectionOptions: { singleton: true,
 * connection }`), Emmett's other configuration for a file: no connection set-up per
 * operation, and no `SQLITE_BUSY` between its own writers.
 */
export const emmettSqliteOneConnectionPeer: StorePeerFactory = {
  name: `Emmett ${VERSION} (one connection)`,
  engines: ['sqlite'],
  notes: {
    sqlite: `Emmett ${VERSION} (one connection): getSQLiteEventStore({ fileName, connectionOptions: { singleton: true, connection } }); ${SETUP}`,
  },
  async open(target: StoreTarget): Promise<StorePeer> {
    const fileName = fileOf(target);
    const connection = sqliteConnection({ fileName });
    try {
      await checkDurability(connection);
    } catch (error) {
      connection.close();
      throw error;
    }
    const store = getSQLiteEventStore({
      fileName,
      connectionOptions: { singleton: true, connection },
    });
    return wrap(
      store,
      (work) => work(connection),
      () => {
        connection.close();
        return Promise.resolve();
      },
    );
  },
};

function fileOf(target: StoreTarget): string {
  if (target.kind !== 'sqlite') throw new Error('Emmett SQLite needs a SQLite target');
  return target.file;
}

async function checkDurability(connection: SQLiteConnection): Promise<void> {
  const row = await connection.querySingle<{ synchronous: number }>('PRAGMA synchronous');
  // Same durability as Causeway's FULL, or the comparison would be meaningless.
  if (row?.synchronous !== SYNCHRONOUS_FULL)
    throw new Error(`sqlite3 opens with synchronous=${row?.synchronous}, not FULL`);
}

function wrap(
  store: SQLiteEventStore,
  reader: <T>(work: (connection: SQLiteConnection) => Promise<T>) => Promise<T>,
  close: () => Promise<void>,
): StorePeer {
  return {
    async append(stream: string, events: readonly BenchEvent[], expectedRevision: number) {
      // Emmett's stream version counts events, so a stream whose last revision is r has
      // version r + 1, and 0 means "must not exist".
      const result = await retryBusy(() =>
        quietly(() =>
          store.appendToStream(stream, events as Event[], {
            expectedStreamVersion: BigInt(expectedRevision + 1),
          }),
        ),
      );
      return Number(result.lastEventGlobalPosition);
    },
    readAll: (from: number, count: number) =>
      reader(async (connection) => {
        let read = 0;
        let next = BigInt(from);
        while (read < count) {
          const batch = await readMessagesBatch(connection, {
            from: next,
            batchSize: Math.min(BATCH_SIZE, count - read),
          });
          if (batch.messages.length === 0) break;
          read += batch.messages.length;
          next = batch.currentGlobalPosition + 1n;
        }
        return read;
      }),
    async readStream(stream: string) {
      const result = await quietly(() => store.readStream(stream));
      return result.events.length;
    },
    close,
  };
}

/**
 * Runs `work` again while it fails with `SQLITE_BUSY`, pausing a little longer each time.
 * The one-connection configuration shares one transaction counter among concurrent
 * appends (Emmett nests them into one transaction), so its failures are reported as they
 * come, not hidden by retries of other errors.
 */
async function retryBusy<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= BUSY_RETRIES || !isBusy(error)) throw error;
      const pause = Math.min(BUSY_MAX_PAUSE_MS, 1 + attempt) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

function isBusy(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    const coded = e as Error & { code?: unknown; errno?: unknown };
    if (coded.code === 'SQLITE_BUSY' || coded.errno === 5 || e.message.includes('SQLITE_BUSY'))
      return true;
    // Emmett rolls back when BEGIN IMMEDIATE fails with SQLITE_BUSY, and that ROLLBACK's
    // error (no transaction is active) is the one thrown: nothing was written, so a retry
    // is as safe as for SQLITE_BUSY itself.
    if (e.message.includes('cannot rollback - no transaction is active')) return true;
    e = e.cause;
  }
  return false;
}

/**
 * Emmett's SQLite connection prints every failed transaction with `console.log` before
 * rethrowing it. The error still reaches the benchmark, which reports it (or retries it);
 * the printing is muted while Emmett calls are in flight so the report stays readable.
 */
let inFlight = 0;
let consoleLog: typeof console.log = console.log;
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  if (inFlight++ === 0) {
    consoleLog = console.log;
    console.log = () => undefined;
  }
  try {
    return await work();
  } finally {
    if (--inFlight === 0) console.log = consoleLog;
  }
}

async function withConnection<T>(
  fileName: string,
  work: (connection: SQLiteConnection) => Promise<T>,
): Promise<T> {
  const connection = sqliteConnection({ fileName });
  try {
    return await work(connection);
  } finally {
    connection.close();
  }
}
