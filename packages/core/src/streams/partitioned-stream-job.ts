import { hostname } from 'node:os';
import { type Clock, systemClock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import { assertPartitionCount } from '../store/partition.js';
import type { StoreTransaction } from '../store/event-store.js';
import {
  MemberIdInUseError,
  PartitionCountMismatchError,
} from '../subscriptions/consumer-group-errors.js';
import {
  assertMemberId,
  type GroupMembershipStore,
} from '../subscriptions/group-membership-store.js';
import type { LeaseStore } from '../subscriptions/lease-store.js';
import { assignPartitions } from '../subscriptions/partition-assignment.js';
import type { Stream } from './stream.js';
import { InvalidStreamDefinitionError } from './stream-errors.js';
import { StreamJob, type StreamJobOptions, type StreamJobStatus } from './stream-job.js';
import type { SourcePosition, StreamSource } from './stream-source.js';
import { assertJobName, type StreamStateStore } from './stream-state-store.js';

/** Options of {@link PartitionedStreamJob}. */
export interface PartitionedStreamJobOptions<
  T,
  Tx extends StoreTransaction = StoreTransaction,
> extends Omit<
  StreamJobOptions<T, Tx>,
  'name' | 'source' | 'checkpoints' | 'lease' | 'owner' | 'partition'
> {
  /** The job's name: its partitions are the stream jobs `<name>#<partition>`. */
  name: string;
  /**
   * How many partitions the job's keys are hashed into (1 to 1,024). Fixed for good once the
   * job has run (its partitions' state is split by it); choose it well above the number of
   * processes you may ever run: rescaling moves whole partitions between members.
   */
  partitions: number;
  /**
   * The key of an element: the key its keyed operators use (or one those keys are a function
   * of). Elements whose key is not a string or a number go to partition 0.
   */
  key: (value: T) => unknown;
  /** Makes the source a partition reads; called once per partition this member runs. */
  source: () => StreamSource<T>;
  /** Builds the dataflow on a partition's input (called once per partition, as for a job). */
  dataflow: (input: Stream<T>, job: StreamJob<T, Tx>) => void;
  /** Checkpoints and fences, one per partition (the backend's `streamStateStore()`). */
  checkpoints: StreamStateStore<Tx>;
  /** Partition leases: `leases` of the same backend's `subscriptionStorage()`. */
  leases: LeaseStore<Tx>;
  /** Group membership: the same backend's `groupMembership()`. */
  membership: GroupMembershipStore;
  /** This member's id, unique among running members (default: host, pid and a random suffix). */
  member?: string;
  /** How often the member heartbeats and looks at the assignment, in ms (default 1,000). */
  heartbeatIntervalMs?: number;
  /** How long a member counts without a heartbeat, in ms (default 10,000). */
  memberTtlMs?: number;
  /** How long a partition's lease lasts unless renewed, in ms (default 10,000). */
  leaseTtlMs?: number;
}

/** A partition's checkpoint, as {@link PartitionedStreamJob.checkpoints} reports it. */
export interface PartitionCheckpoint {
  partition: number;
  /** Source position its state includes; undefined before its first checkpoint. */
  position: SourcePosition | undefined;
  /** Its committed watermark (`END_OF_EVENT_TIME` once a bounded source has ended). */
  watermark: number | null;
}

/** What {@link PartitionedStreamJob.status} reports. */
export interface PartitionedStreamJobStatus {
  name: string;
  member: string;
  state: 'created' | 'running' | 'stopped' | 'failed';
  partitions: number;
  /** The partitions assigned to this member by the last rebalance. */
  assigned: number[];
  /** The members seen by the last rebalance, sorted. */
  members: string[];
  /** Each partition this member runs or has run, with its job's status. */
  jobs: { partition: number; status: StreamJobStatus }[];
  error: Error | undefined;
}

/** The name of partition `partition` of the partitioned job `name`. */
export function partitionJobName(name: string, partition: number): string {
  return `${name}#${partition}`;
}

/** The consumer group the members of partitioned job `name` join. */
export const PARTITIONED_JOB_GROUP_PREFIX = 'stream-job:';

/**
 * A stream job split by key over partitions, run by any number of member processes. Each
 * partition is a stream job of its own (`<name>#<p>`) with its own state and checkpoint,
 * fenced by its own epoch: only the member that claimed it last can commit. Members find
 * each other through the consumer-group membership store and share the partitions out with
 * `assignPartitions` (rendezvous hashing, balanced); when a member joins or leaves, the
 * partitions that move are stopped where they were (their last batch committed, their lease
 * released) and taken over, from that checkpoint, where they go. A member that dies keeps
 * its partitions until its membership and their leases run out; nothing it did not commit
 * counts, so outputs are exactly once.
 *
 * Every partition reads the whole source and moves its watermark with every element's time
 * (see `StreamJobOptions.partition`), so windows, timeouts and lateness are decided exactly
 * as in a single instance: the results are a single instance's, whatever the number of
 * members. The partition count is fixed; rescaling moves partitions between members.
 *
 * @example
 * ```ts
 * const sessions = new PartitionedStreamJob<Bid>({
 *   name: 'bidder-sessions',
 *   partitions: 16,
 *   key: (b) => b.bidder,
 *   source: () => bidsSource(),
 *   timestamp: (b) => b.at,
 *   dataflow: (input) =>
 *     input.keyBy((b) => b.bidder).window(session({ gap: seconds(10) })).aggregate(count())
 *       .to(storeSink({ store, stream: (r) => `sessions-${r.key}`, event: (r) => ({ type: 'session.counted', data: r }) })),
 *   checkpoints: await backend.streamStateStore(),
 *   leases: (await backend.subscriptionStorage()).leases,
 *   membership: await backend.groupMembership(),
 * });
 * await sessions.start();
 * ```
 */
export class PartitionedStreamJob<T, Tx extends StoreTransaction = StoreTransaction> {
  readonly name: string;
  readonly partitions: number;
  readonly member: string;
  private readonly group: string;
  private readonly instance = newId();
  private readonly clock: Clock;
  private readonly heartbeatMs: number;
  private readonly memberTtlMs: number;
  private readonly leaseTtlMs: number;
  private readonly jobs = new Map<number, StreamJob<T, Tx>>();
  private state: PartitionedStreamJobStatus['state'] = 'created';
  private assigned: number[] = [];
  private members: string[] = [];
  private error: Error | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PartitionedStreamJobOptions<T, Tx>) {
    if (typeof options !== 'object' || options === null)
      throw new InvalidStreamDefinitionError('options', 'must be { name, partitions, key, ... }');
    assertJobName(options.name);
    assertPartitionCount(options.partitions);
    this.name = options.name;
    this.partitions = options.partitions;
    // The longest partition job name must still be a job name.
    assertJobName(partitionJobName(options.name, options.partitions - 1));
    for (const f of ['key', 'source', 'dataflow'] as const)
      if (typeof options[f] !== 'function')
        throw new InvalidStreamDefinitionError(f, 'must be a function');
    for (const [f, method] of [
      ['checkpoints', 'claim'],
      ['leases', 'acquire'],
      ['membership', 'heartbeat'],
    ] as const) {
      const port: unknown = options[f];
      if (
        typeof port !== 'object' ||
        port === null ||
        typeof (port as Record<string, unknown>)[method] !== 'function'
      )
        throw new InvalidStreamDefinitionError(f, `must be the backend's ${f} store`);
    }
    this.member = options.member ?? `${hostname()}:${process.pid}:${newId().slice(-8)}`;
    assertMemberId(this.member, 'member');
    this.group = PARTITIONED_JOB_GROUP_PREFIX + options.name;
    this.clock = options.clock ?? systemClock;
    this.heartbeatMs = positive('heartbeatIntervalMs', options.heartbeatIntervalMs ?? 1000);
    this.memberTtlMs = positive('memberTtlMs', options.memberTtlMs ?? 10_000);
    this.leaseTtlMs = positive('leaseTtlMs', options.leaseTtlMs ?? 10_000);
  }

  /**
   * Joins the group (checking the stored partition count), takes this member's share of the
   * partitions and starts them; then heartbeats and rebalances every `heartbeatIntervalMs`.
   *
   * @throws {PartitionCountMismatchError} when the job ran before with another partition count.
   * @throws {MemberIdInUseError} when another live instance has this member id.
   */
  async start(): Promise<void> {
    if (this.state === 'running') return;
    const now = this.clock.now();
    const stored = await this.options.membership.define(
      this.group,
      { partitions: this.partitions, startAfter: 0 },
      now,
    );
    if (stored.partitions !== this.partitions)
      throw new PartitionCountMismatchError(this.group, stored.partitions, this.partitions);
    this.state = 'running';
    this.error = undefined;
    try {
      await this.rebalance();
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.timer = setInterval(() => void this.rebalance().catch(() => undefined), this.heartbeatMs);
    this.timer.unref();
  }

  /**
   * Heartbeats, recomputes the assignment from the live members and starts or stops
   * partitions to match it (the job also does so every `heartbeatIntervalMs`). A partition
   * whose job failed (taken over during a handover, a commit that failed) is started again
   * if it is still this member's: it resumes from its checkpoint once it holds the lease.
   */
  rebalance(): Promise<void> {
    return this.exclusive(async () => {
      if (this.state !== 'running') return;
      try {
        const now = this.clock.now();
        const { membership } = this.options;
        const beat = await membership.heartbeat(
          this.group,
          this.member,
          this.instance,
          this.memberTtlMs,
          now,
        );
        if (!beat.joined)
          throw new MemberIdInUseError(this.group, this.member, beat.holder.expiresAt);
        const members = (await membership.members(this.group, now)).map((m) => m.member);
        if (!members.includes(this.member)) members.push(this.member);
        this.members = [...new Set(members)].sort();
        this.assigned = assignPartitions(this.members, this.partitions).get(this.member) ?? [];
      } catch (error) {
        this.failWith(error);
        throw error;
      }
      const mine = new Set(this.assigned);
      // Partitions that moved away: stopped first (their last batch commits, their lease goes).
      await Promise.all([...this.jobs].filter(([p]) => !mine.has(p)).map(([, job]) => job.stop()));
      for (const p of mine) {
        let job = this.jobs.get(p);
        if (!job) this.jobs.set(p, (job = this.makeJob(p)));
        const state = job.status().state;
        if (state === 'created' || state === 'stopped' || state === 'failed')
          // In the background: it may wait for the lease of the member it moved from.
          void job.start().catch(() => undefined);
      }
    });
  }

  /** Stops every partition this member runs (each commits its batch in hand) and leaves. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.state === 'running') this.state = 'stopped';
    await this.exclusive(async () => {
      await Promise.all([...this.jobs.values()].map((job) => job.stop()));
      await this.options.membership
        .leave(this.group, this.member, this.instance)
        .catch(() => undefined);
    });
  }

  /** This member's view: assignment, members, and the status of each partition it runs. */
  status(): PartitionedStreamJobStatus {
    return {
      name: this.name,
      member: this.member,
      state: this.state,
      partitions: this.partitions,
      assigned: [...this.assigned],
      members: [...this.members],
      jobs: [...this.jobs]
        .sort(([a], [b]) => a - b)
        .map(([partition, job]) => ({ partition, status: job.status() })),
      error: this.error,
    };
  }

  /** Every partition's committed checkpoint, whichever member runs it: progress in total. */
  async checkpoints(): Promise<PartitionCheckpoint[]> {
    return partitionCheckpoints(this.options.checkpoints, this.name, this.partitions);
  }

  private makeJob(partition: number): StreamJob<T, Tx> {
    const o = this.options;
    const job = new StreamJob<T, Tx>({
      ...o,
      name: partitionJobName(this.name, partition),
      source: o.source(),
      checkpoints: o.checkpoints,
      owner: `${this.member}/${this.instance}`,
      partition: { index: partition, count: this.partitions, key: o.key },
      lease: {
        leases: o.leases,
        ttlMs: this.leaseTtlMs,
        wait: true,
        retryIntervalMs: Math.max(1, Math.min(this.heartbeatMs, 250)),
      },
    });
    o.dataflow(job.input, job);
    return job;
  }

  private failWith(error: unknown): void {
    this.error = error instanceof Error ? error : new Error(String(error));
  }

  private exclusive<R>(work: () => Promise<R>): Promise<R> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

/**
 * The committed checkpoint of each partition of the partitioned job `name`, in partition
 * order (position undefined and watermark null for a partition that has none yet).
 */
export async function partitionCheckpoints(
  checkpoints: Pick<StreamStateStore, 'list'>,
  name: string,
  partitions: number,
): Promise<PartitionCheckpoint[]> {
  const stored = new Map((await checkpoints.list()).map((c) => [c.job, c]));
  return Array.from({ length: partitions }, (_, partition) => {
    const c = stored.get(partitionJobName(name, partition));
    return { partition, position: c?.position, watermark: c?.watermark ?? null };
  });
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw new InvalidStreamDefinitionError(name, 'must be an integer >= 1');
  return value;
}
