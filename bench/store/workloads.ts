import type { StorePeer } from '../peers/store-peer.js';
import { eventCount, type PlannedAppend, type StorePlan } from './plan.js';

/**
 * The five workloads, each cut into slices. The benchmark runs slice 1 of every store, then
 * slice 2 of every store, and so on, so that all stores meet the machine in the same state
 * (on a shared machine, load comes and goes). A slice resolves with the items it did.
 */
export interface SlicedWorkload {
  slices: number;
  run(peer: StorePeer, slice: number): Promise<number>;
}

/** Slices per workload. */
export const SLICES = 10;
/** Workload 5 reads the long stream this many times (each read whole, one per slice). */
export const STREAM_READS = SLICES;

/** The `slice`-th of `slices` near-equal parts of `items`. */
export function sliceOf<T>(items: readonly T[], slice: number, slices: number): T[] {
  const from = Math.floor((slice * items.length) / slices);
  const to = Math.floor(((slice + 1) * items.length) / slices);
  return items.slice(from, to);
}

/** Workload 1: single-event appends, one after the other, with exact expected revisions. */
export function sequentialAppends(plan: StorePlan): SlicedWorkload {
  return {
    slices: SLICES,
    run: async (peer, slice) => {
      const appends = sliceOf(plan.sequential, slice, SLICES);
      await appendAll(peer, appends);
      return appends.length;
    },
  };
}

/**
 * Workload 2: appends of 100 events, each to a new stream. `onFirst` gets the global
 * position of the first event written, where workload 4 starts reading.
 */
export function batchedAppends(
  plan: StorePlan,
  onFirst: (peer: StorePeer, position: number) => void,
): SlicedWorkload {
  return {
    slices: SLICES,
    run: async (peer, slice) => {
      const appends = sliceOf(plan.batched, slice, SLICES);
      const [first, ...rest] = appends;
      if (!first) return 0;
      const last = await peer.append(first.stream, first.events, first.expectedRevision);
      if (slice === 0) onFirst(peer, last - first.events.length + 1);
      await appendAll(peer, rest);
      return eventCount(appends);
    },
  };
}

/**
 * Workload 3: concurrent writers, each appending single events to its own streams with
 * exact expected revisions. In each slice every writer does its next share of appends, all
 * writers at once. Every writer runs to the end of the slice even if another fails, so
 * nothing is left writing when the next store's turn starts.
 */
export function concurrentAppends(plan: StorePlan): SlicedWorkload {
  return {
    slices: SLICES,
    run: async (peer, slice) => {
      const shares = plan.concurrent.map((writer) => sliceOf(writer, slice, SLICES));
      const outcomes = await Promise.allSettled(shares.map((share) => appendAll(peer, share)));
      const failed = outcomes.find((o) => o.status === 'rejected');
      if (failed) throw failed.reason;
      return shares.reduce((sum, share) => sum + share.length, 0);
    },
  };
}

/** Workload 4: reads workload 2's events from the global log, a tenth per slice. */
export function readAll(
  plan: StorePlan,
  firstPosition: (peer: StorePeer) => number,
): SlicedWorkload {
  const total = eventCount(plan.batched);
  return {
    slices: SLICES,
    run: async (peer, slice) => {
      const from = Math.floor((slice * total) / SLICES);
      const count = Math.floor(((slice + 1) * total) / SLICES) - from;
      return expectCount(await peer.readAll(firstPosition(peer) + from, count), count);
    },
  };
}

/** Workload 5: reads the long stream whole, once per slice. */
export function readLongStream(plan: StorePlan): SlicedWorkload {
  return {
    slices: STREAM_READS,
    run: async (peer) =>
      expectCount(await peer.readStream(plan.longStreamName), eventCount(plan.longStream)),
  };
}

/** Writes the long stream workload 5 reads (set-up, not timed). */
export function writeLongStream(peer: StorePeer, plan: StorePlan): Promise<void> {
  return appendAll(peer, plan.longStream);
}

async function appendAll(peer: StorePeer, appends: readonly PlannedAppend[]): Promise<void> {
  for (const a of appends) await peer.append(a.stream, a.events, a.expectedRevision);
}

function expectCount(read: number, expected: number): number {
  if (read !== expected) throw new Error(`read ${read} events, expected ${expected}`);
  return read;
}
