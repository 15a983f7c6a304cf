import type { AggregateFunction } from './aggregate.js';
import type { Key, OperatorContext, Output, StatefulOperator } from './operator.js';
import { TimerQueue } from './timer-queue.js';
import type { SlidingWindows, TimeWindow, TumblingWindows } from './window-assigners.js';
import { windowStart } from './window-math.js';
import type { EmitMode, WindowResult } from './window-result.js';

/** One window of one key, with its accumulator. */
interface Pane {
  key: Key;
  start: number;
  end: number;
  acc: unknown;
  /** Emitted at least once. */
  fired: boolean;
  /** 0: waiting for the end-of-window firing; 1: waiting for the cleanup time. */
  phase: 0 | 1;
  /** When it must next be looked at (fire or cleanup). */
  timer: number;
  /**
   * The time of its entry in the timer queue, or -Infinity for none. A session that grows
   * keeps its earlier entry and is rescheduled only when that comes due: one queue entry per
   * session, not one per element.
   */
  queued: number;
  live: boolean;
}

type Snapshot = { wm: number; panes: [Key, number, number, unknown, boolean, 0 | 1][] };

/** Windows of several keys, with fire and cleanup as Flink's event-time trigger does. */
export abstract class PaneOperator implements StatefulOperator {
  protected wm = Number.NEGATIVE_INFINITY;
  protected readonly timers = new TimerQueue<Pane>();
  protected count = 0;

  constructor(
    protected readonly name: string,
    protected readonly agg: AggregateFunction<unknown, unknown, unknown>,
    protected readonly lateness: number,
    protected readonly emitMode: EmitMode,
    protected readonly out: Output,
    protected readonly ctx: OperatorContext,
  ) {}

  abstract push(value: unknown, ts: number, key: Key | undefined): void;
  protected abstract forEachPane(visit: (pane: Pane) => void): void;
  protected abstract removePane(pane: Pane): void;
  protected abstract insertPane(pane: Pane): void;
  protected abstract clearPanes(): void;

  advance(watermark: number): void {
    if (watermark <= this.wm) return;
    this.wm = watermark;
    for (;;) {
      const due = this.timers.pollDue(watermark);
      if (!due) break;
      for (const pane of due.entries) {
        if (!pane.live || pane.queued !== due.time) continue;
        pane.queued = Number.NEGATIVE_INFINITY;
        if (pane.timer > due.time) this.enqueue(pane);
        else this.onTimer(pane);
      }
    }
    this.out.advance(watermark);
  }

  stateSize(): number {
    return this.count;
  }

  snapshot(): Snapshot {
    const panes: Snapshot['panes'] = [];
    this.forEachPane((p) => panes.push([p.key, p.start, p.end, p.acc, p.fired, p.phase]));
    return { wm: this.wm, panes };
  }

  restore(state: unknown): void {
    const s = state as Snapshot;
    this.clearPanes();
    this.timers.clear();
    this.count = 0;
    this.wm = s.wm;
    for (const [key, start, end, acc, fired, phase] of s.panes) {
      const pane: Pane = {
        key,
        start,
        end,
        acc,
        fired,
        phase,
        timer: 0,
        queued: Number.NEGATIVE_INFINITY,
        live: true,
      };
      this.insertPane(pane);
      this.count++;
      this.schedule(pane);
    }
  }

  /** A new pane: counted and given its first timer. */
  protected newPane(key: Key, start: number, end: number, acc: unknown, fired: boolean): Pane {
    const pane: Pane = {
      key,
      start,
      end,
      acc,
      fired,
      phase: 0,
      timer: 0,
      queued: Number.NEGATIVE_INFINITY,
      live: true,
    };
    // Only 'watermark' mode fires at the end; the others wait for the cleanup time. A window
    // whose end the watermark already passed fires on the element instead (Flink's trigger).
    if (this.emitMode !== 'watermark' || end - 1 <= this.wm) pane.phase = 1;
    this.count++;
    this.schedule(pane);
    return pane;
  }

  protected schedule(pane: Pane): void {
    const maxTs = pane.end - 1;
    pane.timer = pane.phase === 0 ? maxTs : maxTs + this.lateness;
    // An entry at or before the new time is enough: it re-queues the pane when it comes due.
    if (pane.queued === Number.NEGATIVE_INFINITY || pane.queued > pane.timer) this.enqueue(pane);
  }

  private enqueue(pane: Pane): void {
    pane.queued = pane.timer;
    this.timers.add(pane.timer, pane);
  }

  /** After an element went into `pane`: the triggers that fire on elements. */
  protected afterAdd(pane: Pane): void {
    if (this.emitMode === 'element') this.fire(pane);
    else if (this.emitMode === 'watermark' && pane.end - 1 <= this.wm) this.fire(pane);
  }

  protected isWindowLate(end: number): boolean {
    return end - 1 + this.lateness <= this.wm;
  }

  /** Reports `value` as too late for the closed window `[start, end)`. */
  protected lateFor(
    window: TimeWindow,
    element: { value: unknown; ts: number; key: Key | undefined },
  ): void {
    this.ctx.late({
      operator: this.name,
      value: element.value,
      key: element.key,
      timestamp: element.ts,
      watermark: this.wm,
      window,
    });
  }

  protected drop(pane: Pane): void {
    pane.live = false;
    this.count--;
    this.removePane(pane);
  }

  private onTimer(pane: Pane): void {
    if (pane.phase === 0) {
      this.fire(pane);
      pane.phase = 1;
      if (pane.end - 1 + this.lateness <= this.wm) this.drop(pane);
      else this.schedule(pane);
      return;
    }
    if (this.emitMode === 'final') this.fire(pane);
    this.drop(pane);
  }

  protected fire(pane: Pane): void {
    const result: WindowResult<Key, unknown> = {
      key: pane.key,
      window: { start: pane.start, end: pane.end },
      value: this.agg.result(pane.acc),
      update: pane.fired,
    };
    pane.fired = true;
    this.out.emit(result, pane.end - 1, pane.key);
  }
}

/** Tumbling and sliding windows (aligned, never merging). */
export class AlignedWindowOperator extends PaneOperator {
  private readonly panes = new Map<Key, Map<number, Pane>>();
  private readonly size: number;
  private readonly slide: number;
  private readonly offset: number;

  constructor(
    assigner: TumblingWindows | SlidingWindows,
    name: string,
    agg: AggregateFunction<unknown, unknown, unknown>,
    lateness: number,
    emitMode: EmitMode,
    out: Output,
    ctx: OperatorContext,
  ) {
    super(name, agg, lateness, emitMode, out, ctx);
    this.size = assigner.size;
    this.slide = assigner.kind === 'sliding' ? assigner.slide : assigner.size;
    this.offset = assigner.offset;
  }

  push(value: unknown, ts: number, key: Key | undefined): void {
    const k = key ?? 0;
    const last = windowStart(ts, this.slide, this.offset);
    for (let start = last; start > ts - this.size; start -= this.slide) {
      if (this.add(k, start, value)) continue;
      // Windows close oldest first, so this one and every older one of the element are closed.
      // Each such (element, window) pair is reported, oldest first: an element late for some
      // of its sliding windows only is counted for those, not dropped unseen.
      const oldest = start - Math.floor((start - (ts - this.size) - 1) / this.slide) * this.slide;
      for (let s = oldest; s <= start; s += this.slide)
        this.lateFor({ start: s, end: s + this.size }, { value, ts, key });
      return;
    }
  }

  private add(key: Key, start: number, value: unknown): boolean {
    const end = start + this.size;
    if (this.isWindowLate(end)) return false;
    let byStart = this.panes.get(key);
    if (byStart === undefined) {
      byStart = new Map();
      this.panes.set(key, byStart);
    }
    let pane = byStart.get(start);
    if (pane === undefined) {
      pane = this.newPane(key, start, end, this.agg.create(), false);
      byStart.set(start, pane);
    }
    pane.acc = this.agg.add(pane.acc, value);
    if (this.emitMode !== 'final') this.afterAdd(pane);
    return true;
  }

  protected forEachPane(visit: (pane: Pane) => void): void {
    for (const byStart of this.panes.values()) for (const p of byStart.values()) visit(p);
  }

  protected removePane(pane: Pane): void {
    const byStart = this.panes.get(pane.key);
    if (!byStart) return;
    byStart.delete(pane.start);
    if (byStart.size === 0) this.panes.delete(pane.key);
  }

  protected insertPane(pane: Pane): void {
    let byStart = this.panes.get(pane.key);
    if (!byStart) {
      byStart = new Map();
      this.panes.set(pane.key, byStart);
    }
    byStart.set(pane.start, pane);
  }

  protected clearPanes(): void {
    this.panes.clear();
  }
}

/**
 * Session windows: each element opens `[ts, ts + gap)`, merged with every session of its key
 * that it overlaps or touches (accumulators merged with `merge`).
 */
export class SessionWindowOperator extends PaneOperator {
  /** Per key, its sessions sorted by start; they never overlap or touch. */
  private readonly sessions = new Map<Key, Pane[]>();

  constructor(
    private readonly gap: number,
    name: string,
    agg: AggregateFunction<unknown, unknown, unknown>,
    lateness: number,
    emitMode: EmitMode,
    out: Output,
    ctx: OperatorContext,
  ) {
    super(name, agg, lateness, emitMode, out, ctx);
  }

  push(value: unknown, ts: number, key: Key | undefined): void {
    const k = key ?? 0;
    let start = ts;
    let end = ts + this.gap;
    let list = this.sessions.get(k);
    let first = -1;
    let last = -1;
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const p = list[i] as Pane;
        // Flink's TimeWindow.intersects: overlapping or touching windows merge.
        if (p.start <= ts + this.gap && p.end >= ts) {
          if (first < 0) first = i;
          last = i;
          if (p.start < start) start = p.start;
          if (p.end > end) end = p.end;
        }
      }
    }
    if (this.isWindowLate(end)) {
      this.lateFor({ start, end }, { value, ts, key });
      return;
    }
    if (list === undefined) {
      list = [];
      this.sessions.set(k, list);
    }
    let pane: Pane;
    if (first < 0) {
      pane = this.newPane(k, start, end, this.agg.create(), false);
      let at = 0;
      while (at < list.length && (list[at] as Pane).start < start) at++;
      list.splice(at, 0, pane);
    } else {
      // The first session met absorbs the others and grows to the merged bounds.
      pane = list[first] as Pane;
      for (let i = first + 1; i <= last; i++) {
        const p = list[i] as Pane;
        pane.acc = (this.agg.merge as NonNullable<typeof this.agg.merge>).call(
          this.agg,
          pane.acc,
          p.acc,
        );
        pane.fired = pane.fired || p.fired;
        p.live = false;
        this.count--;
      }
      if (last > first) list.splice(first + 1, last - first);
      pane.start = start;
      if (end !== pane.end) {
        pane.end = end;
        // A grown session waits for its new end again (an update, if it had fired).
        pane.phase = this.emitMode !== 'watermark' || end - 1 <= this.wm ? 1 : 0;
        this.schedule(pane);
      }
    }
    pane.acc = this.agg.add(pane.acc, value);
    if (this.emitMode !== 'final') this.afterAdd(pane);
  }

  protected forEachPane(visit: (pane: Pane) => void): void {
    for (const list of this.sessions.values()) for (const p of list) visit(p);
  }

  protected removePane(pane: Pane): void {
    const list = this.sessions.get(pane.key);
    if (!list) return;
    const i = list.indexOf(pane);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.sessions.delete(pane.key);
  }

  protected insertPane(pane: Pane): void {
    let list = this.sessions.get(pane.key);
    if (!list) {
      list = [];
      this.sessions.set(pane.key, list);
    }
    let at = 0;
    while (at < list.length && (list[at] as Pane).start < pane.start) at++;
    list.splice(at, 0, pane);
  }

  protected clearPanes(): void {
    this.sessions.clear();
  }
}
