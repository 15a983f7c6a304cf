import type { Backend } from './store/backend.js';
import type { DocumentsHandle } from './projections/documents.js';
import type { StoreTransaction, TransactionalEventStore } from './store/event-store.js';
import {
  instrumentEventStore,
  type InstrumentOptions,
} from './observability/instrument-event-store.js';
import { withSchemas, type WithSchemasOptions } from './schema/with-schemas.js';
import {
  encryptedEventStore,
  type EncryptedEventStoreOptions,
} from './security/encrypted-event-store.js';
import {
  integrityEventStore,
  type IntegrityEventStoreOptions,
} from './security/integrity-event-store.js';
import { tenantScopedStore } from './security/tenant-scoped-store.js';

/**
 * The decorators of a store, each optional. {@link storeStack} applies them in one fixed
 * order, outermost first:
 *
 * 1. `tracing`: spans and metrics around every append; stamps `traceparent` into metadata;
 * 2. `tenant`: a view bound to one tenant (stamps and checks `metadata.tenant`);
 * 3. `schemas`: validates appended data and stamps its schema version; upcasts on read;
 * 4. `encryption`: encrypts personal fields on write, decrypts (or redacts) on read;
 * 5. `integrity`: chains every stream's events by hash (optionally signed);
 * 6. the adapter's store.
 *
 * Why this order: whatever changes an event's content or metadata (tracing, tenant,
 * schemas, encryption) runs before the hash chain links it, so the chain covers exactly what
 * is stored, ciphertext included, and forgetting a subject never breaks it; validation and
 * upcasting see plaintext; reads come out decrypted before they are upcast. Inline
 * projections (`projector.store`) go on top of the whole stack.
 */
export interface StoreLayers<Tx extends StoreTransaction = StoreTransaction> {
  /** Traces and measures appends (default off). `true`: tracing without metrics. */
  tracing?: boolean | InstrumentOptions;
  /** Binds the store to this tenant. */
  tenant?: string;
  /** Validation and upcasting against a schema registry. */
  schemas?: WithSchemasOptions;
  /** Field encryption; `keyStore` defaults to the backend's when stacking a backend. */
  encryption?: EncryptedEventStoreOptions;
  /** Hash chains (`true`: unsigned). */
  integrity?: boolean | IntegrityEventStoreOptions<Tx>;
}

/**
 * `store` with the decorators of `layers`, in the documented order (see {@link StoreLayers}).
 * Every layer extends `ForwardingEventStore`, so the result is a store of the same
 * transaction type: `transaction()`, `watch()` and the adapter's `tx.database` /
 * `tx.client` work through it, and appends inside a transaction pass every layer too.
 *
 * @example
 * ```ts
 * const store = await storeStack(backend.store, {
 *   schemas: { registry, upcasters },
 *   encryption: { keyStore: await backend.keyStore(), masterKey, personal },
 *   integrity: true,
 *   tracing: true,
 * });
 * ```
 */
export async function storeStack<Tx extends StoreTransaction>(
  store: TransactionalEventStore<Tx>,
  layers: StoreLayers<NoInfer<Tx>>,
): Promise<TransactionalEventStore<Tx>> {
  let stacked = store;
  if (layers.integrity !== undefined && layers.integrity !== false)
    stacked = integrityEventStore(stacked, layers.integrity === true ? {} : layers.integrity);
  if (layers.encryption !== undefined)
    stacked = await encryptedEventStore(stacked, layers.encryption);
  if (layers.schemas !== undefined) stacked = withSchemas(stacked, layers.schemas);
  if (layers.tenant !== undefined) stacked = tenantScopedStore(stacked, layers.tenant);
  if (layers.tracing !== undefined && layers.tracing !== false)
    stacked = instrumentEventStore(stacked, layers.tracing === true ? {} : layers.tracing);
  return stacked;
}

/**
 * {@link StoreLayers} for a backend: encryption may leave out `keyStore`, `snapshots` and
 * `erasers` (the backend's key store keeps the data keys, and forgetting a subject drops its
 * snapshots from the backend's snapshot store and overwrites its copies with the backend's
 * subject eraser), and integrity `anchors` (the backend's chain anchor store
 * anchors each stream's head).
 */
export interface BackendLayers<Tx extends StoreTransaction = StoreTransaction> extends Omit<
  StoreLayers<Tx>,
  'encryption'
> {
  encryption?: Omit<EncryptedEventStoreOptions, 'keyStore'> &
    Partial<Pick<EncryptedEventStoreOptions, 'keyStore'>>;
}

/**
 * A view of `backend` whose store, and every port's reads and writes, go through the
 * decorators of `layers` ({@link storeStack}); the backend's own key store keeps the data keys,
 * its snapshot store is cleared of a forgotten subject's snapshots and its subject eraser
 * (`Backend.subjectEraser()`) overwrites the subject's copies, unless others are given;
 * with integrity, the backend's chain anchor store anchors every stream's head.
 *
 * @example
 * ```ts
 * const backend = await openBackend('sqlite:./data/events.db');
 * const app = await stackBackend(backend, { schemas: { registry }, encryption: { masterKey, personal } });
 * const storage = await app.subscriptionStorage(); // handlers see validated, decrypted events
 * ```
 */
export async function stackBackend<Tx extends StoreTransaction, RM extends DocumentsHandle>(
  backend: Backend<Tx, RM>,
  layers: BackendLayers<NoInfer<Tx>>,
): Promise<Backend<Tx, RM>> {
  const { encryption, integrity, ...rest } = layers;
  const store = await storeStack(backend.store, {
    ...rest,
    ...(integrity !== undefined && integrity !== false
      ? {
          integrity: {
            ...(integrity === true ? {} : integrity),
            anchors:
              (integrity === true ? undefined : integrity.anchors) ??
              (await backend.chainAnchorStore()),
          },
        }
      : {}),
    ...(encryption
      ? {
          encryption: {
            ...encryption,
            keyStore: encryption.keyStore ?? (await backend.keyStore()),
            snapshots: encryption.snapshots ?? (await backend.snapshotStore()),
            erasers: encryption.erasers ?? (await backend.subjectEraser()) ?? [],
          },
        }
      : {}),
  });
  return backend.withStore(store);
}
