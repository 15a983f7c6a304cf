import type { RuntimeComponentKind, RuntimeReading, RuntimeSource } from './runtime-registry.js';

// Observability reads the running components through the small structural interfaces below,
// never through their modules' types (it stays below them): a `Subscription`, a
// `ConsumerGroup`, a `SagaRuntime`, a `Projector`, an `OutboxRelay` and a `StreamJob` each
// meet one of them as they are.

/** What is read of a subscription: its status and, when it parks, its parked count. */
export interface SubscriptionReadable {
  readonly status: { readonly name: string; readonly state: string; readonly position: number };
  parkedCount?(): Promise<number>;
}

/** A running subscription (`Subscription` is one), reported by its own status. */
export function subscriptionSource(
  subscription: SubscriptionReadable,
  kind: RuntimeComponentKind = 'subscription',
): RuntimeSource {
  return {
    async readings() {
      const { name, state, position } = subscription.status;
      const parked = subscription.parkedCount ? await subscription.parkedCount() : undefined;
      return [{ kind, name, state, position, parked }];
    },
  };
}

/** What is read of a consumer group member: the partitions it runs (`ConsumerGroup` is one). */
export interface ConsumerGroupReadable {
  readonly status: {
    readonly partitions: readonly {
      readonly name: string;
      readonly state: string;
      readonly position: number;
    }[];
  };
}

/** The partitions a consumer group member runs here, one subscription each. */
export function consumerGroupSource(group: ConsumerGroupReadable): RuntimeSource {
  return {
    readings: () =>
      group.status.partitions.map((p): RuntimeReading => ({
        kind: 'subscription',
        name: p.name,
        state: p.state,
        position: p.position,
      })),
  };
}

/** What is read of a saga runtime: its subscriptions (`SagaRuntime` is one). */
export interface SagaRuntimeReadable {
  readonly status: {
    readonly subscriptions: readonly {
      readonly name: string;
      readonly state: string;
      readonly position: number;
    }[];
  };
}

/** The subscriptions of a saga runtime (`saga:<name>`, `choreography:<name>`). */
export function sagaRuntimeSource(runtime: SagaRuntimeReadable): RuntimeSource {
  return {
    readings: () =>
      runtime.status.subscriptions.map((s): RuntimeReading => ({
        kind: 'saga',
        name: s.name,
        state: s.state,
        position: s.position,
      })),
  };
}

/** What is read of a projector: its projections' statuses (`Projector` is one). */
export interface ProjectorReadable {
  statuses(): Promise<
    readonly {
      readonly name: string;
      /** Read as `unknown` when not given. */
      readonly state?: string;
      readonly position: number;
      readonly parked: number;
      readonly lag: { readonly seconds: number };
    }[]
  >;
}

/** A projector's projections (the serving read model of each). */
export function projectorSource(projector: ProjectorReadable): RuntimeSource {
  return {
    async readings() {
      return (await projector.statuses()).map((s): RuntimeReading => ({
        kind: 'projection',
        name: s.name,
        state: s.state ?? 'unknown',
        position: s.position,
        parked: s.parked,
        lagSeconds: s.lag.seconds,
      }));
    },
  };
}

/** What is read of an outbox relay (`OutboxRelay` is one). */
export interface RelayReadable {
  status(): {
    readonly name: string;
    readonly state: string;
    readonly position: number;
    readonly lag: number;
  };
  /** Positions not yet published, read fresh from the relay's store. */
  lag?(): Promise<number>;
}

/**
 * An outbox relay: its checkpoint is its position; its lag is what it measures against its
 * own store's head (fresh when it can), so it holds even where no head is tracked.
 */
export function relaySource(relay: RelayReadable): RuntimeSource {
  return {
    async readings() {
      const s = relay.status();
      const lag = relay.lag ? await relay.lag() : s.lag;
      return [{ kind: 'relay', name: s.name, state: s.state, position: s.position, lag }];
    },
  };
}

/** What is read of a stream-processing job (`StreamJob` is one). */
export interface StreamJobReadable {
  status(): {
    readonly name: string;
    readonly state: string;
    readonly position: number | string | undefined;
    readonly lag: number | undefined;
  };
}

/**
 * A stream job. `fromStore`: its source is this store's log, so its position is a store
 * position and its lag is measured against the store's head; otherwise (a broker, a custom
 * source) the lag its source reports is used.
 */
export function streamJobSource(
  job: StreamJobReadable,
  options: { fromStore?: boolean } = {},
): RuntimeSource {
  return {
    readings: () => {
      const s = job.status();
      const onLog = options.fromStore ?? true;
      const position = typeof s.position === 'number' ? s.position : undefined;
      return [
        {
          kind: 'stream-job',
          name: s.name,
          state: s.state,
          position: onLog ? (position ?? 0) : position,
          ...(onLog ? {} : { lag: s.lag }),
        },
      ];
    },
  };
}

/** What is read of stored checkpoints and parked events (a `SubscriptionStorage` is one). */
export interface CheckpointsReadable {
  readonly checkpoints: { list(): Promise<readonly { name: string; position: number }[]> };
  readonly parked?: { count(subscription: string): Promise<number> };
}

/**
 * Every stored checkpoint, as `checkpointed` subscriptions: what is known of subscriptions
 * that run in another process, or not at the moment (the CLI's `stats`). A running
 * component's own reading, when registered too, takes precedence.
 */
export function checkpointSource(storage: CheckpointsReadable): RuntimeSource {
  return {
    async readings() {
      const checkpoints = await storage.checkpoints.list();
      return Promise.all(
        checkpoints.map(async (c): Promise<RuntimeReading> => ({
          kind: kindOfSubscription(c.name),
          name: c.name,
          state: 'checkpointed',
          position: c.position,
          parked: storage.parked ? await storage.parked.count(c.name) : undefined,
        })),
      );
    },
  };
}

/**
 * The kind of a checkpointed subscription by its name: a saga runtime's are `saga:` and
 * `choreography:`, everything else is a subscription.
 */
function kindOfSubscription(name: string): RuntimeComponentKind {
  return name.startsWith('saga:') || name.startsWith('choreography:') ? 'saga' : 'subscription';
}
