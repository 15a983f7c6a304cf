import type { Backend, BackendAdapter, OpenBackendOptions } from './store/backend.js';
import { createBackend } from './store/adapter-backend.js';
import type { StoreTransaction } from './store/event-store.js';
import { MemoryEventStore } from './store/memory-event-store.js';
import { MemorySnapshotStore } from './domain/memory-snapshot-store.js';
import type { DocumentReadModel } from './projections/document-read-model.js';
import { memoryProjectionStore } from './projections/memory-projection-store.js';
import { MemorySagaStore } from './sagas/memory-saga-store.js';
import { MemorySchemaStorage } from './schema/memory-schema-storage.js';
import { MemoryChainAnchorStore } from './security/memory-chain-anchor-store.js';
import { MemoryDataKeyStore } from './security/memory-data-key-store.js';
import { memoryStreamStateStore } from './streams/memory-stream-state-store.js';
import { MemoryGroupMembershipStore } from './subscriptions/memory-group-membership-store.js';
import { memorySubscriptionStorage } from './subscriptions/memory-subscription-storage.js';

/** The in-memory backend: everything in process memory, lost with it. For tests and demos. */
export type MemoryBackend = Backend<StoreTransaction, DocumentReadModel>;

/**
 * Opens an in-memory backend: a {@link MemoryEventStore} and every storage port in process
 * memory, written in the store's transactions (applied on commit, dropped on rollback).
 *
 * @example
 * ```ts
 * const backend = openMemoryBackend();
 * const projector = new Projector({ store: await backend.projectionStore(), projections });
 * ```
 */
export function openMemoryBackend(options: OpenBackendOptions = {}): MemoryBackend {
  const store = new MemoryEventStore(options);
  const clock = options.clock;
  const now = clock ? () => clock.now() : undefined;
  return createBackend({
    kind: 'memory',
    url: 'memory:',
    store,
    ports: {
      subscriptionStorage: () =>
        Promise.resolve(memorySubscriptionStorage(store, clock ? { clock } : {})),
      projectionStore: (storage) =>
        Promise.resolve(memoryProjectionStore(store, { storage, ...(clock ? { clock } : {}) })),
      groupMembership: () => Promise.resolve(new MemoryGroupMembershipStore()),
      schemaStorage: () => Promise.resolve(new MemorySchemaStorage()),
      sagaStore: () => Promise.resolve(new MemorySagaStore()),
      snapshotStore: () => Promise.resolve(new MemorySnapshotStore()),
      keyStore: () => Promise.resolve(new MemoryDataKeyStore()),
      streamStateStore: () => Promise.resolve(memoryStreamStateStore(store, now ? { now } : {})),
      chainAnchorStore: () => Promise.resolve(new MemoryChainAnchorStore()),
    },
  });
}

/** The `memory:` URL. */
export const memoryBackendAdapter: BackendAdapter<StoreTransaction, DocumentReadModel> = {
  schemes: ['memory'],
  open: (_url, options) => Promise.resolve(openMemoryBackend(options)),
  openStore: (_url, options) => Promise.resolve(new MemoryEventStore(options)),
};
