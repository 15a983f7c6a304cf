import type { ProjectionMode } from './projection.js';

/**
 * Where a projection is, as this process sees it:
 * - `'running'`: its serving read model is up to date (async: live; inline: always);
 * - `'catching-up'`: its serving read model is behind the log and being brought up to it
 *   (async), or its first build is running and nothing serves yet;
 * - `'rebuilding'`: a new build (a new version, or a rebuild by hand) is being filled beside
 *   the serving one, which keeps answering queries;
 * - `'standby'`: another process runs it (this one waits for the lease);
 * - `'stopped'`: not running here; `error` says why when it stopped on its own or failed to
 *   start (a failed setup, a checkpoint ahead of the log, an outdated definition...).
 */
export type ProjectionState = 'running' | 'catching-up' | 'rebuilding' | 'standby' | 'stopped';

/** How far behind the log a read model is. */
export interface ProjectionLag {
  /** Events committed after the read model's position. */
  events: number;
  /** Age of the oldest of those events, in seconds (0 when there is none). */
  seconds: number;
}

/** A build being filled beside the serving one (see {@link ProjectionStatus.rebuild}). */
export interface RebuildStatus {
  version: number;
  build: number;
  /** Position its build has reached. */
  position: number;
  lag: ProjectionLag;
  /** Events its build parked: the switch waits until they are retried or skipped. */
  parked: number;
  /** Why it stopped, if it did. */
  error: Error | undefined;
}

/** One partition of a partitioned projection's serving build (see `ProjectorOptions.partitions`). */
export interface ProjectionPartitionStatus {
  partition: number;
  /** Position the partition has reached (events of other partitions count as passed). */
  position: number;
  lag: ProjectionLag;
  /** Events the partition has parked. */
  parked: number;
  /** True when this process runs the partition now (else it is read from the database). */
  runningHere: boolean;
}

/** A projection's state, position, lag and parked events (see `Projector.status`). */
export interface ProjectionStatus {
  name: string;
  /** The mode of the version this process would run (its newest definition). */
  mode: ProjectionMode;
  /** The serving version and build, if one serves. */
  version: number | undefined;
  build: number | undefined;
  state: ProjectionState;
  /**
   * Position the serving read model has reached (0 when none serves); partitioned, the
   * lowest of its partitions' positions: every event up to it is applied in every partition.
   */
  position: number;
  /** The store's head position when the status was taken. */
  head: number;
  lag: ProjectionLag;
  /** Events the serving build has parked (async; partitioned: in all its partitions). */
  parked: number;
  /** Why it stopped, when `state` is `'stopped'` on its own. */
  error: Error | undefined;
  /** The build in progress, if any. */
  rebuild: RebuildStatus | undefined;
  /** Partitioned (see `ProjectorOptions.partitions`): each partition of the serving build. */
  partitions?: ProjectionPartitionStatus[];
}

/** What a query returns: the data and the position of the read model it was read from. */
export interface QueryResult<T> {
  data: T;
  /**
   * The read model held at least every event up to this position when queried (it may hold
   * a few more). Compare it with the position an append or a command returned.
   */
  position: number;
  /** The version that answered. */
  version: number;
}
