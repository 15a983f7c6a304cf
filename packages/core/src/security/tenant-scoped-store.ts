import type { EventInput, RecordedEvent } from '../core/envelope.js';
import { StoreClosedError } from '../core/errors.js';
import type {
  AppendOptions,
  AppendRequest,
  AppendResult,
  CommitListener,
  DeleteStreamOptions,
  CountStreamsOptions,
  ListStreamsOptions,
  ReadAllOptions,
  ReadStreamOptions,
  StoreTransaction,
  StreamInfo,
  StreamMetadata,
  StreamSummary,
  TransactionalEventStore,
} from '../store/event-store.js';
import {
  ForwardingEventStore,
  isList,
  type AppendTarget,
} from '../store/forwarding-event-store.js';
import { allWindow, checkListStreams } from '../store/reading.js';
import { assertStreamName } from '../store/validation.js';
import { TenantForbiddenError } from './security-errors.js';
import { assertTenantId, belongsToTenant, tenantMetadataMatches, tenantPrefix } from './tenants.js';

/**
 * A view of `store` for callers bound to one tenant. A stream belongs to tenant `t` when its
 * name starts with `t:` (see {@link tenantStream}); an event is seen only when its
 * `metadata.tenant`, if present, is `t` too ({@link belongsToTenant}).
 *
 * - Appends go only to the tenant's streams; each event's `metadata.tenant` is set to the
 *   tenant, and an event that already names another tenant is refused
 *   ({@link TenantForbiddenError}, nothing written).
 * - `readStream`, `streamInfo`, `deleteStream`, `setStreamMetadata` refuse other streams.
 * - `readAll` and `listStreams` yield only the tenant's streams and events (a stream-prefix
 *   filter is narrowed to the tenant's namespace); `limit` counts what is yielded.
 * - `headPosition` is the store's: positions are global, so a tenant can tell that others
 *   write, never what.
 *
 * `close()` closes the view only; the shared store stays open for other tenants.
 *
 * @example
 * ```ts
 * const acme = tenantScopedStore(store, 'acme');
 * await acme.append('acme:order-1', [{ type: 'order.placed', data: {} }]); // metadata.tenant = 'acme'
 * await acme.append('globex:order-1', [...]); // throws TenantForbiddenError
 * ```
 */
export function tenantScopedStore<Tx extends StoreTransaction>(
  store: TransactionalEventStore<Tx>,
  tenant: string,
): TenantScopedStore<Tx> {
  return new TenantScopedStore(store, tenant);
}

/** The store returned by {@link tenantScopedStore}. */
export class TenantScopedStore<
  Tx extends StoreTransaction = StoreTransaction,
> extends ForwardingEventStore<Tx> {
  private closed = false;
  private readonly prefix: string;
  /** Watchers registered through this view, each with its way to stop. */
  private readonly watchers = new Map<CommitListener, () => void>();

  constructor(
    inner: TransactionalEventStore<Tx>,
    /** The tenant this view is bound to. */
    readonly tenant: string,
  ) {
    super(inner);
    assertTenantId(tenant);
    this.prefix = tenantPrefix(tenant);
  }

  override get isClosed(): boolean {
    return this.closed || this.inner.isClosed;
  }

  protected override writeAppend(
    to: AppendTarget,
    stream: string,
    events: readonly EventInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    return this.run(() => to.append(stream, this.stamp(stream, events), options));
  }

  protected override writeAppendMany(
    to: AppendTarget,
    requests: readonly AppendRequest[],
  ): Promise<AppendResult[]> {
    return this.run(() => to.appendMany(this.stampRequests(requests)));
  }

  override transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.run(() => super.transaction(work));
  }

  // Reads check their arguments on the call, as the port promises (not at the first
  // iteration), and an iteration in progress stops once this view is closed.
  override readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    this.assertUsable(stream);
    return this.whileOpen(this.inner.readStream(stream, options), (event) =>
      tenantMetadataMatches(event, this.tenant) ? 'yield' : 'skip',
    );
  }

  override readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    this.assertOpen();
    allWindow(options);
    const prefix = narrowPrefix(options.filter?.streamPrefix, this.prefix);
    const { limit, ...rest } = options;
    let left = limit ?? Number.POSITIVE_INFINITY;
    if (prefix === undefined || left <= 0) return this.whileOpen([], () => 'skip');
    return this.whileOpen(
      this.inner.readAll({ ...rest, filter: { ...rest.filter, streamPrefix: prefix } }),
      (event) => {
        if (!belongsToTenant(event, this.tenant)) return 'skip';
        return --left <= 0 ? 'last' : 'yield';
      },
    );
  }

  override listStreams(options: ListStreamsOptions = {}): AsyncIterable<StreamSummary> {
    this.assertOpen();
    checkListStreams(options);
    const prefix = narrowPrefix(options.prefix, this.prefix);
    if (prefix === undefined) return this.whileOpen([], () => 'skip');
    return this.whileOpen(this.inner.listStreams({ ...options, prefix }), () => 'yield');
  }

  override countStreams(options: CountStreamsOptions = {}): Promise<number> {
    this.assertOpen();
    checkListStreams(options);
    const prefix = narrowPrefix(options.prefix, this.prefix);
    if (prefix === undefined) return Promise.resolve(0);
    return this.run(() => super.countStreams({ ...options, prefix }));
  }

  override headPosition(): Promise<number> {
    return this.run(() => this.inner.headPosition());
  }

  override streamInfo(stream: string): Promise<StreamInfo> {
    return this.run(() => {
      this.assertUsable(stream);
      return this.inner.streamInfo(stream);
    });
  }

  override deleteStream(stream: string, options?: DeleteStreamOptions): Promise<void> {
    return this.run(() => {
      this.assertUsable(stream);
      return this.inner.deleteStream(stream, options);
    });
  }

  override setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void> {
    return this.run(() => {
      this.assertUsable(stream);
      return this.inner.setStreamMetadata(stream, metadata);
    });
  }

  /** Watches the store; the watcher is told once (with 0) when this view closes, as by a store. */
  override watch(listener: CommitListener): () => void {
    this.assertOpen();
    const stop = this.inner.watch(listener);
    const entry: CommitListener = (position) => listener(position);
    this.watchers.set(entry, stop);
    return () => {
      this.watchers.delete(entry);
      stop();
    };
  }

  /** Closes this view, telling its watchers; the underlying store stays open. */
  override close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const [listener, stop] of this.watchers) {
      stop();
      try {
        listener(0);
      } catch {
        // A watcher's failure is its own, as with the store's.
      }
    }
    this.watchers.clear();
    return Promise.resolve();
  }

  private stampRequests(requests: readonly AppendRequest[]): AppendRequest[] {
    if (!isList(requests)) return requests as AppendRequest[];
    return requests.map((r) => ({ ...r, events: this.stamp(r.stream, r.events) }));
  }

  /** Checks the stream and every event's tenant; returns copies with the tenant set. */
  private stamp(stream: string, events: readonly EventInput[]): EventInput[] {
    this.assertUsable(stream);
    // The inner store reports malformed lists with its own typed errors.
    if (!isList(events)) return events as EventInput[];
    return events.map((event) => {
      if (typeof event !== 'object' || event === null) return event;
      const metadata: unknown = event.metadata;
      if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null))
        return event;
      const tenant = (metadata as Record<string, unknown> | undefined)?.tenant;
      if (tenant !== undefined && tenant !== this.tenant)
        throw new TenantForbiddenError(
          this.tenant,
          stream,
          'an event names another tenant in its metadata',
        );
      return { ...event, metadata: { ...event.metadata, tenant: this.tenant } };
    });
  }

  /** What `source` yields through this view, as `pick` decides, while the view is open. */
  private async *whileOpen<T>(
    source: AsyncIterable<T> | readonly T[],
    pick: (item: T) => 'yield' | 'skip' | 'last',
  ): AsyncIterable<T> {
    for await (const item of source) {
      this.assertOpen();
      const verdict = pick(item);
      if (verdict === 'skip') continue;
      yield item;
      if (verdict === 'last') return;
    }
  }

  private assertUsable(stream: string): void {
    this.assertOpen();
    // An invalid name is refused as the store refuses it, whatever the tenant.
    assertStreamName(stream);
    if (!stream.startsWith(this.prefix))
      throw new TenantForbiddenError(
        this.tenant,
        String(stream),
        `the tenant's streams are named "${this.prefix}<name>"`,
      );
  }

  private assertOpen(): void {
    if (this.isClosed) throw new StoreClosedError();
  }

  private run<T>(work: () => Promise<T>): Promise<T> {
    try {
      this.assertOpen();
      return work();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

/**
 * The narrower of a caller's stream prefix and the tenant's: `undefined` when they cannot
 * both hold (a prefix pointing into another tenant's namespace).
 */
function narrowPrefix(requested: string | undefined, own: string): string | undefined {
  if (requested === undefined || requested === '' || own.startsWith(requested)) return own;
  if (requested.startsWith(own)) return requested;
  return undefined;
}
