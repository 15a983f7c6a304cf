import { operatorFailure } from './basic-operators.js';
import type { Key, OperatorContext, Output, StatefulOperator } from './operator.js';
import { TimerQueue } from './timer-queue.js';

/** Per key, the elements of each side still able to join: `[value, ts]`. */
interface Buffers {
  left: [unknown, number][];
  right: [unknown, number][];
}

/**
 * Interval join, as Flink's: a left element `l` and a right element `r` of the same key join
 * when `l.ts + lower <= r.ts <= l.ts + upper`; the pair is emitted at once, at event time
 * `max(l.ts, r.ts)`. An element older than the watermark (`ts < watermark`) is late (side
 * output). Buffered elements are dropped once no on-time element could join them.
 */
export class IntervalJoinOperator implements StatefulOperator {
  private readonly keys = new Map<Key, Buffers>();
  private readonly watermarks = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  private wm = Number.NEGATIVE_INFINITY;
  private readonly cleanup = new TimerQueue<Key>();
  private count = 0;

  constructor(
    private readonly name: string,
    private readonly lower: number,
    private readonly upper: number,
    private readonly join: (left: unknown, right: unknown, key: Key) => unknown,
    private readonly out: Output,
    private readonly ctx: OperatorContext,
  ) {}

  push(value: unknown, ts: number, key: Key | undefined, input: number): void {
    const k = key ?? 0;
    if (ts < this.wm) {
      this.ctx.late({ operator: this.name, value, key, timestamp: ts, watermark: this.wm });
      return;
    }
    let buffers = this.keys.get(k);
    if (buffers === undefined) {
      buffers = { left: [], right: [] };
      this.keys.set(k, buffers);
    }
    try {
      if (input === 0) {
        buffers.left.push([value, ts]);
        for (const [r, rts] of buffers.right)
          if (ts + this.lower <= rts && rts <= ts + this.upper)
            this.out.emit(this.join(value, r, k), Math.max(ts, rts), k);
        this.cleanup.add(ts + this.upper, k);
      } else {
        buffers.right.push([value, ts]);
        for (const [l, lts] of buffers.left)
          if (lts + this.lower <= ts && ts <= lts + this.upper)
            this.out.emit(this.join(l, value, k), Math.max(lts, ts), k);
        this.cleanup.add(ts - this.lower, k);
      }
    } catch (error) {
      throw operatorFailure(this.ctx.job, this.name, error);
    }
    this.count++;
  }

  advance(watermark: number, input: number): void {
    if (watermark <= (this.watermarks[input] as number)) return;
    this.watermarks[input] = watermark;
    const wm = Math.min(this.watermarks[0] as number, this.watermarks[1] as number);
    if (wm <= this.wm) return;
    this.wm = wm;
    // A time t is due once t < wm: no on-time element can join it any more.
    for (;;) {
      const due = this.cleanup.pollDue(wm - 1);
      if (!due) break;
      for (const k of due.entries) this.prune(k);
    }
    this.out.advance(wm);
  }

  stateSize(): number {
    return this.count;
  }

  snapshot(): unknown {
    return { wm: this.watermarks, keys: [...this.keys].map(([k, b]) => [k, b.left, b.right]) };
  }

  restore(state: unknown): void {
    const s = state as { wm: number[]; keys: [Key, [unknown, number][], [unknown, number][]][] };
    this.keys.clear();
    this.cleanup.clear();
    this.count = 0;
    this.watermarks[0] = s.wm[0] as number;
    this.watermarks[1] = s.wm[1] as number;
    this.wm = Math.min(this.watermarks[0], this.watermarks[1]);
    for (const [k, left, right] of s.keys) {
      this.keys.set(k, { left, right });
      this.count += left.length + right.length;
      for (const [, ts] of left) this.cleanup.add(ts + this.upper, k);
      for (const [, ts] of right) this.cleanup.add(ts - this.lower, k);
    }
  }

  private prune(k: Key): void {
    const b = this.keys.get(k);
    if (!b) return;
    const wm = this.wm;
    const before = b.left.length + b.right.length;
    b.left = b.left.filter(([, ts]) => ts + this.upper >= wm);
    b.right = b.right.filter(([, ts]) => ts - this.lower >= wm);
    const after = b.left.length + b.right.length;
    this.count -= before - after;
    if (after === 0) this.keys.delete(k);
  }
}
