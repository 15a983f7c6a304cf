import type { StorePeerFactory, StoreTarget } from './store-peer.js';

/** A peer that could not be loaded, and why (printed, never silently dropped). */
export interface UnavailablePeer {
  name: string;
  reason: string;
}

/**
 * Imports a peer module by a path held in a variable, so the type check of the workspace does
 * not follow it into packages that only `npm run bench:peers` installs.
 */
async function importPeer<T>(path: string): Promise<T> {
  const specifier = `./${path}.js`;
  return (await import(specifier)) as T;
}

/**
 * The peers compared on each engine. Each sits in its own folder with its own
 * `package.json`, so its pinned dependencies (and their peer ranges) never meet Causeway's.
 * They load lazily: a peer that is not installed (`npm run bench:peers` installs them) or whose
 * native driver is missing is reported, not fatal.
 */
const peerModules: Record<
  StoreTarget['kind'],
  { name: string; load: () => Promise<StorePeerFactory> }[]
> = {
  sqlite: [
    {
      name: 'Emmett (SQLite)',
      load: async () =>
        (
          await importPeer<{ emmettSqlitePeer: StorePeerFactory }>(
            'emmett-sqlite/emmett-sqlite-peer',
          )
        ).emmettSqlitePeer,
    },
    {
      name: 'Emmett (SQLite, one connection)',
      load: async () =>
        (
          await importPeer<{ emmettSqliteOneConnectionPeer: StorePeerFactory }>(
            'emmett-sqlite/emmett-sqlite-peer',
          )
        ).emmettSqliteOneConnectionPeer,
    },
  ],
  postgres: [
    {
      name: 'Emmett (PostgreSQL)',
      load: async () =>
        (
          await importPeer<{ emmettPostgresqlPeer: StorePeerFactory }>(
            'emmett-postgresql/emmett-postgresql-peer',
          )
        ).emmettPostgresqlPeer,
    },
  ],
};

/** Loads the peers for one engine. */
export async function loadPeers(
  engine: StoreTarget['kind'],
): Promise<{ peers: StorePeerFactory[]; unavailable: UnavailablePeer[] }> {
  const peers: StorePeerFactory[] = [];
  const unavailable: UnavailablePeer[] = [];
  for (const entry of peerModules[engine]) {
    try {
      peers.push(await entry.load());
    } catch (error) {
      unavailable.push({ name: entry.name, reason: (error as Error).message });
    }
  }
  return { peers, unavailable };
}
