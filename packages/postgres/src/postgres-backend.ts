import {
  type Backend,
  type BackendAdapter,
  type OpenBackendOptions,
  createBackend,
} from '@causewayjs/core';
import { postgresChainAnchorStore } from './postgres-chain-anchor-store.js';
import { PostgresEventStore, type PostgresTransaction } from './postgres-event-store.js';
import { postgresGroupMembership } from './postgres-group-membership-store.js';
import { PostgresKeyStore } from './postgres-key-store.js';
import { postgresProjectionStore } from './postgres-projection-store.js';
import type { PostgresReadModel } from './postgres-read-model.js';
import { postgresSagaStore } from './postgres-saga-store.js';
import { PostgresSchemaStorage } from './postgres-schema-storage.js';
import { PostgresSnapshotStore } from './postgres-snapshot-store.js';
import { postgresStreamStateStore } from './postgres-stream-state-store.js';
import { postgresSubjectEraser } from './postgres-subject-eraser.js';
import { postgresSubscriptionStorage } from './postgres-subscription-storage.js';
import { redact } from './postgres-support.js';

/** The PostgreSQL backend: one pool and schema holding the events and every port's tables. */
export type PostgresBackend = Backend<PostgresTransaction, PostgresReadModel>;

/**
 * Opens the PostgreSQL backend at `url` (`postgres://user@host:5432/db?schema=events`): the
 * event store and every storage port, sharing the store's pool and schema, all written in
 * the store's transactions.
 *
 * @throws {StoreUnavailableError} when the server cannot be reached.
 * @example
 * ```ts
 * import { openPostgresBackend } from '@causewayjs/postgres';
 * const backend = await openPostgresBackend('postgres://app@db/shop?schema=events');
 * const storage = await backend.subscriptionStorage();
 * ```
 */
export async function openPostgresBackend(
  url: string,
  options: OpenBackendOptions = {},
): Promise<PostgresBackend> {
  return postgresBackendOf(await PostgresEventStore.open(url, options), redact(url));
}

/** The backend of an open PostgreSQL store, which it then owns (closing the backend closes it). */
export function postgresBackendOf(store: PostgresEventStore, url = 'postgres:'): PostgresBackend {
  return createBackend({
    kind: 'postgres',
    url,
    store,
    ports: {
      subscriptionStorage: () => postgresSubscriptionStorage(store),
      projectionStore: (storage) => postgresProjectionStore(store, { storage }),
      groupMembership: () => postgresGroupMembership(store),
      schemaStorage: () => PostgresSchemaStorage.open(store),
      sagaStore: () => postgresSagaStore(store),
      snapshotStore: () => PostgresSnapshotStore.open(store),
      keyStore: () => PostgresKeyStore.open(store),
      streamStateStore: () => postgresStreamStateStore(store),
      subjectEraser: () => Promise.resolve(postgresSubjectEraser(store)),
      chainAnchorStore: () => postgresChainAnchorStore(store),
    },
  });
}

/** `postgres://` and `postgresql://` URLs. */
export const postgresBackendAdapter: BackendAdapter<PostgresTransaction, PostgresReadModel> = {
  schemes: ['postgres', 'postgresql'],
  open: openPostgresBackend,
  openStore: (url, options) => PostgresEventStore.open(url, options),
};
