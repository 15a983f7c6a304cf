/**
 * Nexmark q5 and q11 as partitioned stream jobs over a backend (PostgreSQL in the tests):
 * any number of member processes share the partitions, and the results, appended to the
 * store as events, are a single process's.
 *
 * q11 is one keyed stage (sessions per bidder): one partitioned job keyed by bidder. q5 has
 * two keyed stages: bids counted per auction and sliding window (keyed by auction), then the
 * top auctions of each window (keyed by window): two partitioned jobs, the second reading
 * the first's counts back from the store with the watermark its partitions committed
 * (`partitionedOutputSource`).
 */
import {
  PartitionedStreamJob,
  partitionedOutputSource,
  storeSink,
  type GroupMembershipStore,
  type RecordedEvent,
  type LeaseStore,
  type StoreTransaction,
  type StreamSource,
  type StreamStateStore,
  type TransactionalEventStore,
  type WindowResult,
} from '@causewayjs/core';
import type { NexmarkEvent } from './model.js';
import { q5Counts, q5Top, q11 } from './queries.js';

/** The event types the partitioned queries append. */
export const PARTITIONED_TYPES = {
  q11: 'nexmark.q11.session',
  q5Counts: 'nexmark.q5.counted',
  q5: 'nexmark.q5.hottest',
} as const;

/** What a member does with a partitioned job: start it, stop it, look at it. */
export type PartitionedMember = Pick<
  PartitionedStreamJob<unknown>,
  'name' | 'partitions' | 'start' | 'stop' | 'status' | 'rebalance' | 'checkpoints'
>;

/** Options of {@link partitionedQuery}. */
export interface PartitionedQueryOptions<Tx extends StoreTransaction> {
  store: TransactionalEventStore<Tx>;
  checkpoints: StreamStateStore<Tx>;
  leases: LeaseStore<Tx>;
  membership: GroupMembershipStore;
  /** This member's id. */
  member: string;
  /** Partitions of each stage (fixed for good per job name). */
  partitions: number;
  /** Makes the Nexmark source each partition of the first stage reads (bounded). */
  source: () => StreamSource<NexmarkEvent>;
  /** Prefix of the job names (default `nexmark`). */
  prefix?: string;
  batchSize?: number;
  heartbeatIntervalMs?: number;
  memberTtlMs?: number;
  leaseTtlMs?: number;
}

/**
 * The partitioned jobs of `query` for one member, not started: q11's one job, or q5's two
 * stages (counts, then the hottest auctions of each window).
 */
export function partitionedQuery<Tx extends StoreTransaction>(
  query: 'q5' | 'q11',
  o: PartitionedQueryOptions<Tx>,
): PartitionedMember[] {
  const prefix = o.prefix ?? 'nexmark';
  const common = {
    checkpoints: o.checkpoints,
    leases: o.leases,
    membership: o.membership,
    member: o.member,
    partitions: o.partitions,
    batchSize: o.batchSize ?? 500,
    maxFutureMs: Number.POSITIVE_INFINITY,
    idleCheckIntervalMs: 0,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    memberTtlMs: o.memberTtlMs,
    leaseTtlMs: o.leaseTtlMs,
  };
  const bidKey = (pick: (b: { auction: number; bidder: number }) => number) => (e: NexmarkEvent) =>
    e.kind === 'bid' ? pick(e) : undefined;
  if (query === 'q11') {
    const job = new PartitionedStreamJob<NexmarkEvent, Tx>({
      ...common,
      name: `${prefix}-q11`,
      key: bidKey((b) => b.bidder),
      source: o.source,
      timestamp: (e) => e.dateTime,
      dataflow: (input) =>
        q11(input).to(
          storeSink({
            store: o.store,
            stream: (r) => `${prefix}-q11-${r.bidder}`,
            event: (r) => ({ type: PARTITIONED_TYPES.q11, data: r }),
          }),
        ),
    });
    return [job];
  }
  const countsName = `${prefix}-q5-counts`;
  const counts = new PartitionedStreamJob<NexmarkEvent, Tx>({
    ...common,
    name: countsName,
    key: bidKey((b) => b.auction),
    source: o.source,
    timestamp: (e) => e.dateTime,
    dataflow: (input) =>
      q5Counts(input).to(
        storeSink({
          store: o.store,
          stream: (r) => `${prefix}-q5-counts-${r.window.start}`,
          event: (r) => ({ type: PARTITIONED_TYPES.q5Counts, data: r }),
        }),
      ),
  });
  const counted = (e: RecordedEvent) => e.data as WindowResult<number, number>;
  const top = new PartitionedStreamJob<RecordedEvent, Tx>({
    ...common,
    name: `${prefix}-q5`,
    key: (e) => counted(e).window.start,
    source: () =>
      partitionedOutputSource({
        store: o.store,
        filter: { types: [PARTITIONED_TYPES.q5Counts] },
        checkpoints: o.checkpoints,
        upstream: { name: countsName, partitions: o.partitions },
        bounded: true,
        pollIntervalMs: 50,
      }),
    // A count's event time, as in the single job: the last instant of its window.
    timestamp: (e) => counted(e).window.end - 1,
    dataflow: (input) =>
      q5Top(input.map(counted)).to(
        storeSink({
          store: o.store,
          stream: (r) => `${prefix}-q5-${r.window.start}`,
          event: (r) => ({ type: PARTITIONED_TYPES.q5, data: r }),
        }),
      ),
  });
  return [counts, top];
}

/**
 * Results as canonical text: each as JSON with its keys sorted (a JSON column may reorder
 * them), one a line, lines sorted. Two runs with the same results give the same bytes;
 * a lost or duplicated result changes them.
 */
export function canonicalResults(results: readonly unknown[]): string {
  return results
    .map((r) => JSON.stringify(sortKeys(r)))
    .sort()
    .join('\n');
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}
