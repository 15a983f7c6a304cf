import type { EventInput, RecordedEvent } from '../core/envelope.js';
import type {
  AppendOptions,
  AppendRequest,
  AppendResult,
  ReadAllOptions,
  ReadStreamOptions,
  StoreTransaction,
  TransactionalEventStore,
} from '../store/event-store.js';
import { ForwardingEventStore, type AppendTarget } from '../store/forwarding-event-store.js';
import {
  SchemaValidationError,
  UnknownSchemaVersionError,
  UnregisteredEventTypeError,
  UpcastFailedError,
  type EventValidationFailure,
} from './schema-errors.js';
import type { SchemaRegistry } from './schema-registry.js';
import { UpcasterChain, type Upcaster } from './upcaster.js';

/** Options of {@link withSchemas}. */
export interface WithSchemasOptions {
  registry: SchemaRegistry;
  /** The upcasters of every type whose schema changed; see {@link upcaster}. */
  upcasters?: readonly Upcaster<never, unknown>[] | UpcasterChain;
  /** Refuse events of types that have no registered schema. Default false: they pass. */
  strict?: boolean;
  /**
   * Also validate upcasted data against the current schema, so a wrong upcaster fails
   * loudly on read (`UpcastFailedError`) instead of handing bad data on. Default false.
   */
  validateUpcasted?: boolean;
  /**
   * How far reads are upcast. `'latest'` (default): to the type's latest registered version
   * (or the end of its upcaster chain), and an event the upcasters cannot bring there fails
   * the read with `UpcasterMissingError`. `'available'`: as far as the upcasters given lead,
   * and an event with no upcaster from its version comes out as stored; for tools that
   * validate against a registry without knowing the application's upcasters (the CLI, a
   * server given only a registry), whose reads must not fail on old events.
   */
  upcast?: 'latest' | 'available';
}

/** An event store that validates appends and upcasts reads; see {@link withSchemas}. */
export interface SchemaAwareEventStore<
  Tx extends StoreTransaction = StoreTransaction,
> extends TransactionalEventStore<Tx> {
  readonly registry: SchemaRegistry;
}

/**
 * The schema registry `store` validates against: its own when it was made by
 * {@link withSchemas}, or that of a `withSchemas` layer under any other decorators (a
 * `storeStack`); undefined when no layer validates.
 */
export function schemaRegistryOf(store: unknown): SchemaRegistry | undefined {
  for (let layer = store; layer instanceof ForwardingEventStore; layer = layer.inner)
    if (layer instanceof SchemaAwareStore) return layer.registry;
  return undefined;
}

/**
 * Wraps an event store so that:
 * - `append`/`appendMany` validate the data of every event of a registered type against
 *   its `schemaVersion` (default: the latest registered version, which is then stamped on
 *   the event). Any failure rejects the whole call with a {@link SchemaValidationError}
 *   listing each failing event and path, and nothing is written. Events of unregistered
 *   types pass, unless `strict`.
 * - `readStream`/`readAll` run the upcasters, chained `vN → vN+1`, so every event comes out
 *   at its type's current version (the latest registered one, or else the end of its
 *   upcaster chain), with `schemaVersion` updated. Events already at (or, written by newer
 *   code, beyond) it come out as stored.
 *
 * Appends made with `tx.append` in its `transaction()` are validated the same way. Everything
 * else passes straight through. A command handler given the wrapped store validates what it
 * appends and decides on upcasted events.
 *
 * @example
 * ```ts
 * const store = withSchemas(await openEventStore('sqlite:./data/events.db'), {
 *   registry,
 *   upcasters: [upcaster('order.placed', 1, (d: V1) => ({ ...d, currency: 'EUR' }))],
 *   strict: true,
 * });
 * ```
 */
export function withSchemas<Tx extends StoreTransaction>(
  store: TransactionalEventStore<Tx>,
  options: WithSchemasOptions,
): SchemaAwareEventStore<Tx> {
  return new SchemaAwareStore(store, options);
}

class SchemaAwareStore<Tx extends StoreTransaction>
  extends ForwardingEventStore<Tx>
  implements SchemaAwareEventStore<Tx>
{
  readonly registry: SchemaRegistry;
  private readonly chain: UpcasterChain;
  private readonly strict: boolean;
  private readonly validateUpcasted: boolean;
  private readonly upcastAvailableOnly: boolean;

  constructor(inner: TransactionalEventStore<Tx>, options: WithSchemasOptions) {
    super(inner);
    this.registry = options.registry;
    this.chain =
      options.upcasters instanceof UpcasterChain
        ? options.upcasters
        : new UpcasterChain(options.upcasters);
    this.strict = options.strict ?? false;
    this.validateUpcasted = options.validateUpcasted ?? false;
    this.upcastAvailableOnly = options.upcast === 'available';
  }

  protected override async writeAppend(
    to: AppendTarget,
    stream: string,
    events: readonly EventInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    const [checked] = await this.check([events]);
    return to.append(stream, checked ?? events, options);
  }

  protected override async writeAppendMany(
    to: AppendTarget,
    requests: readonly AppendRequest[],
  ): Promise<AppendResult[]> {
    if (!Array.isArray(requests)) return to.appendMany(requests);
    const list: readonly AppendRequest[] = requests;
    const checked = await this.check(
      list.map((r) => (typeof r === 'object' && r !== null ? r.events : undefined)),
    );
    return to.appendMany(
      list.map((r, i): AppendRequest => {
        const events = checked[i];
        return events === undefined ? r : { ...r, events };
      }),
    );
  }

  override readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    return this.upcastAll(this.inner.readStream(stream, options));
  }

  override readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    return this.upcastAll(this.inner.readAll(options));
  }

  /**
   * Validates the events of each request and stamps their schema version. Malformed input
   * (not an array, an event without a type...) is left for the inner store to refuse with
   * its own errors; `undefined` marks a request left as is.
   */
  private async check(
    requests: readonly (readonly EventInput[] | undefined)[],
  ): Promise<(EventInput[] | undefined)[]> {
    const failures: EventValidationFailure[] = [];
    let refreshed = false;
    const refreshOnce = async () => {
      if (!refreshed) await this.registry.refresh();
      refreshed = true;
    };
    const out: (EventInput[] | undefined)[] = [];
    for (const [request, events] of requests.entries()) {
      if (!Array.isArray(events)) {
        out.push(undefined);
        continue;
      }
      const checked: EventInput[] = [];
      for (const [index, event] of (events as readonly EventInput[]).entries()) {
        if (
          typeof event !== 'object' ||
          event === null ||
          typeof event.type !== 'string' ||
          !('data' in event)
        ) {
          checked.push(event);
          continue;
        }
        const { type, schemaVersion } = event;
        if (
          schemaVersion !== undefined &&
          !(Number.isSafeInteger(schemaVersion) && schemaVersion >= 1)
        ) {
          checked.push(event); // the inner store names the bad version
          continue;
        }
        if (!this.registry.has(type)) {
          if (!this.strict) {
            checked.push(event);
            continue;
          }
          await refreshOnce();
          if (!this.registry.has(type)) throw new UnregisteredEventTypeError(type, index);
        }
        const version = schemaVersion ?? this.registry.latestVersion(type) ?? 1;
        if (this.registry.get(type, version) === undefined) {
          await refreshOnce();
          if (this.registry.get(type, version) === undefined) {
            throw new UnknownSchemaVersionError(
              type,
              version,
              this.registry.versions(type).map((v) => v.version),
            );
          }
        }
        const result = this.registry.validate(type, event.data, version);
        if (!result.valid) {
          failures.push({ request, index, eventType: type, version, issues: result.issues });
        }
        checked.push({ ...event, schemaVersion: version });
      }
      out.push(checked);
    }
    if (failures.length > 0) throw new SchemaValidationError(failures);
    return out;
  }

  private async *upcastAll(source: AsyncIterable<RecordedEvent>): AsyncGenerator<RecordedEvent> {
    for await (const event of source) yield this.upcast(event);
  }

  private upcast(event: RecordedEvent): RecordedEvent {
    let target = this.registry.latestVersion(event.type) ?? this.chain.targetVersion(event.type);
    if (target !== undefined && this.upcastAvailableOnly)
      target = Math.min(target, this.chain.reachableVersion(event.type, event.schemaVersion));
    if (target === undefined || event.schemaVersion >= target) return event;
    const upcasted = this.chain.upcast(event, target);
    if (this.validateUpcasted && this.registry.has(event.type)) {
      const result = this.registry.validate(event.type, upcasted.data, target);
      if (!result.valid) {
        throw new UpcastFailedError(
          event.id,
          event.type,
          event.schemaVersion,
          target,
          `the result does not match v${target}: ${result.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
        );
      }
    }
    return upcasted;
  }
}
