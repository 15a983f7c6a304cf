import { InvalidStreamDefinitionError } from './stream-errors.js';

/**
 * An incremental aggregation, as Flink's `AggregateFunction`: an accumulator is created per
 * window and key, each element is added to it, and the result is read when the window fires.
 * `merge` combines two accumulators; session windows need it (they merge when they meet).
 * Accumulators are checkpointed as JSON, so keep them to plain data.
 *
 * @example
 * ```ts
 * const average: AggregateFunction<number, [number, number], number> = {
 *   create: () => [0, 0],
 *   add: (acc, v) => { acc[0] += v; acc[1] += 1; return acc; },
 *   result: (acc) => acc[0] / acc[1],
 *   merge: (a, b) => [a[0] + b[0], a[1] + b[1]],
 * };
 * ```
 */
export interface AggregateFunction<In, Acc, Out> {
  create(): Acc;
  /** Adds `value` to `acc` and returns the accumulator (the same object, or a new one). */
  add(acc: Acc, value: In): Acc;
  result(acc: Acc): Out;
  merge?(a: Acc, b: Acc): Acc;
}

/** Counts elements. */
export function count<In = unknown>(): AggregateFunction<In, number, number> {
  return { create: () => 0, add: (acc) => acc + 1, result: (acc) => acc, merge: (a, b) => a + b };
}

/** Sums `value(element)`. */
export function sum<In>(value: (element: In) => number): AggregateFunction<In, number, number> {
  assertFunction(value, 'sum');
  return {
    create: () => 0,
    add: (acc, v) => acc + value(v),
    result: (acc) => acc,
    merge: (a, b) => a + b,
  };
}

/** The mean of `value(element)` (NaN for no element, which a fired window never has). */
export function average<In>(
  value: (element: In) => number,
): AggregateFunction<In, [number, number], number> {
  assertFunction(value, 'average');
  return {
    create: () => [0, 0],
    add: (acc, v) => {
      acc[0] += value(v);
      acc[1] += 1;
      return acc;
    },
    result: (acc) => acc[0] / acc[1],
    merge: (a, b) => [a[0] + b[0], a[1] + b[1]],
  };
}

/** The element with the largest `value(element)` (the first of equals). */
export function maxBy<In>(
  value: (element: In) => number,
): AggregateFunction<In, In | null, In | null> {
  assertFunction(value, 'maxBy');
  return reducing((a, b) => (value(b) > value(a) ? b : a));
}

/** The element with the smallest `value(element)` (the first of equals). */
export function minBy<In>(
  value: (element: In) => number,
): AggregateFunction<In, In | null, In | null> {
  assertFunction(value, 'minBy');
  return reducing((a, b) => (value(b) < value(a) ? b : a));
}

/** Every element, in arrival order (for small windows: the list is the state). */
export function toList<In>(): AggregateFunction<In, In[], In[]> {
  return {
    create: () => [],
    add: (acc, v) => {
      acc.push(v);
      return acc;
    },
    result: (acc) => acc.slice(),
    merge: (a, b) => a.concat(b),
  };
}

/**
 * A reduce function as an aggregation: the accumulator is the running reduction (`null`
 * before the first element). Merging reduces the two.
 */
export function reducing<T>(reduce: (a: T, b: T) => T): AggregateFunction<T, T | null, T | null> {
  assertFunction(reduce, 'reduce');
  return {
    create: () => null,
    add: (acc, v) => (acc === null ? v : reduce(acc, v)),
    result: (acc) => acc,
    merge: (a, b) => (a === null ? b : b === null ? a : reduce(a, b)),
  };
}

/** Throws unless `agg` is an aggregate function (and has `merge` when `needMerge`). */
export function assertAggregate(agg: unknown, needMerge: boolean): void {
  const a = agg as Partial<AggregateFunction<unknown, unknown, unknown>> | null;
  if (
    typeof a !== 'object' ||
    a === null ||
    typeof a.create !== 'function' ||
    typeof a.add !== 'function' ||
    typeof a.result !== 'function'
  )
    throw new InvalidStreamDefinitionError(
      'aggregate',
      'must be { create(), add(acc, value), result(acc), merge?(a, b) }',
    );
  if (needMerge && typeof a.merge !== 'function')
    throw new InvalidStreamDefinitionError(
      'aggregate',
      'session windows merge, so their aggregate needs merge(a, b)',
    );
}

function assertFunction(fn: unknown, name: string): void {
  if (typeof fn !== 'function')
    throw new InvalidStreamDefinitionError(name, 'needs a function (element) => number');
}
