/**
 * The start of the window of `size` (aligned to the epoch plus `offset`) holding `ts`:
 * `ts - mod(ts - offset, size)` with a true modulo, so negative timestamps (before 1970)
 * land in the window that really contains them.
 *
 * @example
 * ```ts
 * windowStart(-1, 10, 0); // -10: [-10, 0) holds -1
 * ```
 */
export function windowStart(ts: number, size: number, offset: number): number {
  const r = (ts - offset) % size;
  return ts - (r < 0 ? r + size : r);
}

/** The largest timestamp inside `[start, end)`: the time its event-time timer fires at. */
export function maxTimestamp(end: number): number {
  return end - 1;
}
