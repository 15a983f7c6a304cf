/**
 * The kinds of component that follow the log and report how far they have got: a plain
 * subscription (or one partition of a consumer group), a projection's serving read model, a
 * saga runner's subscription, an outbox relay and a stream-processing job.
 */
export type RuntimeComponentKind = 'subscription' | 'projection' | 'saga' | 'relay' | 'stream-job';

/** What a source reports of one component, read when asked. */
export interface RuntimeReading {
  kind: RuntimeComponentKind;
  /** Its name (a subscription's, e.g. `saga:fulfilment` or `shop-notifier/2`). */
  name: string;
  /**
   * Its state as the component names it (`running`, `waiting-for-lease`, `catching-up`...),
   * `checkpointed` when only its stored checkpoint is known (it runs elsewhere, or not at
   * all), `unknown` when nothing is known of it.
   */
  state: string;
  /** The position of the log it has reached, when known. */
  position: number | undefined;
  /**
   * Its lag in events when it is not measured against this store's head (a stream job reading
   * a broker reports its source's own); otherwise the registry computes it from the head.
   */
  lag?: number | undefined;
  /** Events it has parked, when it parks. */
  parked?: number | undefined;
  /** Age of the oldest event it has not handled yet, in seconds, when it tells (projections). */
  lagSeconds?: number | undefined;
}

/** Something that reports components (see {@link RuntimeRegistry.add}). */
export interface RuntimeSource {
  readings(): readonly RuntimeReading[] | Promise<readonly RuntimeReading[]>;
}

/** One component in a {@link RuntimeSnapshot}: its reading and its lag. */
export interface RuntimeComponentStatus {
  kind: RuntimeComponentKind;
  name: string;
  state: string;
  /** The position reached, `null` when unknown. */
  position: number | null;
  /** Events committed after `position` (never negative), `null` when the position is unknown. */
  lag: number | null;
  /** Events parked, `null` when it does not park or was not read. */
  parked: number | null;
  /** Age of the oldest event not handled yet, in seconds, `null` when not reported. */
  lagSeconds: number | null;
}

/** Every registered component, with its lag against one reading of the store's head. */
export interface RuntimeSnapshot {
  /** The store's head position the lags are measured against. */
  head: number;
  /** Sorted by kind, then name. */
  components: RuntimeComponentStatus[];
}

const KIND_ORDER: readonly RuntimeComponentKind[] = [
  'projection',
  'subscription',
  'saga',
  'relay',
  'stream-job',
];

/**
 * The one place where lag, position and state of every component following the log are read:
 * `/metrics`, `/stats`, the admin UI and the CLI's `stats` all take their figures from a
 * {@link RuntimeRegistry.snapshot}, so they cannot disagree. Lag is always `head - position`
 * (at least 0) against one head read per snapshot, taken after the positions, so a component
 * caught up with a quiet store reads 0.
 *
 * When two sources report the same component, by name (a subscription the server manages the
 * parked events of, and the running subscription itself), the reading that knows most wins,
 * kind included: a live state over a stored checkpoint over nothing.
 *
 * @example
 * ```ts
 * const registry = new RuntimeRegistry(() => store.headPosition());
 * registry.add(subscriptionSource(subscription));
 * const { head, components } = await registry.snapshot();
 * ```
 */
export class RuntimeRegistry {
  private readonly sources = new Set<RuntimeSource>();

  /** @param head reads the store's head position. */
  constructor(private head: () => Promise<number>) {}

  /** Measures lag against another head reader from now on. */
  setHead(head: () => Promise<number>): void {
    this.head = head;
  }

  /** Reports `source`'s components until the returned function is called. */
  add(source: RuntimeSource): () => void {
    this.sources.add(source);
    return () => this.sources.delete(source);
  }

  /** Every component, now. */
  async snapshot(): Promise<RuntimeSnapshot> {
    const readings = (
      await Promise.all([...this.sources].map(async (source) => source.readings()))
    ).flat();
    const head = await this.head();
    const byKey = new Map<string, RuntimeReading>();
    for (const reading of readings) {
      // Names are the components' checkpoint names: one name, one component.
      const key = reading.name;
      const known = byKey.get(key);
      if (!known || rank(reading) > rank(known)) {
        // A richer reading keeps a parked count only the other one had.
        byKey.set(key, { ...reading, parked: reading.parked ?? known?.parked });
      } else if (known.parked === undefined && reading.parked !== undefined) {
        byKey.set(key, { ...known, parked: reading.parked });
      }
    }
    const components = [...byKey.values()].map((r): RuntimeComponentStatus => ({
      kind: r.kind,
      name: r.name,
      state: r.state,
      position: r.position ?? null,
      lag:
        r.lag !== undefined
          ? Math.max(0, r.lag)
          : r.position === undefined
            ? null
            : Math.max(0, head - r.position),
      parked: r.parked ?? null,
      lagSeconds: r.lagSeconds ?? null,
    }));
    components.sort(
      (a, b) =>
        KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.name.localeCompare(b.name),
    );
    return { head, components };
  }
}

function rank(reading: RuntimeReading): number {
  if (reading.position === undefined && reading.lag === undefined) return 0;
  return reading.state === 'checkpointed' || reading.state === 'unknown' ? 1 : 2;
}
