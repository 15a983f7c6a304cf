import type { StoreTransaction } from '../store/event-store.js';
import type { ConsumerGroup } from '../subscriptions/consumer-group.js';
import type {
  ListParkedOptions,
  ParkedEvent,
  ParkedSelection,
} from '../subscriptions/parked-event-store.js';
import type { Subscription, SubscriptionState } from '../subscriptions/subscription.js';

/**
 * What runs one build of an async projection in this process: one subscription, or one
 * member of a consumer group whose partitions share the build (see
 * `ProjectorOptions.partitions`). The runtime sees both through this shape.
 */
export interface BuildRunner<Tx extends StoreTransaction> {
  /** The build's subscription name (the group's name when partitioned). */
  readonly name: string;
  /** Resolves once it runs, or stands by for another process's lease. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Calls `listener` on every change of state or position, until unsubscribed. */
  onStatus(listener: () => void): () => void;
  /**
   * Its state as one subscription's: a member is `'live'` when every partition it runs is,
   * and `'waiting-for-lease'` while it runs none (the others have them all).
   */
  readonly state: SubscriptionState;
  /** True while it handles events here (a member: while it is in the group). */
  readonly running: boolean;
  /** Why it (or one of its partitions) stopped on its own. */
  readonly error: Error | undefined;
  /**
   * The position the whole build has reached, when this process alone can tell: the
   * subscription's, or the lowest partition's when this member runs every partition.
   */
  localPosition(): number | undefined;
  /** Whether the whole build is live here (every partition, when partitioned). */
  caughtUp(): boolean;
  /** The positions of the partitions this member runs (none when not partitioned). */
  partitionPositions(): ReadonlyMap<number, number>;
  listParked(options?: ListParkedOptions): Promise<ParkedEvent[]>;
  retryParked(which: ParkedSelection): Promise<number>;
  skipParked(which: ParkedSelection): Promise<number>;
  /** The subscriptions it runs here (a member: one per partition it runs). */
  subscriptions(): Subscription<Tx>[];
  /** The member ids of the group, as last seen (none when not partitioned). */
  members(): string[];
}

/** A build run by one subscription (under its lease: one process at a time). */
export class SubscriptionRunner<Tx extends StoreTransaction> implements BuildRunner<Tx> {
  constructor(readonly subscription: Subscription<Tx>) {}

  get name(): string {
    return this.subscription.name;
  }

  start(): Promise<void> {
    const subscription = this.subscription;
    const started = subscription.start();
    let unlisten: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => {
      unlisten = subscription.onStatus((status) => {
        if (status.state === 'waiting-for-lease') resolve();
      });
    });
    return Promise.race([started, waiting]).finally(() => {
      unlisten();
      // A later failure to start shows in the status.
      started.catch(() => undefined);
    });
  }

  stop(): Promise<void> {
    return this.subscription.stop();
  }

  onStatus(listener: () => void): () => void {
    return this.subscription.onStatus(() => listener());
  }

  get state(): SubscriptionState {
    return this.subscription.status.state;
  }

  get running(): boolean {
    return this.subscription.status.running;
  }

  get error(): Error | undefined {
    return this.subscription.status.error;
  }

  localPosition(): number | undefined {
    const status = this.subscription.status;
    return status.running ? status.position : undefined;
  }

  caughtUp(): boolean {
    return this.subscription.status.state === 'live';
  }

  partitionPositions(): ReadonlyMap<number, number> {
    return new Map();
  }

  listParked(options?: ListParkedOptions): Promise<ParkedEvent[]> {
    return this.subscription.listParked(options);
  }

  retryParked(which: ParkedSelection): Promise<number> {
    return this.subscription.retryParked(which);
  }

  skipParked(which: ParkedSelection): Promise<number> {
    return this.subscription.skipParked(which);
  }

  subscriptions(): Subscription<Tx>[] {
    return [this.subscription];
  }

  members(): string[] {
    return [];
  }
}

/** A build whose partitions are shared by the members of a consumer group. */
export class GroupRunner<Tx extends StoreTransaction> implements BuildRunner<Tx> {
  constructor(readonly group: ConsumerGroup<Tx>) {}

  get name(): string {
    return this.group.name;
  }

  start(): Promise<void> {
    return this.group.start();
  }

  stop(): Promise<void> {
    return this.group.stop();
  }

  onStatus(listener: () => void): () => void {
    return this.group.onStatus(() => listener());
  }

  get state(): SubscriptionState {
    const status = this.group.status;
    if (status.state === 'joining') return 'starting';
    if (status.state !== 'running') return status.state;
    const mine = status.partitions.filter((p) => status.assigned.includes(p.partition));
    if (mine.length === 0) return 'waiting-for-lease';
    if (mine.every((p) => p.state === 'live')) return 'live';
    if (mine.every((p) => p.state === 'waiting-for-lease')) return 'waiting-for-lease';
    return 'catching-up';
  }

  get running(): boolean {
    return this.group.status.running;
  }

  get error(): Error | undefined {
    const status = this.group.status;
    if (status.error) return status.error;
    // A partition stopped for good (a `nack.stop`, a checkpoint ahead of the log) stays listed.
    return status.partitions.find((p) => p.state === 'stopped' && p.error !== undefined)?.error;
  }

  localPosition(): number | undefined {
    const positions = this.partitionPositions();
    if (positions.size < this.group.partitions) return undefined;
    return Math.min(...positions.values());
  }

  caughtUp(): boolean {
    const status = this.group.status;
    const live = status.partitions.filter(
      (p) => p.state === 'live' && status.assigned.includes(p.partition),
    );
    return status.running && live.length === this.group.partitions;
  }

  partitionPositions(): ReadonlyMap<number, number> {
    const status = this.group.status;
    const positions = new Map<number, number>();
    for (const p of status.partitions)
      if (p.running && status.assigned.includes(p.partition))
        positions.set(p.partition, p.position);
    return positions;
  }

  listParked(options?: ListParkedOptions): Promise<ParkedEvent[]> {
    return this.group.listParked(options);
  }

  retryParked(which: ParkedSelection): Promise<number> {
    return this.group.retryParked(which);
  }

  skipParked(which: ParkedSelection): Promise<number> {
    return this.group.skipParked(which);
  }

  subscriptions(): Subscription<Tx>[] {
    return [];
  }

  members(): string[] {
    return this.group.status.members;
  }
}
