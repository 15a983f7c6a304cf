import { InvalidWindowError } from './stream-errors.js';

/** Tumbling event-time windows: `[start, start + size)`, one per element. */
export interface TumblingWindows {
  readonly kind: 'tumbling';
  readonly size: number;
  readonly offset: number;
}

/** Sliding (hopping) event-time windows of `size`, one starting every `slide`. */
export interface SlidingWindows {
  readonly kind: 'sliding';
  readonly size: number;
  readonly slide: number;
  readonly offset: number;
}

/** Session windows: elements closer than `gap` share a window; windows that meet merge. */
export interface SessionWindows {
  readonly kind: 'session';
  readonly gap: number;
}

/** Count windows: every `size` elements of a key (sliding by `slide` when given). */
export interface CountWindows {
  readonly kind: 'count';
  readonly size: number;
  readonly slide: number;
}

/** Any window assigner. */
export type WindowAssigner = TumblingWindows | SlidingWindows | SessionWindows | CountWindows;

/** A time window `[start, end)`; for count windows, the key's element numbers `[start, end)`. */
export interface TimeWindow {
  start: number;
  end: number;
}

/**
 * Tumbling windows of `size` ms, aligned to the epoch plus `offset` ms (e.g. an offset of
 * -8 h for days starting at midnight UTC+8).
 *
 * @throws {InvalidWindowError} when size ≤ 0 or the numbers are not safe integers.
 * @example
 * ```ts
 * events.keyBy((e) => e.data.category).window(tumbling({ size: 60_000 }))
 * ```
 */
export function tumbling(options: { size: number; offset?: number }): TumblingWindows {
  const size = positive('tumbling', 'size', options?.size);
  const offset = integer('tumbling', 'offset', options.offset ?? 0);
  return { kind: 'tumbling', size, offset: mod(offset, size) };
}

/**
 * Sliding windows of `size` ms starting every `slide` ms (slide ≤ size; an element belongs
 * to `ceil(size / slide)` windows, or `size / slide` when it divides).
 *
 * @throws {InvalidWindowError} when size ≤ 0, slide ≤ 0 or slide > size.
 */
export function sliding(options: { size: number; slide: number; offset?: number }): SlidingWindows {
  const size = positive('sliding', 'size', options?.size);
  const slide = positive('sliding', 'slide', options.slide);
  if (slide > size)
    throw new InvalidWindowError(
      'sliding',
      `slide (${slide}) > size (${size}) would leave elements in no window`,
    );
  const offset = integer('sliding', 'offset', options.offset ?? 0);
  return { kind: 'sliding', size, slide, offset: mod(offset, slide) };
}

/**
 * Session windows closing after `gap` ms without an element of the key. A session is
 * `[first, last + gap)`; two sessions that overlap or touch merge into one.
 *
 * @throws {InvalidWindowError} when gap ≤ 0.
 */
export function session(options: { gap: number }): SessionWindows {
  return { kind: 'session', gap: positive('session', 'gap', options?.gap) };
}

/**
 * Count windows of `size` elements per key; with `slide`, one fires every `slide` elements
 * over the last `size` (fewer at first), as Flink's `countWindow(size, slide)`.
 *
 * @throws {InvalidWindowError} when size ≤ 0, slide ≤ 0 or slide > size.
 */
export function countWindow(options: { size: number; slide?: number }): CountWindows {
  const size = positive('count', 'size', options?.size);
  const slide = positive('count', 'slide', options.slide ?? size);
  if (slide > size)
    throw new InvalidWindowError('count', `slide (${slide}) > size (${size}) would skip elements`);
  return { kind: 'count', size, slide };
}

/** Minutes to milliseconds. */
export function minutes(n: number): number {
  return n * 60_000;
}

/** Seconds to milliseconds. */
export function seconds(n: number): number {
  return n * 1000;
}

function positive(window: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
    throw new InvalidWindowError(
      window,
      `${name} must be an integer > 0 (got ${typeof value === 'number' ? value : typeof value})`,
    );
  return value;
}

function integer(window: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw new InvalidWindowError(window, `${name} must be an integer`);
  return value;
}

function mod(a: number, n: number): number {
  const r = a % n;
  return r < 0 ? r + n : r;
}
