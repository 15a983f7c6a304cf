import {
  type Backend,
  type BackendAdapter,
  type OpenBackendOptions,
  createBackend,
} from '@causewayjs/core';
import { sqliteChainAnchorStore } from './sqlite-chain-anchor-store.js';
import { SqliteEventStore, type SqliteTransaction } from './sqlite-event-store.js';
import { sqliteGroupMembership } from './sqlite-group-membership-store.js';
import { SqliteKeyStore } from './sqlite-key-store.js';
import { sqliteProjectionStore } from './sqlite-projection-store.js';
import type { SqliteReadModel } from './sqlite-read-model.js';
import { sqliteSagaStore } from './sqlite-saga-store.js';
import { SqliteSchemaStorage } from './sqlite-schema-storage.js';
import { SqliteSnapshotStore } from './sqlite-snapshot-store.js';
import { sqliteStreamStateStore } from './sqlite-stream-state-store.js';
import { sqliteSubjectEraser } from './sqlite-subject-eraser.js';
import { sqliteSubscriptionStorage } from './sqlite-subscription-storage.js';

/** The SQLite backend: one database file (one connection) holding the events and every port's tables. */
export type SqliteBackend = Backend<SqliteTransaction, SqliteReadModel>;

/**
 * Opens the SQLite backend on the file `path` (created, with its directory, if missing;
 * `:memory:` for a private in-memory database): the event store and every storage port, all
 * in that file and all written in the store's transactions.
 *
 * @example
 * ```ts
 * import { openSqliteBackend } from '@causewayjs/sqlite';
 * const backend = openSqliteBackend('./data/events.db');
 * const projector = new Projector({ store: await backend.projectionStore(), projections });
 * ```
 */
export function openSqliteBackend(
  path: string,
  options: OpenBackendOptions = {},
  url = `sqlite:${path}`,
): SqliteBackend {
  return sqliteBackendOf(SqliteEventStore.open(path, options), url);
}

/** The backend of an open SQLite store, which it then owns (closing the backend closes it). */
export function sqliteBackendOf(store: SqliteEventStore, url = 'sqlite:'): SqliteBackend {
  return createBackend({
    kind: 'sqlite',
    url,
    store,
    ports: {
      subscriptionStorage: () => sqliteSubscriptionStorage(store),
      projectionStore: (storage) => sqliteProjectionStore(store, { storage }),
      groupMembership: () => sqliteGroupMembership(store),
      schemaStorage: () => Promise.resolve(SqliteSchemaStorage.open(store)),
      sagaStore: () => sqliteSagaStore(store),
      snapshotStore: () => Promise.resolve(SqliteSnapshotStore.open(store)),
      keyStore: () => Promise.resolve(SqliteKeyStore.open(store)),
      streamStateStore: () => sqliteStreamStateStore(store),
      subjectEraser: () => Promise.resolve(sqliteSubjectEraser(store)),
      chainAnchorStore: () => sqliteChainAnchorStore(store),
    },
  });
}

/** `sqlite:<path>` URLs (`sqlite:./data/events.db`, `sqlite::memory:`). */
export const sqliteBackendAdapter: BackendAdapter<SqliteTransaction, SqliteReadModel> = {
  schemes: ['sqlite'],
  open: (url, options) => Promise.resolve(openSqliteBackend(sqlitePath(url), options, url)),
  openStore: (url, options) => Promise.resolve(SqliteEventStore.open(sqlitePath(url), options)),
};

function sqlitePath(url: string): string {
  return url.slice(url.indexOf(':') + 1);
}
