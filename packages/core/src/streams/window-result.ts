import type { Key } from './operator.js';
import type { TimeWindow } from './window-assigners.js';

/**
 * When a window emits its result:
 * - `'watermark'` (default, Flink's event-time trigger): once when the watermark passes the
 *   window's end, then again for each late element accepted within the allowed lateness;
 * - `'element'`: after every element added (an updating, early result), and never again at
 *   the end;
 * - `'final'`: once, when the window closes for good (end plus allowed lateness), with every
 *   element it accepted.
 */
export type EmitMode = 'watermark' | 'element' | 'final';

/** Options of `window(...)`. */
export interface WindowOptions {
  /**
   * How long after a window's end it still accepts late elements, re-firing with an update
   * (ms, default 0). Beyond it, elements go to the job's `late` side output.
   */
  allowedLatenessMs?: number;
  /** When results are emitted (default `'watermark'`). */
  emit?: EmitMode;
  /** Names the operator in side outputs and status. */
  name?: string;
}

/** A window's result for one key. Downstream, its event time is `window.end - 1`. */
export interface WindowResult<K extends Key, R> {
  key: K;
  window: TimeWindow;
  value: R;
  /**
   * True when this result replaces one emitted before for the same key and window (a late
   * update, or the next early result in `'element'` mode).
   */
  update: boolean;
}
