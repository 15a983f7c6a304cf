import { hostname } from 'node:os';
import { type Clock, systemClock } from '../core/clock.js';
import type { EventDecodeError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { withSpan } from '../observability/tracing.js';
import type { StoreTransaction } from '../store/event-store.js';
import type { Lease } from '../subscriptions/lease-store.js';
import { LeaseLostError } from '../subscriptions/subscription-errors.js';
import { SinkOperator, operatorFailure } from './basic-operators.js';
import {
  NO_OUTPUT,
  fanOut,
  outputTo,
  type InvalidElement,
  type LateElement,
  type Operator,
  type OperatorContext,
  type Output,
  type StatefulOperator,
  type TimedOutMatch,
} from './operator.js';
import { decodeState, encodeState } from './state-codec.js';
import { Stream, StreamGraph, type StreamNode } from './stream.js';
import {
  InvalidStreamDefinitionError,
  StreamCommitFailedError,
  StreamJobFencedError,
  StreamJobStateError,
  StreamStateMismatchError,
  StreamStateNotJsonError,
  StreamWaitTimeoutError,
} from './stream-errors.js';
import { StreamJobLease, type StreamJobLeaseOptions } from './stream-job-lease.js';
import type { StreamSink } from './stream-sink.js';
import type { SourcePosition, StreamSource } from './stream-source.js';
import { END_OF_EVENT_TIME, assertJobName, type StreamStateStore } from './stream-state-store.js';
import { fnv1a32 } from '../store/partition.js';

/**
 * Where an element's event time comes from: a function of the element (a number of ms, a
 * `Date` or an ISO-8601 string), or the name of a field (`'data.at'` reads a nested one).
 * Default: the element's `recordedAt` (store events).
 */
export type TimestampOption<T> = ((value: T) => unknown) | string;

/** Options of the watermark (see the stream-processing guide). */
export interface WatermarkOptions {
  /**
   * Bounded out-of-orderness, in ms (default 0): the watermark is `maxTs - bound - 1`, so an
   * element up to `bound` ms older than the newest one seen is still on time.
   */
  outOfOrdernessMs?: number;
  /**
   * After this long without elements (by the job's clock), event time follows the clock:
   * the watermark becomes `maxTs + idle - bound - 1`, so an idle source cannot hold windows
   * and timeouts back forever. Default: never.
   */
  idleTimeoutMs?: number;
}

/** A logger the job reports to (pino's shape). */
export interface StreamJobLogger {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  /** Passing trouble (a lease not renewed); reported with `error` when absent. */
  warn?(fields: Record<string, unknown>, message: string): void;
}

/** Options of {@link StreamJob}. */
export interface StreamJobOptions<T, Tx extends StoreTransaction = StoreTransaction> {
  /** Names the job's checkpoint, errors and metrics. */
  name: string;
  source: StreamSource<T>;
  timestamp?: TimestampOption<T>;
  watermark?: WatermarkOptions;
  /**
   * Elements timestamped more than this far ahead of the clock go to the `invalid` output
   * (reason `future-timestamp`) instead of pushing the watermark out of reach. Default one
   * day; `Infinity` accepts any.
   */
  maxFutureMs?: number;
  /**
   * Checkpoint storage: the job restores its state and source position from it at start,
   * and commits its results with its state in one transaction of its store. Without it the
   * job keeps state in memory only.
   *
   * It also fences the job: each start claims a new epoch of the job in it (see
   * {@link StreamStateStore.claim}) and every commit checks, in its transaction, that the
   * epoch is still the current one. An instance that another instance of the same name has
   * since claimed the job from cannot commit: it stops with `StreamJobFencedError`, and
   * nothing of that commit is written. Without `lease`, the instance started last wins.
   */
  checkpoints?: StreamStateStore<Tx>;
  /**
   * Run one instance of the job at a time: a second instance started while the first holds
   * the lease waits for it (`wait: true`) or fails with `StreamJobLeasedError`. Needs
   * `checkpoints` (from the same backend: it is the epoch checked at each commit that keeps a
   * former holder from committing). Default: no lease.
   */
  lease?: StreamJobLeaseOptions<Tx>;
  /**
   * Identifies this instance in the lease and the fence (shown in errors). Default: host,
   * process id and a random suffix. Give each running instance its own.
   */
  owner?: string;
  /**
   * Runs this instance as one partition of a partitioned job: it reads the whole source and
   * moves its watermark with every element's time, as a single instance would, but only the
   * elements whose `key` falls in partition `index` of `count` enter its dataflow. Set by
   * {@link PartitionedStreamJob}; see {@link StreamJobPartition}.
   */
  partition?: StreamJobPartition<T>;
  /** At least this many source elements between checkpoints (default 1: every batch). */
  checkpointEveryElements?: number;
  /** Most elements read per batch (default 500). */
  batchSize?: number;
  /** Source of "now": idleness and future timestamps. Default: the system clock. */
  clock?: Clock;
  /** How often the job checks idleness on its own, in ms (default 1,000; 0: only `tick()`). */
  idleCheckIntervalMs?: number;
  logger?: StreamJobLogger;
}

/**
 * The partition a job instance runs (`StreamJobOptions.partition`). An element belongs to
 * partition `fnv1a32(String(key(element))) % count`; an element whose key is not a string or
 * a number (a kind the dataflow filters out, say) belongs to partition 0, so that exactly one
 * partition sees it. Elements of other partitions still move the watermark, so event time,
 * and with it every window, timeout and lateness decision, is the same in every partition
 * as in a single instance reading everything.
 */
export interface StreamJobPartition<T> {
  /** This partition, from 0 to `count - 1`. */
  index: number;
  /** How many partitions the job has. */
  count: number;
  /** The key the dataflow's keyed operators are keyed by (or a function of which they are). */
  key: (value: T) => unknown;
}

/** The partition `key` belongs to, of `count` (see {@link StreamJobPartition}). */
export function partitionOfKey(key: unknown, count: number): number {
  if (typeof key === 'number') return fnv1a32(String(key)) % count;
  if (typeof key === 'string') return fnv1a32(key) % count;
  return 0;
}

/** Where a job is in its life. */
export type StreamJobState =
  | 'created'
  | 'starting'
  | 'waiting-for-lease'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'finished'
  | 'failed';

/** What {@link StreamJob.status} reports. */
export interface StreamJobStatus {
  name: string;
  state: StreamJobState;
  /** This instance's identity in the lease and the fence. */
  owner: string;
  /** The fencing epoch this instance claimed at start (with checkpoints). */
  epoch: number | undefined;
  /** Who holds the lease, while waiting for it. */
  leaseHolder: Lease | undefined;
  /** Source position of the last element processed. */
  position: SourcePosition | undefined;
  /** Source position of the last checkpoint committed. */
  committedPosition: SourcePosition | undefined;
  /** The job's watermark (event time), `-Infinity` before the first element. */
  watermark: number;
  /** Largest event time seen. */
  maxTimestamp: number;
  /** Elements the source holds beyond `position` (when the source can tell). */
  lag: number | undefined;
  /** How far the watermark is behind the clock, in ms. */
  watermarkLagMs: number;
  /** Entries of keyed state: windows, buffered elements, partial matches, keyed values. */
  stateSize: number;
  /** Source elements processed (since this start). */
  processed: number;
  /** Results handed to sinks and committed (since this start). */
  emitted: number;
  /** Elements refused as late (since the state was created: checkpointed). */
  late: number;
  /** Elements refused as invalid, by reason (checkpointed). */
  invalid: {
    total: number;
    'no-timestamp': number;
    'future-timestamp': number;
    'bad-key': number;
    /** Stored events passed over because they cannot be decoded or decrypted. */
    undecodable: number;
  };
  /** Partial pattern matches timed out (checkpointed). */
  timedOut: number;
  checkpoints: number;
  error: Error | undefined;
}

interface Counters {
  late: number;
  invalid: StreamJobStatus['invalid'];
  timedOut: number;
}

interface Snapshot {
  v: 1;
  shape: string;
  maxTs: number;
  wm: number;
  counters: Counters;
  ops: unknown[];
}

/**
 * A stream-processing job: a source, a dataflow built from {@link StreamJob.input}, sinks.
 * Runs on event time with watermarks; with checkpoints, results and state commit together
 * (exactly-once through the store). Build the dataflow, then `start()` (runs in the
 * background) or `run()` (until a bounded source ends).
 *
 * @example
 * ```ts
 * const job = new StreamJob({ name: 'sales-per-minute', source: storeSource(store), checkpoints });
 * job.input
 *   .filter((e) => e.type === 'order.placed')
 *   .keyBy((e) => e.data.category)
 *   .window(tumbling({ size: minutes(1) }))
 *   .aggregate(sum((e) => e.data.total))
 *   .to(storeSink({ store, stream: (r) => `sales-${r.key}`, event: (r) => ({ type: 'sales.totalled', data: r }) }));
 * await job.start();
 * ```
 */
export class StreamJob<T, Tx extends StoreTransaction = StoreTransaction> {
  readonly name: string;
  /** The source's elements, with their event times. */
  readonly input: Stream<T>;
  /** Elements too late for the operator that received them (see {@link LateElement}). */
  readonly late: Stream<LateElement>;
  /** Elements refused at run time: no usable timestamp, a far-future one, a bad key. */
  readonly invalid: Stream<InvalidElement>;
  /** Partial pattern matches that timed out (see {@link TimedOutMatch}). */
  readonly timedOut: Stream<TimedOutMatch>;

  private readonly graph: StreamGraph;
  private readonly source: StreamSource<T>;
  private readonly clock: Clock;
  private readonly extract: (value: T) => unknown;
  private readonly bound: number;
  private readonly idleTimeout: number;
  private readonly maxFuture: number;
  private readonly batchSize: number;
  private readonly every: number;
  private readonly idleInterval: number;
  private readonly checkpoints: StreamStateStore<Tx> | undefined;
  private readonly lease: StreamJobLease<Tx> | undefined;
  private readonly owner: string;
  private readonly logger: StreamJobLogger | undefined;
  private readonly partition: StreamJobPartition<T> | undefined;
  /** The source gives the job its watermark (`StreamSource.watermarks`). */
  private readonly sourceTime: boolean;

  private state: StreamJobState = 'created';
  private error: Error | undefined;
  private epoch: number | undefined;
  private leaseHolder: Lease | undefined;
  private starting: Promise<void> | undefined;
  private roots!: { input: Output; late: Output; invalid: Output; timedOut: Output };
  private stateful: StatefulOperator[] = [];
  private sinks: { sink: StreamSink<unknown>; op: SinkOperator }[] = [];
  private counters: Counters = emptyCounters();
  private wm = Number.NEGATIVE_INFINITY;
  private maxTs = Number.NEGATIVE_INFINITY;
  private lastArrival: number | undefined;
  private now = 0;
  private position: SourcePosition | undefined;
  private committed: SourcePosition | undefined;
  private sinceCheckpoint = 0;
  private dirty = false;
  private processed = 0;
  private emitted = 0;
  private checkpointCount = 0;
  private head: SourcePosition | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(options: StreamJobOptions<T, Tx>) {
    if (typeof options !== 'object' || options === null)
      throw new InvalidStreamDefinitionError('options', 'must be { name, source, ... }');
    assertJobName(options.name);
    this.name = options.name;
    const source = options.source;
    if (typeof source !== 'object' || source === null || typeof source.read !== 'function')
      throw new InvalidStreamDefinitionError(
        'source',
        'must be a stream source (storeSource, arraySource, iterableSource, queueSource)',
      );
    this.source = source;
    this.sourceTime = source.watermarks === true;
    this.partition = checkPartition(options.partition);
    this.clock = options.clock ?? systemClock;
    this.extract = timestampExtractor(options.timestamp);
    const w = options.watermark ?? {};
    this.bound = nonNegative('watermark.outOfOrdernessMs', w.outOfOrdernessMs ?? 0);
    this.idleTimeout =
      w.idleTimeoutMs === undefined
        ? Number.POSITIVE_INFINITY
        : positive('watermark.idleTimeoutMs', w.idleTimeoutMs);
    this.maxFuture =
      options.maxFutureMs === Number.POSITIVE_INFINITY
        ? Number.POSITIVE_INFINITY
        : nonNegative('maxFutureMs', options.maxFutureMs ?? 86_400_000);
    this.batchSize = positive('batchSize', options.batchSize ?? 500);
    this.every = positive('checkpointEveryElements', options.checkpointEveryElements ?? 1);
    this.idleInterval = nonNegative('idleCheckIntervalMs', options.idleCheckIntervalMs ?? 1000);
    const cp = options.checkpoints;
    if (
      cp !== undefined &&
      (typeof cp !== 'object' ||
        cp === null ||
        typeof cp.save !== 'function' ||
        typeof cp.store?.transaction !== 'function')
    )
      throw new InvalidStreamDefinitionError(
        'checkpoints',
        'must be stream state storage (memoryStreamStateStore, sqliteStreamStateStore, postgresStreamStateStore)',
      );
    this.checkpoints = cp;
    this.logger = options.logger;
    const owner = options.owner ?? `${hostname()}:${process.pid}:${newId().slice(-12)}`;
    if (typeof owner !== 'string' || owner.length === 0 || owner.length > 200)
      throw new InvalidStreamDefinitionError(
        'owner',
        'must be a non-empty string of at most 200 characters',
      );
    this.owner = owner;
    if (options.lease !== undefined) {
      if (!cp)
        throw new InvalidStreamDefinitionError(
          'lease',
          'needs checkpoints: the epoch checked at each commit is what fences a former holder',
        );
      const logger = this.logger;
      this.lease = new StreamJobLease(this.name, options.lease, {
        owner,
        clock: this.clock,
        warn: (fields, message) =>
          logger?.warn ? logger.warn(fields, message) : logger?.error(fields, message),
      });
    }
    this.graph = new StreamGraph(this.name);
    const root = (kind: string) =>
      this.graph.add({
        kind,
        name: kind,
        stateful: false,
        parents: [],
        create: () => {
          throw new Error('internal: roots are made by the job');
        },
      });
    this.input = new Stream<T>(this.graph, root('source'));
    this.late = new Stream<LateElement>(this.graph, root('late'));
    this.invalid = new Stream<InvalidElement>(this.graph, root('invalid'));
    this.timedOut = new Stream<TimedOutMatch>(this.graph, root('timed-out'));
  }

  /** The job's state, counters and metrics now. */
  status(): StreamJobStatus {
    let stateSize = 0;
    for (const op of this.stateful) stateSize += op.stateSize();
    const lag =
      typeof this.head === 'number' && typeof this.position === 'number'
        ? Math.max(0, this.head - this.position)
        : typeof this.head === 'number' && this.position === undefined
          ? this.head
          : undefined;
    return {
      name: this.name,
      state: this.state,
      owner: this.owner,
      epoch: this.epoch,
      leaseHolder: this.leaseHolder,
      position: this.position,
      committedPosition: this.committed,
      watermark: this.wm,
      maxTimestamp: this.maxTs,
      lag,
      watermarkLagMs: this.clock.now() - this.wm,
      stateSize,
      processed: this.processed,
      emitted: this.emitted,
      late: this.counters.late,
      invalid: { ...this.counters.invalid },
      timedOut: this.counters.timedOut,
      checkpoints: this.checkpointCount,
      error: this.error,
    };
  }

  /**
   * Builds the operators, takes the lease (with `lease`), claims the job (with
   * `checkpoints`), restores the checkpoint (if any) and starts reading in the background.
   * Resolves once running (with `lease.wait`, that is after the lease was obtained; or once
   * stopped, if `stop()` came first); a job stopped or failed can be started again, and
   * resumes from its last checkpoint.
   *
   * @throws {StreamStateMismatchError} when the checkpoint is of a differently shaped job.
   * @throws {StreamJobLeasedError} when another instance holds the lease (without `lease.wait`).
   */
  async start(): Promise<void> {
    if (
      this.state === 'starting' ||
      this.state === 'waiting-for-lease' ||
      this.state === 'running' ||
      this.state === 'stopping'
    )
      throw new StreamJobStateError(this.name, this.state, 'it is already running');
    this.state = 'starting';
    this.error = undefined;
    this.epoch = undefined;
    this.leaseHolder = undefined;
    const previous = this.loop;
    this.loop = undefined;
    const abort = (this.abort = new AbortController());
    const starting = this.begin(abort.signal, previous);
    this.starting = starting;
    try {
      await starting;
    } finally {
      if (this.starting === starting) this.starting = undefined;
    }
  }

  private async begin(signal: AbortSignal, previous: Promise<void> | undefined): Promise<void> {
    let leased = false;
    try {
      // A failed run's loop may still be winding down (and giving the lease up): not twice.
      if (previous) await previous;
      this.build();
      let after: SourcePosition | undefined;
      const checkpoints = this.checkpoints;
      if (checkpoints) {
        if (this.lease) {
          leased = await this.lease.acquire(signal, (holder) => {
            if (signal.aborted) return;
            this.state = 'waiting-for-lease';
            this.leaseHolder = holder;
          });
          this.leaseHolder = undefined;
          if (!signal.aborted) this.state = 'starting';
        }
        if (signal.aborted) {
          if (leased) await this.lease?.release();
          return;
        }
        this.epoch = await this.claim(checkpoints);
        const cp = await checkpoints.load(this.name);
        if (cp) {
          this.restore(cp.state);
          after = cp.position;
          this.position = after;
          this.committed = after;
        }
      }
      if (signal.aborted) {
        if (leased) await this.lease?.release();
        return;
      }
      this.state = 'running';
      // Restored event time may be idle from the start: count idleness from now.
      this.lastArrival = this.maxTs === Number.NEGATIVE_INFINITY ? undefined : this.clock.now();
      if (this.idleInterval > 0 && this.idleTimeout !== Number.POSITIVE_INFINITY) {
        this.timer = setInterval(() => void this.tick().catch(() => undefined), this.idleInterval);
        this.timer.unref();
      }
      // Renewal failing means another instance has the lease: stop before the fence says so.
      this.lease?.keep(() => {
        if (this.state === 'running')
          this.fail(new StreamJobFencedError(this.name, this.epoch, undefined));
      });
      this.loop = this.readLoop(after, signal);
    } catch (error) {
      if (leased) await this.lease?.release();
      this.state = 'failed';
      this.error = error instanceof Error ? error : new Error(String(error));
      throw error;
    }
  }

  /**
   * Takes the job over in the checkpoint store: a new epoch, which fences every earlier
   * instance. With a lease, only while holding it, checked in the same transaction.
   */
  private claim(checkpoints: StreamStateStore<Tx>): Promise<number> {
    const lease = this.lease;
    return checkpoints.store.transaction(async (tx) => {
      if (lease) {
        try {
          await lease.assertHeld(tx);
        } catch (error) {
          if (error instanceof LeaseLostError)
            throw new StreamJobFencedError(this.name, undefined, undefined);
          throw error;
        }
      }
      return checkpoints.claim(this.name, this.owner, tx);
    });
  }

  /** Starts and waits until the source ends (bounded sources) or the job stops or fails. */
  async run(): Promise<void> {
    await this.start();
    await this.loop;
    if (this.state === 'failed' && this.error) throw this.error;
  }

  /**
   * Stops reading, finishes the batch in hand and commits it, and gives the lease up. Stops
   * waiting for the lease, too.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running' && this.state !== 'starting' && this.state !== 'waiting-for-lease')
      return;
    this.state = 'stopping';
    this.abort?.abort();
    await this.starting?.catch(() => undefined);
    await this.loop;
    if (this.state === 'stopping') this.state = 'stopped';
  }

  /**
   * Checks idleness against the clock now (the job also does so every
   * `idleCheckIntervalMs`): after `idleTimeoutMs` without elements, the watermark follows
   * the clock, firing windows and timeouts, and their results are committed.
   */
  tick(): Promise<void> {
    return this.exclusive(async () => {
      // A source that gives the watermark is its only clock: idleness must not move it on.
      if (this.state !== 'running' || this.sourceTime) return;
      const now = this.clock.now();
      if (this.lastArrival === undefined || this.maxTs === Number.NEGATIVE_INFINITY) return;
      const idle = now - this.lastArrival;
      if (idle < this.idleTimeout) return;
      try {
        this.advanceTo(this.maxTs + idle - this.bound - 1);
        await this.commit(true);
      } catch (error) {
        this.fail(error);
      }
    });
  }

  /** Resolves once the job has committed the source position `position` (or beyond). */
  waitForPosition(position: number, options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const at = typeof this.committed === 'number' ? this.committed : 0;
        if (at >= position) {
          done();
          resolve();
          return true;
        }
        if (this.state === 'failed' || this.state === 'stopped' || this.state === 'finished') {
          done();
          reject(
            new StreamWaitTimeoutError(
              this.name,
              position,
              at,
              `the job is ${this.state}${this.error ? `: ${this.error.message}` : ''}`,
            ),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        const at = typeof this.committed === 'number' ? this.committed : 0;
        reject(new StreamWaitTimeoutError(this.name, position, at, `not within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      if (!check()) this.waiters.add(check);
    });
  }

  private build(): void {
    this.graph.frozen = true;
    const counters = (this.counters = emptyCounters());
    this.wm = Number.NEGATIVE_INFINITY;
    this.maxTs = Number.NEGATIVE_INFINITY;
    this.position = undefined;
    this.committed = undefined;
    this.processed = 0;
    this.emitted = 0;
    this.sinceCheckpoint = 0;
    this.dirty = false;
    const ops = new Map<number, Operator>();
    const sinks: { sink: StreamSink<unknown>; op: SinkOperator }[] = [];
    const stateful: StatefulOperator[] = [];
    const outputs = new Map<number, Output>();
    const outputOf = (node: StreamNode): Output =>
      fanOut(
        (this.graph.consumers.get(node.id) ?? []).map((c) =>
          outputTo(ops.get(c.node.id) as Operator, c.input),
        ),
      );
    const ctx: OperatorContext = {
      job: this.name,
      late: (e) => {
        counters.late++;
        this.roots.late.emit(e, e.timestamp, undefined);
      },
      invalid: (e) => {
        counters.invalid.total++;
        counters.invalid[e.reason]++;
        this.roots.invalid.emit(e, this.maxTs, undefined);
      },
      timedOut: (m) => {
        counters.timedOut++;
        this.roots.timedOut.emit(m, m.timedOutAt, undefined);
      },
    };
    for (let i = this.graph.nodes.length - 1; i >= 0; i--) {
      const node = this.graph.nodes[i] as StreamNode;
      if (node.parents.length === 0) {
        outputs.set(node.id, outputOf(node));
        continue;
      }
      if (node.sink) {
        const op = new SinkOperator();
        ops.set(node.id, op);
        sinks.push({ sink: node.sink, op });
        continue;
      }
      const op = node.create(outputOf(node), ctx, node);
      ops.set(node.id, op);
      if (node.stateful) stateful.push(op as StatefulOperator);
    }
    stateful.reverse();
    sinks.reverse();
    const out = (kind: string) =>
      outputs.get(
        (this.graph.nodes.find((n) => n.kind === kind && n.parents.length === 0) as StreamNode).id,
      ) ?? NO_OUTPUT;
    this.roots = {
      input: out('source'),
      late: out('late'),
      invalid: out('invalid'),
      timedOut: out('timed-out'),
    };
    this.stateful = stateful;
    this.sinks = sinks;
  }

  private shape(): string {
    return this.graph.nodes
      .filter((n) => n.stateful)
      .map((n) => n.kind)
      .join(',');
  }

  private restore(text: string): void {
    const snap = decodeState(text) as Snapshot;
    const shape = this.shape();
    if (snap.v !== 1 || snap.shape !== shape || snap.ops.length !== this.stateful.length)
      throw new StreamStateMismatchError(this.name, String(snap.shape), shape);
    this.maxTs = snap.maxTs;
    this.wm = snap.wm;
    this.counters.late = snap.counters.late;
    this.counters.timedOut = snap.counters.timedOut;
    Object.assign(this.counters.invalid, snap.counters.invalid);
    this.stateful.forEach((op, i) => op.restore(snap.ops[i]));
  }

  private async readLoop(after: SourcePosition | undefined, signal: AbortSignal): Promise<void> {
    let ended = false;
    try {
      for await (const batch of this.source.read({ after, batchSize: this.batchSize, signal })) {
        await this.exclusive(() =>
          this.processBatch(batch.items, batch.position, {
            undecodable: batch.undecodable,
            watermark: batch.watermark,
          }),
        );
        if (this.state !== 'running') break;
      }
      ended = this.currentState() === 'running';
      if (ended && this.source.bounded) {
        // Bounded input: event time ends, every window and timeout fires (Flink's MAX_WATERMARK).
        await this.exclusive(async () => {
          this.advanceTo(Number.POSITIVE_INFINITY);
          await this.commit(true);
        });
      } else if (this.dirty || this.sinceCheckpoint > 0) {
        await this.exclusive(() => this.commit(true));
      }
    } catch (error) {
      this.fail(error);
    } finally {
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      await this.lease?.release();
    }
    if (this.currentState() === 'running')
      this.state = ended && this.source.bounded ? 'finished' : 'stopped';
    this.notify();
  }

  private async processBatch(
    items: readonly T[],
    position: SourcePosition | undefined,
    extra: { undecodable?: readonly EventDecodeError[]; watermark?: number } = {},
  ): Promise<void> {
    if (this.state !== 'running' && this.state !== 'stopping') return;
    const now = (this.now = this.clock.now());
    const input = this.roots.input;
    const limit =
      this.maxFuture === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : now + this.maxFuture;
    const partition = this.partition;
    let own = items.length;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as T;
      // Another partition's element: it only moves event time on (refused, if it must be, there).
      const mine = partition === undefined || this.owns(partition, item);
      if (!mine) own--;
      const ts = this.timestampOf(item, mine);
      if (ts === undefined) continue;
      if (ts > limit) {
        if (mine)
          this.refuse(
            item,
            'future-timestamp',
            `timestamp ${new Date(ts).toISOString()} is more than ${this.maxFuture} ms ahead of the clock`,
          );
        continue;
      }
      if (mine) input.emit(item, ts, undefined);
      if (ts > this.maxTs) {
        this.maxTs = ts;
        const wm = ts - this.bound - 1;
        if (!this.sourceTime && wm > this.wm) {
          this.wm = wm;
          this.advanceAll(wm);
        }
      }
    }
    // After the batch's elements, in position order: passed over, refused, and the job reads on.
    // A partitioned job refuses them in partition 0 only, so they count once.
    const undecodable = extra.undecodable ?? [];
    if (partition === undefined || partition.index === 0)
      for (const error of undecodable) this.refuseUndecodable(error);
    this.processed += own;
    const passed = items.length + undecodable.length;
    // An empty batch that moves the position on (events a filter left out) still counts.
    this.sinceCheckpoint += passed > 0 || position === this.position ? passed : 1;
    // The source's watermark comes after its batch: the batch holds everything at or before it.
    const wm = extra.watermark;
    if (this.sourceTime && wm !== undefined && wm > this.wm) {
      this.advanceTo(wm);
      // Windows may have fired: their results are due now, not with the next element.
      this.sinceCheckpoint = Math.max(this.sinceCheckpoint, this.every);
    }
    if (items.length > 0) this.lastArrival = now;
    if (position !== undefined) this.position = position;
    if (this.source.head) this.head = await this.source.head();
    await this.commit(false);
  }

  /** Whether `item` belongs to this instance's partition. */
  private owns(partition: StreamJobPartition<T>, item: T): boolean {
    let key: unknown;
    try {
      key = partition.key(item);
    } catch (error) {
      throw operatorFailure(this.name, 'partition key', error);
    }
    return partitionOfKey(key, partition.count) === partition.index;
  }

  private timestampOf(item: T, refuse = true): number | undefined {
    let raw: unknown;
    try {
      raw = this.extract(item);
    } catch (error) {
      throw operatorFailure(this.name, 'timestamp', error);
    }
    const ts =
      typeof raw === 'number'
        ? raw
        : raw instanceof Date
          ? raw.getTime()
          : typeof raw === 'string'
            ? Date.parse(raw)
            : Number.NaN;
    if (Number.isSafeInteger(ts)) return ts;
    if (!refuse) return undefined;
    this.refuse(
      item,
      'no-timestamp',
      `no usable timestamp (got ${raw === null ? 'null' : typeof raw === 'number' ? String(raw) : typeof raw})`,
    );
    return undefined;
  }

  private refuse(item: T, reason: InvalidElement['reason'], detail: string): void {
    this.counters.invalid.total++;
    this.counters.invalid[reason]++;
    this.roots.invalid.emit(
      { reason, operator: 'source', value: item, detail } satisfies InvalidElement,
      this.maxTs,
      undefined,
    );
  }

  /**
   * A stored event the source could not decode: counted and side-output as invalid (reason
   * `undecodable`, with the typed error and position), warned about. It has no event time:
   * the watermark does not move for it.
   */
  private refuseUndecodable(error: EventDecodeError): void {
    this.counters.invalid.total++;
    this.counters.invalid.undecodable++;
    this.roots.invalid.emit(
      {
        reason: 'undecodable',
        operator: 'source',
        value: error.standIn(),
        detail: error.message,
        error,
        position: error.position,
      } satisfies InvalidElement,
      this.maxTs,
      undefined,
    );
    const fields = { job: this.name, position: error.position, code: error.code, err: error };
    const message = 'stream job passed over an undecodable event';
    if (this.logger?.warn) this.logger.warn(fields, message);
    else this.logger?.error(fields, message);
  }

  private advanceTo(wm: number): void {
    if (wm <= this.wm) return;
    this.wm = wm;
    this.advanceAll(wm);
    this.dirty = true;
  }

  private advanceAll(wm: number): void {
    this.roots.input.advance(wm);
    this.roots.late.advance(wm);
    this.roots.invalid.advance(wm);
    this.roots.timedOut.advance(wm);
  }

  /** Flushes sink buffers and, when due, checkpoints: in one transaction if checkpointing. */
  private async commit(force: boolean): Promise<void> {
    const pending = this.sinks.filter((s) => s.op.buffer.length > 0);
    if (!this.checkpoints) {
      for (const s of pending) {
        const items = s.op.buffer;
        s.op.buffer = [];
        if (s.sink.write) await s.sink.write(items, { tx: undefined, job: this.name });
        s.sink.committed?.(items);
        this.emitted += items.length;
      }
      this.committed = this.position;
      this.sinceCheckpoint = 0;
      this.dirty = false;
      if (this.committed !== undefined) this.source.committed?.(this.committed);
      this.notify();
      return;
    }
    if (!force && this.sinceCheckpoint < this.every) return;
    if (!force && this.sinceCheckpoint === 0 && pending.length === 0) return;
    let state: string;
    try {
      state = encodeState({
        v: 1,
        shape: this.shape(),
        maxTs: this.maxTs,
        wm: this.wm,
        counters: this.counters,
        ops: this.stateful.map((op) => op.snapshot()),
      } satisfies Snapshot);
    } catch (error) {
      throw new StreamStateNotJsonError(this.name, error);
    }
    const batches = pending.map((s) => {
      const items = s.op.buffer;
      s.op.buffer = [];
      return { sink: s.sink, items };
    });
    const checkpoints = this.checkpoints;
    const position = this.position;
    const results = batches.reduce((n, b) => n + b.items.length, 0);
    try {
      // One span per checkpoint, not per element: the derived events carry its traceparent.
      await withSpan(
        'causeway.stream.checkpoint',
        { attributes: { 'causeway.stream.job': this.name, 'causeway.stream.results': results } },
        () =>
          checkpoints.store.transaction(async (tx) => {
            for (const b of batches)
              if (b.sink.write) await b.sink.write(b.items, { tx, job: this.name });
            // The epoch is checked in this transaction: if another instance has claimed
            // the job since this one started, nothing of this checkpoint commits.
            await checkpoints.save(
              this.name,
              {
                position,
                // The end of event time is stored too: a downstream job waits for it.
                watermark:
                  this.wm === Number.POSITIVE_INFINITY
                    ? END_OF_EVENT_TIME
                    : Number.isSafeInteger(this.wm)
                      ? this.wm
                      : null,
                state,
                epoch: this.epoch,
              },
              tx,
            );
          }),
      );
    } catch (error) {
      // Taken over: this instance's state is stale, and it must not be used again.
      if (error instanceof StreamJobFencedError) throw error;
      // Nothing of this checkpoint committed; the in-memory state is ahead of the stored one,
      // so the job stops and a restart resumes from the last checkpoint.
      throw new StreamCommitFailedError(this.name, error);
    }
    for (const b of batches) {
      b.sink.committed?.(b.items);
      this.emitted += b.items.length;
    }
    this.committed = position;
    this.sinceCheckpoint = 0;
    this.dirty = false;
    this.checkpointCount++;
    if (position !== undefined) this.source.committed?.(position);
    this.notify();
  }

  /** The state, read afresh (awaits in between may have changed it). */
  private currentState(): StreamJobState {
    return this.state;
  }

  private fail(error: unknown): void {
    this.error = error instanceof Error ? error : new Error(String(error));
    this.state = 'failed';
    this.abort?.abort();
    this.logger?.error({ job: this.name, err: this.error }, 'stream job failed');
    this.notify();
  }

  private notify(): void {
    for (const check of [...this.waiters]) check();
  }

  private exclusive<R>(work: () => Promise<R>): Promise<R> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

function checkPartition<T>(
  p: StreamJobPartition<T> | undefined,
): StreamJobPartition<T> | undefined {
  if (p === undefined) return undefined;
  if (typeof p !== 'object' || p === null || typeof p.key !== 'function')
    throw new InvalidStreamDefinitionError('partition', 'must be { index, count, key(element) }');
  positive('partition.count', p.count);
  if (!Number.isSafeInteger(p.index) || p.index < 0 || p.index >= p.count)
    throw new InvalidStreamDefinitionError(
      'partition.index',
      'must be an integer from 0 to count - 1',
    );
  return { index: p.index, count: p.count, key: p.key };
}

function emptyCounters(): Counters {
  return {
    late: 0,
    invalid: { total: 0, 'no-timestamp': 0, 'future-timestamp': 0, 'bad-key': 0, undecodable: 0 },
    timedOut: 0,
  };
}

function timestampExtractor<T>(option: TimestampOption<T> | undefined): (value: T) => unknown {
  if (option === undefined) return (v) => (v as { recordedAt?: unknown } | null)?.recordedAt;
  if (typeof option === 'function') return option;
  if (typeof option !== 'string' || option.length === 0)
    throw new InvalidStreamDefinitionError(
      'timestamp',
      "must be a function or a field path such as 'data.at'",
    );
  const path = option.split('.');
  return (v) => {
    let x: unknown = v;
    for (const p of path) {
      if (typeof x !== 'object' || x === null) return undefined;
      x = (x as Record<string, unknown>)[p];
    }
    return x;
  };
}

function nonNegative(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new InvalidStreamDefinitionError(name, 'must be an integer >= 0');
  return value;
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw new InvalidStreamDefinitionError(name, 'must be an integer >= 1');
  return value;
}
