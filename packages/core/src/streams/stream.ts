import { assertAggregate, toList, type AggregateFunction } from './aggregate.js';
import {
  FilterOperator,
  FlatMapOperator,
  KeyByOperator,
  MapOperator,
  UnionOperator,
} from './basic-operators.js';
import { CountWindowOperator } from './count-window-operator.js';
import { IntervalJoinOperator } from './interval-join-operator.js';
import type { Key, Operator, OperatorContext, Output } from './operator.js';
import { Pattern } from './pattern.js';
import { PatternOperator, type PatternMatch } from './pattern-operator.js';
import { ProcessOperator, type ProcessFunction } from './process-operator.js';
import {
  InvalidStreamDefinitionError,
  InvalidWindowError,
  StreamJobStateError,
} from './stream-errors.js';
import type { StreamSink } from './stream-sink.js';
import type { TimeWindow, WindowAssigner } from './window-assigners.js';
import { AlignedWindowOperator, SessionWindowOperator } from './window-operator.js';
import type { EmitMode, WindowOptions, WindowResult } from './window-result.js';

/** One node of a job's dataflow graph, as defined (operators are made when it starts). */
export interface StreamNode {
  readonly id: number;
  /** Operator kind, e.g. `map`, `window:tumbling`: the job's checkpoint shape. */
  readonly kind: string;
  readonly name: string;
  readonly stateful: boolean;
  readonly parents: readonly StreamNode[];
  readonly sink?: StreamSink<unknown>;
  create(out: Output, ctx: OperatorContext, node: StreamNode): Operator;
}

/** The graph of one job: nodes in creation (topological) order, and their consumers. */
export class StreamGraph {
  readonly nodes: StreamNode[] = [];
  readonly consumers = new Map<number, { node: StreamNode; input: number }[]>();
  frozen = false;

  constructor(readonly job: string) {}

  add(node: Omit<StreamNode, 'id'>): StreamNode {
    if (this.frozen)
      throw new StreamJobStateError(this.job, 'started', 'its dataflow cannot change once started');
    for (const p of node.parents)
      if (!this.nodes.includes(p))
        throw new InvalidStreamDefinitionError(
          'stream',
          'streams of different jobs cannot be combined; derive both from the same job',
        );
    const full: StreamNode = { ...node, id: this.nodes.length };
    this.nodes.push(full);
    full.parents.forEach((p, input) => {
      let list = this.consumers.get(p.id);
      if (!list) this.consumers.set(p.id, (list = []));
      list.push({ node: full, input });
    });
    return full;
  }
}

function assertFn(fn: unknown, what: string): void {
  if (typeof fn !== 'function') throw new InvalidStreamDefinitionError(what, 'needs a function');
}

/** Options most operators take. */
export interface OperatorOptions {
  /** Names the operator in errors, side outputs and status. */
  name?: string;
}

/**
 * A stream of elements of type `T` with event times, inside one job's dataflow. Operators
 * return new streams; nothing runs until the job starts.
 *
 * @example
 * ```ts
 * job.input
 *   .filter((e) => e.type === 'order.placed')
 *   .keyBy((e) => e.data.customerId)
 *   .window(tumbling({ size: minutes(1) }))
 *   .aggregate(count())
 *   .to(results);
 * ```
 */
export class Stream<T> {
  /** @internal */
  constructor(
    protected readonly graph: StreamGraph,
    /** @internal */
    readonly node: StreamNode,
  ) {}

  /** @internal Adds a one-input node after this one. */
  derive<R>(
    kind: string,
    name: string | undefined,
    make: StreamNode['create'],
    stateful = false,
  ): Stream<R> {
    const node = this.graph.add({
      kind,
      name: name ?? `${kind}#${this.graph.nodes.length}`,
      stateful,
      parents: [this.node],
      create: make,
    });
    return new Stream<R>(this.graph, node);
  }

  /** Keeps the elements for which `predicate` is true (a type guard narrows the type). */
  filter<S extends T>(predicate: (value: T) => value is S, options?: OperatorOptions): Stream<S>;
  filter(predicate: (value: T) => boolean, options?: OperatorOptions): Stream<T>;
  filter(predicate: (value: T) => boolean, options: OperatorOptions = {}): Stream<T> {
    assertFn(predicate, 'filter');
    const name = options.name ?? `filter#${this.graph.nodes.length}`;
    return this.derive(
      'filter',
      name,
      (out, ctx) => new FilterOperator(name, predicate as (v: unknown) => boolean, out, ctx),
    );
  }

  /** Replaces each element with `fn(element)`; the event time stays. */
  map<R>(fn: (value: T) => R, options: OperatorOptions = {}): Stream<R> {
    assertFn(fn, 'map');
    const name = options.name ?? `map#${this.graph.nodes.length}`;
    return this.derive(
      'map',
      name,
      (out, ctx) => new MapOperator(name, fn as (v: unknown) => unknown, out, ctx),
    );
  }

  /** Replaces each element with the elements of `fn(element)` (an array or iterable). */
  flatMap<R>(fn: (value: T) => Iterable<R>, options: OperatorOptions = {}): Stream<R> {
    assertFn(fn, 'flatMap');
    const name = options.name ?? `flatMap#${this.graph.nodes.length}`;
    return this.derive(
      'flatMap',
      name,
      (out, ctx) => new FlatMapOperator(name, fn as (v: unknown) => Iterable<unknown>, out, ctx),
    );
  }

  /**
   * Partitions by key: state, windows, joins and patterns downstream are per key. A key that
   * is not a string or a finite number sends the element to the job's `invalid` output.
   */
  keyBy<K extends Key>(keyOf: (value: T) => K, options: OperatorOptions = {}): KeyedStream<T, K> {
    assertFn(keyOf, 'keyBy');
    const name = options.name ?? `keyBy#${this.graph.nodes.length}`;
    const node = this.graph.add({
      kind: 'keyBy',
      name,
      stateful: false,
      parents: [this.node],
      create: (out, ctx) => new KeyByOperator(name, keyOf as (v: unknown) => unknown, out, ctx),
    });
    return new KeyedStream<T, K>(this.graph, node);
  }

  /** Merges this stream with others of the same job; the watermark is the least of theirs. */
  union(...others: Stream<T>[]): Stream<T> {
    for (const o of others)
      if (!(o instanceof Stream)) throw new InvalidStreamDefinitionError('union', 'needs streams');
    const parents = [this.node, ...others.map((o) => o.node)];
    const node = this.graph.add({
      kind: 'union',
      name: `union#${this.graph.nodes.length}`,
      stateful: false,
      parents,
      create: (out) => new UnionOperator(parents.length, out),
    });
    return new Stream<T>(this.graph, node);
  }

  /** Windows over the whole stream (one global key). */
  windowAll(assigner: WindowAssigner, options: WindowOptions = {}): WindowedStream<T, 0> {
    return this.keyBy(() => 0 as const).window(assigner, options);
  }

  /**
   * Window join: elements of this stream and `other` with the same key, in the same window,
   * joined pairwise by `join` when the window fires (at its end, on the watermark).
   */
  windowJoin<U, K extends Key, R>(
    other: Stream<U>,
    options: {
      leftKey: (left: T) => K;
      rightKey: (right: U) => K;
      window: WindowAssigner;
      join: (left: T, right: U, key: K, window: TimeWindow) => R;
      allowedLatenessMs?: number;
      name?: string;
    },
  ): Stream<R> {
    assertFn(options?.join, 'windowJoin join');
    const join = options.join;
    return this.windowCoGroup(other, {
      ...options,
      coGroup: (lefts, rights, key, window) => {
        const out: R[] = [];
        for (const l of lefts) for (const r of rights) out.push(join(l, r, key, window));
        return out;
      },
    });
  }

  /**
   * Window co-group: per key and window, all elements of both sides handed to `coGroup`
   * together when the window fires (Flink's `coGroup`); what it returns is emitted. A key and
   * window with elements on one side only is handed over too, with an empty list for the
   * other side: the way to write left, right and full outer joins.
   *
   * @example
   * ```ts
   * // Left outer join: every order of the minute, with its payments or with none.
   * orders.windowCoGroup(payments, {
   *   leftKey: (o) => o.id,
   *   rightKey: (p) => p.orderId,
   *   window: tumbling({ size: minutes(1) }),
   *   coGroup: (os, ps) => os.map((order) => ({ order, payments: ps })),
   * });
   * ```
   */
  windowCoGroup<U, K extends Key, R>(
    other: Stream<U>,
    options: {
      leftKey: (left: T) => K;
      rightKey: (right: U) => K;
      window: WindowAssigner;
      coGroup: (lefts: T[], rights: U[], key: K, window: TimeWindow) => Iterable<R>;
      allowedLatenessMs?: number;
      name?: string;
    },
  ): Stream<R> {
    if (!(other instanceof Stream))
      throw new InvalidStreamDefinitionError('windowJoin', 'needs a stream to join');
    assertFn(options?.leftKey, 'windowJoin leftKey');
    assertFn(options.rightKey, 'windowJoin rightKey');
    assertFn(options.coGroup, 'windowJoin coGroup');
    if (options.window?.kind === 'count')
      throw new InvalidWindowError('count', 'joins need time windows');
    const { leftKey, rightKey, coGroup } = options;
    type Tagged = { l: 0; v: T } | { l: 1; v: U };
    const left = this.map((v): Tagged => ({ l: 0, v }));
    const right = other.map((v): Tagged => ({ l: 1, v }));
    return left
      .union(right)
      .keyBy((t) => (t.l === 0 ? leftKey(t.v) : rightKey(t.v)))
      .window(options.window, { allowedLatenessMs: options.allowedLatenessMs, name: options.name })
      .aggregate(toList<Tagged>())
      .flatMap((r) => {
        const ls: T[] = [];
        const rs: U[] = [];
        for (const t of r.value) {
          if (t.l === 0) ls.push(t.v);
          else rs.push(t.v);
        }
        return coGroup(ls, rs, r.key, r.window);
      });
  }

  /** Detects `pattern` over the whole stream (one global key). See {@link KeyedStream.pattern}. */
  patternAll(pattern: Pattern<T>, options: OperatorOptions = {}): Stream<PatternMatch<T, 0>> {
    return this.keyBy(() => 0 as const).pattern(pattern, options);
  }

  /** Sends every element to `sink`. */
  to(sink: StreamSink<T>): void {
    if (
      typeof sink !== 'object' ||
      sink === null ||
      (typeof sink.write !== 'function' && typeof sink.committed !== 'function')
    )
      throw new InvalidStreamDefinitionError('to', 'needs a sink ({ write?, committed? })');
    this.graph.add({
      kind: 'sink',
      name: `sink#${this.graph.nodes.length}`,
      stateful: false,
      parents: [this.node],
      sink,
      create: () => {
        throw new Error('internal: sinks are made by the job');
      },
    });
  }
}

/** A stream partitioned by key `K` (see {@link Stream.keyBy}). */
export class KeyedStream<T, K extends Key> extends Stream<T> {
  /**
   * Windows per key. Time windows are `[start, end)` in event time and fire when the
   * watermark passes their end (see {@link WindowOptions} for lateness and emit modes).
   *
   * @throws {InvalidStreamDefinitionError} for bad options.
   */
  window(assigner: WindowAssigner, options: WindowOptions = {}): WindowedStream<T, K> {
    const kinds = ['tumbling', 'sliding', 'session', 'count'];
    if (typeof assigner !== 'object' || assigner === null || !kinds.includes(assigner.kind))
      throw new InvalidWindowError(
        'unknown',
        'use tumbling(), sliding(), session() or countWindow()',
      );
    const lateness = options.allowedLatenessMs ?? 0;
    if (!Number.isSafeInteger(lateness) || lateness < 0)
      throw new InvalidStreamDefinitionError('allowedLatenessMs', 'must be an integer >= 0');
    const emit: EmitMode = options.emit ?? 'watermark';
    if (emit !== 'watermark' && emit !== 'element' && emit !== 'final')
      throw new InvalidStreamDefinitionError('emit', "must be 'watermark', 'element' or 'final'");
    if (assigner.kind === 'count' && (lateness !== 0 || emit !== 'watermark'))
      throw new InvalidStreamDefinitionError(
        'count window',
        'takes no allowedLatenessMs or emit: it does not depend on time',
      );
    return new WindowedStream<T, K>(this, assigner, lateness, emit, options.name);
  }

  /**
   * Runs `fn` for each element with its key's state (see {@link ProcessFunction}): the
   * general keyed operator, for enrichment, deduplication and unwindowed joins.
   */
  process<S, R>(fn: ProcessFunction<T, S, K, R>, options: OperatorOptions = {}): Stream<R> {
    assertFn(fn, 'process');
    const name = options.name ?? `process#${this.graph.nodes.length}`;
    return this.derive(
      'process',
      name,
      (out, ctx) =>
        new ProcessOperator(name, fn as ProcessFunction<unknown, unknown, Key, unknown>, out, ctx),
      true,
    );
  }

  /**
   * Interval join with `other` (keyed the same way): `l` and `r` join when
   * `l.ts + lowerMs <= r.ts <= l.ts + upperMs`; pairs are emitted at once, at time
   * `max(l.ts, r.ts)`.
   *
   * @throws {InvalidStreamDefinitionError} when lowerMs > upperMs.
   */
  intervalJoin<U, R>(
    other: KeyedStream<U, K>,
    options: {
      lowerMs: number;
      upperMs: number;
      join: (left: T, right: U, key: K) => R;
      name?: string;
    },
  ): Stream<R> {
    if (!(other instanceof KeyedStream))
      throw new InvalidStreamDefinitionError(
        'intervalJoin',
        'needs a keyed stream (keyBy) on both sides',
      );
    const { lowerMs, upperMs, join } = options ?? {};
    if (!Number.isSafeInteger(lowerMs) || !Number.isSafeInteger(upperMs))
      throw new InvalidStreamDefinitionError(
        'intervalJoin',
        'lowerMs and upperMs must be integers',
      );
    if (lowerMs > upperMs)
      throw new InvalidStreamDefinitionError(
        'intervalJoin',
        `lowerMs (${lowerMs}) > upperMs (${upperMs}): nothing could ever join`,
      );
    assertFn(join, 'intervalJoin join');
    const name = options.name ?? `intervalJoin#${this.graph.nodes.length}`;
    const node = this.graph.add({
      kind: 'intervalJoin',
      name,
      stateful: true,
      parents: [this.node, other.node],
      create: (out, ctx) =>
        new IntervalJoinOperator(
          name,
          lowerMs,
          upperMs,
          join as (l: unknown, r: unknown, k: Key) => unknown,
          out,
          ctx,
        ),
    });
    return new Stream<R>(this.graph, node);
  }

  /**
   * Complex event processing: emits a {@link PatternMatch} for each match of `pattern` per
   * key, in event-time order. Partial matches that time out go to the job's `timedOut`
   * output; elements at or behind the watermark to its `late` output.
   *
   * @throws {InvalidPatternError} when the pattern is malformed or can never match.
   */
  pattern(pattern: Pattern<T>, options: OperatorOptions = {}): Stream<PatternMatch<T, K>> {
    if (!(pattern instanceof Pattern))
      throw new InvalidStreamDefinitionError('pattern', 'needs a Pattern (Pattern.begin(...))');
    pattern.validate();
    const name = options.name ?? `pattern#${this.graph.nodes.length}`;
    return this.derive(
      'pattern',
      name,
      (out, ctx) => new PatternOperator(name, pattern as Pattern<unknown>, out, ctx),
      true,
    );
  }
}

/** A keyed stream with a window assigner, waiting for its aggregation. */
export class WindowedStream<T, K extends Key> {
  /** @internal */
  constructor(
    private readonly keyed: KeyedStream<T, K>,
    private readonly assigner: WindowAssigner,
    private readonly lateness: number,
    private readonly emit: EmitMode,
    private readonly name: string | undefined,
  ) {}

  /** Aggregates each window incrementally (see {@link AggregateFunction}). */
  aggregate<Acc, R>(agg: AggregateFunction<T, Acc, R>): Stream<WindowResult<K, R>> {
    const a = this.assigner;
    assertAggregate(agg, a.kind === 'session');
    const untyped = agg as AggregateFunction<unknown, unknown, unknown>;
    const { lateness, emit } = this;
    const kind = `window:${a.kind}`;
    return this.keyed.derive<WindowResult<K, R>>(
      kind,
      this.name,
      (out, ctx, node) => {
        const name = node.name;
        if (a.kind === 'count') return new CountWindowOperator(a, untyped, out);
        if (a.kind === 'session')
          return new SessionWindowOperator(a.gap, name, untyped, lateness, emit, out, ctx);
        return new AlignedWindowOperator(a, name, untyped, lateness, emit, out, ctx);
      },
      true,
    );
  }

  /** Reduces each window with `reduce` (the result is the reduction of its elements). */
  reduce(reduce: (a: T, b: T) => T): Stream<WindowResult<K, T>> {
    assertFn(reduce, 'reduce');
    return this.aggregate<T | null, T>({
      create: () => null,
      add: (acc, v) => (acc === null ? v : reduce(acc, v)),
      result: (acc) => acc as T,
      merge: (x, y) => (x === null ? y : y === null ? x : reduce(x, y)),
    });
  }
}
