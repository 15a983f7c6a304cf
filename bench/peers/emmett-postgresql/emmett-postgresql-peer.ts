import { dumbo } from '@event-driven-io/dumbo';
import type { Event } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore, readMessagesBatch } from '@event-driven-io/emmett-postgresql';
import { installedVersion } from '../package-version.js';
import type { BenchEvent, StorePeer, StorePeerFactory, StoreTarget } from '../store-peer.js';

/** Events per round trip when reading the log, the same page size Causeway uses. */
const BATCH_SIZE = 1000;

/**
 * Emmett's PostgreSQL event store, used as its documentation shows: `getPostgreSQLEventStore`
 * with a connection string, `appendToStream` with `expectedStreamVersion`, `readStream`.
 * Emmett's store has no read-all method; its consumers read the log with
 * `readMessagesBatch`, which is what is timed here. Its tables are unqualified, so the
 * schema is chosen with the connection's `search_path`.
 */
export const emmettPostgresqlPeer: StorePeerFactory = {
  name: `Emmett ${installedVersion('@event-driven-io/emmett-postgresql', import.meta.url)}`,
  engines: ['postgres'],
  notes: {
    postgres:
      'Emmett: getPostgreSQLEventStore (pg pool of 10, the default), its schema chosen by search_path; log read with readMessagesBatch, 1,000 per batch',
  },
  async open(target: StoreTarget): Promise<StorePeer> {
    if (target.kind !== 'postgres') throw new Error('Emmett PostgreSQL needs a PostgreSQL target');
    const connectionString = withSearchPath(target.url, target.schema);
    const pool = dumbo({ connectionString });
    const store = getPostgreSQLEventStore(connectionString, { connectionOptions: { dumbo: pool } });
    await store.schema.migrate();
    return {
      async append(stream: string, events: readonly BenchEvent[], expectedRevision: number) {
        // Emmett's stream version counts events, so a stream whose last revision is r has
        // version r + 1, and 0 means "must not exist".
        const result = await store.appendToStream(stream, events as Event[], {
          expectedStreamVersion: BigInt(expectedRevision + 1),
        });
        return Number(result.lastEventGlobalPosition);
      },
      async readAll(from: number, count: number) {
        let read = 0;
        let next = BigInt(from);
        while (read < count) {
          const batch = await readMessagesBatch(pool.execute, {
            from: next,
            batchSize: Math.min(BATCH_SIZE, count - read),
          });
          if (batch.messages.length === 0) break;
          read += batch.messages.length;
          next = batch.currentGlobalPosition + 1n;
        }
        return read;
      },
      async readStream(stream: string) {
        const result = await store.readStream(stream);
        return result.events.length;
      },
      close: () => store.close(),
    };
  },
};

function withSearchPath(url: string, schema: string): string {
  const options = encodeURIComponent(`-c search_path=${schema}`);
  return `${url}${url.includes('?') ? '&' : '?'}options=${options}`;
}
