import { openEventStore, type EventStore } from '@causewayjs/core';
import type { BenchEvent, StorePeer, StorePeerFactory, StoreTarget } from '../peers/store-peer.js';

/**
 * Causeway itself behind the peers' interface, opened with `openEventStore` as an
 * application would: SQLite with `synchronous: 'FULL'`, PostgreSQL with `?schema=`.
 */
export const causewayPeer: StorePeerFactory = {
  name: 'Causeway',
  engines: ['sqlite', 'postgres'],
  notes: {
    sqlite: "Causeway: openEventStore('sqlite:<file>', { synchronous: 'FULL' }) (WAL)",
    postgres:
      "Causeway: openEventStore('postgres://...?schema=<fresh schema>') (pool of 10, the default)",
  },
  async open(target: StoreTarget): Promise<StorePeer> {
    const store =
      target.kind === 'sqlite'
        ? await openEventStore(`sqlite:${target.file}`, { synchronous: 'FULL' })
        : await openEventStore(
            `${target.url}${target.url.includes('?') ? '&' : '?'}schema=${target.schema}`,
          );
    return wrap(store);
  },
};

function wrap(store: EventStore): StorePeer {
  return {
    async append(stream: string, events: readonly BenchEvent[], expectedRevision: number) {
      const result = await store.append(stream, events, {
        expectedRevision: expectedRevision < 0 ? 'no_stream' : expectedRevision,
      });
      return result.position;
    },
    async readAll(from: number, count: number) {
      let read = 0;
      for await (const _event of store.readAll({ from, limit: count })) read++;
      return read;
    },
    async readStream(stream: string) {
      let read = 0;
      for await (const _event of store.readStream(stream)) read++;
      return read;
    },
    close: () => store.close(),
  };
}
