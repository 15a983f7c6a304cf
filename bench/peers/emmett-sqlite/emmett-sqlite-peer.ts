import type { Event } from '@event-driven-io/emmett';
import {
  getSQLiteEventStore,
  readMessagesBatch,
  sqliteConnection,
  type SQLiteConnection,
} from '@event-driven-io/emmett-sqlite';
import { installedVersion } from '../package-version.js';
import type { BenchEvent, StorePeer, StorePeerFactory, StoreTarget } from '../store-peer.js';

/** Events per round trip when reading the log, the same page size Causeway uses. */
const BATCH_SIZE = 1000;

/** SQLite's code for `synchronous = FULL`. */
const SYNCHRONOUS_FULL = 2;

/**
 * Emmett's SQLite event store (driver `sqlite3`), used as its documentation shows:
 * `getSQLiteEventStore({ fileName })`, `appendToStream` with `expectedStreamVersion`,
 * `readStream`. For a file it opens a connection per operation. Reading the log goes
 * through `readMessagesBatch`, as Emmett's consumers do, on a connection of its own.
 */
export const emmettSqlitePeer: StorePeerFactory = {
  name: `Emmett ${installedVersion('@event-driven-io/emmett-sqlite', import.meta.url)}`,
  engines: ['sqlite'],
  notes: {
    sqlite:
      'Emmett: getSQLiteEventStore({ fileName }) (sqlite3 driver, WAL, synchronous=FULL by default, checked), a connection per operation; log read with readMessagesBatch, 1,000 per batch. Version 0.38.5: the newer 0.42.4 needs @event-driven-io/emmett 0.42.4, which the registry does not have',
  },
  async open(target: StoreTarget): Promise<StorePeer> {
    if (target.kind !== 'sqlite') throw new Error('Emmett SQLite needs a SQLite target');
    const fileName = target.file;
    await withConnection(fileName, async (connection) => {
      const row = await connection.querySingle<{ synchronous: number }>('PRAGMA synchronous');
      // Same durability as Causeway's FULL, or the comparison would be meaningless.
      if (row?.synchronous !== SYNCHRONOUS_FULL)
        throw new Error(`sqlite3 opens with synchronous=${row?.synchronous}, not FULL`);
    });
    const store = getSQLiteEventStore({ fileName });
    return {
      async append(stream: string, events: readonly BenchEvent[], expectedRevision: number) {
        // Emmett's stream version counts events, so a stream whose last revision is r has
        // version r + 1, and 0 means "must not exist".
        const result = await quietly(() =>
          store.appendToStream(stream, events as Event[], {
            expectedStreamVersion: BigInt(expectedRevision + 1),
          }),
        );
        return Number(result.lastEventGlobalPosition);
      },
      readAll: (from: number, count: number) =>
        withConnection(fileName, async (connection) => {
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
      // Emmett's file-backed store holds no connection between operations.
      close: () => Promise.resolve(),
    };
  },
};

/**
 * Emmett's SQLite connection prints every failed transaction with `console.log` before
 * rethrowing it. The error still reaches the benchmark, which reports it; the printing is
 * muted while Emmett calls are in flight so the report stays readable.
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
