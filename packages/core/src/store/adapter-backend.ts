import { InvalidArgumentError, StoreClosedError } from '../core/errors.js';
import type { SnapshotStore } from '../domain/snapshot-store.js';
import type { DocumentsHandle } from '../projections/documents.js';
import type { ProjectionStore } from '../projections/projection-store.js';
import type { SagaStore } from '../sagas/saga-store.js';
import type { SchemaStorage } from '../schema/schema-storage.js';
import type { ChainAnchorStore } from '../security/chain-anchor-store.js';
import type { DataKeyStore } from '../security/data-key-store.js';
import type { SubjectEraser } from '../security/subject-eraser.js';
import { scavengeBackend } from './scavenge-backend.js';
import type { ScavengeOptions, ScavengeReport } from './scavenge.js';
import type { StreamStateStore } from '../streams/stream-state-store.js';
import type { GroupMembershipStore } from '../subscriptions/group-membership-store.js';
import type { SubscriptionStorage } from '../subscriptions/subscription-storage.js';
import type { Backend } from './backend.js';
import type { StoreTransaction, TransactionalEventStore } from './event-store.js';
import { undecorated } from './forwarding-event-store.js';
import { withMembers } from './with-members.js';

/**
 * How an adapter makes each storage port on its own (undecorated) store. Each is called once
 * per backend, on first use; the port's tables are created or migrated then.
 * {@link createBackend} turns these into a {@link Backend}.
 */
export interface BackendPorts<Tx extends StoreTransaction, RM extends DocumentsHandle> {
  subscriptionStorage(): Promise<SubscriptionStorage<Tx>>;
  /** Projections, given the subscription storage made by `subscriptionStorage`. */
  projectionStore(storage: SubscriptionStorage<Tx>): Promise<ProjectionStore<Tx, RM>>;
  groupMembership(): Promise<GroupMembershipStore>;
  schemaStorage(): Promise<SchemaStorage>;
  sagaStore(): Promise<SagaStore<Tx>>;
  snapshotStore(): Promise<SnapshotStore>;
  keyStore(): Promise<DataKeyStore>;
  streamStateStore(): Promise<StreamStateStore<Tx>>;
  /** Optional: the subject eraser of the adapter's database (see `Backend.subjectEraser`). */
  subjectEraser?(): Promise<SubjectEraser>;
  chainAnchorStore(): Promise<ChainAnchorStore<Tx>>;
}

/** What {@link createBackend} needs of an adapter. */
export interface CreateBackendOptions<Tx extends StoreTransaction, RM extends DocumentsHandle> {
  /** The adapter's name (`sqlite`). */
  kind: string;
  /** The URL opened, password masked. */
  url: string;
  /** The adapter's own event store; the backend owns it and closes it last. */
  store: TransactionalEventStore<Tx>;
  ports: BackendPorts<Tx, RM>;
}

type PortName = keyof BackendPorts<StoreTransaction, DocumentsHandle>;

const noEraser: Promise<undefined> = Promise.resolve(undefined);

/** The state every view of one backend shares: the store, the ports made so far, closing. */
interface Shared<Tx extends StoreTransaction, RM extends DocumentsHandle> {
  options: CreateBackendOptions<Tx, RM>;
  made: Map<PortName, Promise<unknown>>;
  closing: Promise<void> | undefined;
}

/**
 * The {@link Backend} of an adapter, from its store and port factories: ports are made once
 * and shared by every view ({@link Backend.withStore}); a view's subscription storage,
 * projection store and stream-state store carry the view's store, so everything built on
 * them reads and writes through it. `close()` closes every port that has a `close` method,
 * in reverse order of making, then the store. The helper every adapter uses, third-party
 * ones included.
 *
 * @example
 * ```ts
 * export async function openMyBackend(url: string): Promise<Backend<MyTransaction, MyReadModel>> {
 *   const store = await MyEventStore.open(url);
 *   return createBackend({ kind: 'my', url, store, ports: {
 *     subscriptionStorage: () => mySubscriptionStorage(store),
 *     // ...every other port
 *   } });
 * }
 * ```
 */
export function createBackend<Tx extends StoreTransaction, RM extends DocumentsHandle>(
  options: CreateBackendOptions<Tx, RM>,
): Backend<Tx, RM> {
  const shared: Shared<Tx, RM> = { options, made: new Map(), closing: undefined };
  return new BackendView(shared, options.store);
}

class BackendView<Tx extends StoreTransaction, RM extends DocumentsHandle> implements Backend<
  Tx,
  RM
> {
  private storage: Promise<SubscriptionStorage<Tx>> | undefined;
  private projections: Promise<ProjectionStore<Tx, RM>> | undefined;
  private streams: Promise<StreamStateStore<Tx>> | undefined;

  constructor(
    private readonly shared: Shared<Tx, RM>,
    readonly store: TransactionalEventStore<Tx>,
  ) {}

  get kind(): string {
    return this.shared.options.kind;
  }

  get url(): string {
    return this.shared.options.url;
  }

  get isClosed(): boolean {
    return this.shared.closing !== undefined;
  }

  private get own(): boolean {
    return this.store === this.shared.options.store;
  }

  withStore(store: TransactionalEventStore<Tx>): Backend<Tx, RM> {
    if (typeof store !== 'object' || store === null || typeof store.transaction !== 'function')
      throw new InvalidArgumentError('store', 'must be a transactional event store');
    if (undecorated(store) !== this.shared.options.store)
      throw new InvalidArgumentError(
        'store',
        `must be this ${this.kind} backend's store, or decorators stacked on it`,
      );
    return new BackendView(this.shared, store);
  }

  subscriptionStorage(): Promise<SubscriptionStorage<Tx>> {
    return (this.storage ??= this.port('subscriptionStorage', (p) => p.subscriptionStorage()).then(
      (storage) => (this.own ? storage : { ...storage, store: this.store }),
    ));
  }

  projectionStore(): Promise<ProjectionStore<Tx, RM>> {
    return (this.projections ??= this.port('projectionStore', async (p) =>
      p.projectionStore(await this.port('subscriptionStorage', (q) => q.subscriptionStorage())),
    ).then(async (projections) =>
      this.own
        ? projections
        : withMembers(projections, { storage: await this.subscriptionStorage() }),
    ));
  }

  groupMembership(): Promise<GroupMembershipStore> {
    return this.port('groupMembership', (p) => p.groupMembership());
  }

  schemaStorage(): Promise<SchemaStorage> {
    return this.port('schemaStorage', (p) => p.schemaStorage());
  }

  sagaStore(): Promise<SagaStore<Tx>> {
    return this.port('sagaStore', (p) => p.sagaStore());
  }

  snapshotStore(): Promise<SnapshotStore> {
    return this.port('snapshotStore', (p) => p.snapshotStore());
  }

  keyStore(): Promise<DataKeyStore> {
    return this.port('keyStore', (p) => p.keyStore());
  }

  streamStateStore(): Promise<StreamStateStore<Tx>> {
    return (this.streams ??= this.port('streamStateStore', (p) => p.streamStateStore()).then(
      (states) => (this.own ? states : withMembers(states, { store: this.store })),
    ));
  }

  chainAnchorStore(): Promise<ChainAnchorStore<Tx>> {
    return this.port('chainAnchorStore', (p) => p.chainAnchorStore());
  }

  subjectEraser(): Promise<SubjectEraser | undefined> {
    const make = this.shared.options.ports.subjectEraser?.bind(this.shared.options.ports);
    return make ? this.port('subjectEraser', () => make()) : noEraser;
  }

  scavenge(options?: ScavengeOptions): Promise<ScavengeReport> {
    return scavengeBackend(this, options);
  }

  close(): Promise<void> {
    const shared = this.shared;
    return (shared.closing ??= (async () => {
      const made = [...shared.made.values()].reverse();
      for (const port of made) {
        const value = await port.catch(() => undefined);
        const close = (value as { close?: unknown } | undefined)?.close;
        if (typeof close === 'function')
          await (close as () => Promise<void>).call(value).catch(() => undefined);
      }
      if (!shared.options.store.isClosed) await shared.options.store.close();
    })());
  }

  /** The shared port `name`, made on first use; refused once the backend is closing. */
  private port<T>(name: PortName, make: (ports: BackendPorts<Tx, RM>) => Promise<T>): Promise<T> {
    if (this.shared.closing !== undefined) return Promise.reject(new StoreClosedError());
    let made = this.shared.made.get(name) as Promise<T> | undefined;
    if (!made) {
      made = make(this.shared.options.ports);
      this.shared.made.set(name, made);
      // A failed make (database down) is tried again on the next call.
      made.catch(() => {
        if (this.shared.made.get(name) === made) this.shared.made.delete(name);
      });
    }
    return made;
  }
}
