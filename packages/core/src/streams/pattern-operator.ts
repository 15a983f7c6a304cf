import { operatorFailure } from './basic-operators.js';
import type { Key, OperatorContext, Output, StatefulOperator, TimedOutMatch } from './operator.js';
import type {
  Pattern,
  PatternCondition,
  PatternContext,
  PatternStage,
  SkipStrategy,
} from './pattern.js';
import { TimerQueue } from './timer-queue.js';

/** A complete match of a pattern for one key. Downstream, its event time is `end`. */
export interface PatternMatch<T, K extends Key = Key> {
  key: K;
  /** The matched events, by stage name, in order. */
  events: Record<string, T[]>;
  /** Event time of the first matched event. */
  start: number;
  /** Event time of the last matched event (or, for a trailing absence, when it was established). */
  end: number;
}

/** A matched event: a persistent list, so branches share their common prefix. */
interface Node {
  stage: number;
  value: unknown;
  ts: number;
  seq: number;
  prev: Node | null;
}

/** A partial match (a computation state of the NFA). */
interface Partial {
  /** Index into the positive stages; `positives.length` for a trailing absence. */
  stage: number;
  /** Events taken by that stage so far. */
  count: number;
  node: Node | null;
  /** No event has been evaluated against it yet (for notNext). */
  fresh: boolean;
  /** notFollowedBy conditions in force while waiting. */
  guards: PatternCondition<unknown>[] | null;
  notNext: PatternCondition<unknown> | null;
}

interface Step {
  name: string;
  condition: PatternCondition<unknown>;
  contiguity: PatternStage<unknown>['contiguity'];
  loop: PatternStage<unknown>['contiguity'];
  min: number;
  max: number;
  /** Negative stages between the previous positive stage and this one. */
  guards: PatternCondition<unknown>[];
  notNext: PatternCondition<unknown> | null;
}

interface KeyState {
  partials: Partial[];
  /** Elements waiting for the watermark: [value, ts, arrival]. */
  pending: [unknown, number, number][];
  /** Per-key event sequence, for skip strategies. */
  seq: number;
}

type Completed = { node: Node; end: number };

/**
 * Flink-style CEP on event time: elements are buffered per key until the watermark passes
 * them, then fed in timestamp order (arrival order for equal times) to a non-deterministic
 * automaton. Elements at or behind the watermark are late (side output). Partial matches
 * older than `within` time out (side output) when an event or the watermark passes.
 */
export class PatternOperator implements StatefulOperator {
  private readonly steps: Step[];
  private readonly trailing: PatternCondition<unknown>[];
  private readonly within: number;
  private readonly skip: SkipStrategy;
  private readonly keys = new Map<Key, KeyState>();
  private readonly timers = new TimerQueue<Key>();
  private wm = Number.NEGATIVE_INFINITY;
  private readonly lookup: { node: Node | null; pattern: PatternOperator };
  private readonly context: PatternContext<unknown>;
  private readonly stageNames: string[];
  /** Start states (the automaton's initial state and what it reaches without events). */
  private readonly starts: Partial[];

  constructor(
    private readonly name: string,
    pattern: Pattern<unknown>,
    private readonly out: Output,
    private readonly ctx: OperatorContext,
  ) {
    pattern.validate();
    this.within = pattern.withinMs ?? Number.POSITIVE_INFINITY;
    this.skip = pattern.skip;
    this.steps = [];
    let guards: PatternCondition<unknown>[] = [];
    let notNext: PatternCondition<unknown> | null = null;
    for (const s of pattern.stages) {
      if (s.kind === 'not-followed-by') guards.push(s.condition);
      else if (s.kind === 'not-next') notNext = s.condition;
      else {
        this.steps.push({
          name: s.name,
          condition: s.condition,
          contiguity: s.contiguity,
          loop: s.loop,
          min: s.min,
          max: s.max,
          guards,
          notNext,
        });
        guards = [];
        notNext = null;
      }
    }
    this.trailing = guards;
    this.stageNames = this.steps.map((s) => s.name);
    this.lookup = { node: null, pattern: this };
    const lookup = this.lookup;
    this.context = {
      get(name: string): unknown[] {
        const stage = lookup.pattern.stageNames.indexOf(name);
        const found: unknown[] = [];
        for (let n = lookup.node; n !== null; n = n.prev)
          if (n.stage === stage) found.push(n.value);
        return found.reverse();
      },
    };
    this.starts = [];
    this.enter(0, null, null, this.starts, []);
  }

  push(value: unknown, ts: number, key: Key | undefined): void {
    const k = key ?? 0;
    if (ts <= this.wm) {
      this.ctx.late({ operator: this.name, value, key, timestamp: ts, watermark: this.wm });
      return;
    }
    let state = this.keys.get(k);
    if (state === undefined) {
      state = { partials: [], pending: [], seq: 0 };
      this.keys.set(k, state);
    }
    state.pending.push([value, ts, state.seq + state.pending.length]);
    this.timers.add(ts, k);
  }

  advance(watermark: number): void {
    if (watermark <= this.wm) return;
    this.wm = watermark;
    for (;;) {
      const due = this.timers.pollDue(watermark);
      if (!due) break;
      for (const k of due.entries) this.runKey(k, watermark);
    }
    this.out.advance(watermark);
  }

  stateSize(): number {
    let n = 0;
    for (const s of this.keys.values()) n += s.partials.length + s.pending.length;
    return n;
  }

  snapshot(): unknown {
    const keys = [...this.keys].map(([k, s]) => [
      k,
      s.seq,
      s.pending,
      s.partials.map((p) => [p.stage, p.count, p.fresh, chain(p.node)]),
    ]);
    return { wm: this.wm, keys };
  }

  restore(state: unknown): void {
    const s = state as {
      wm: number;
      keys: [
        Key,
        number,
        [unknown, number, number][],
        [number, number, boolean, [number, unknown, number, number][]][],
      ][];
    };
    this.keys.clear();
    this.timers.clear();
    this.wm = s.wm;
    for (const [k, seq, pending, partials] of s.keys) {
      const restored: Partial[] = partials.map(([stage, count, fresh, nodes]) => {
        let node: Node | null = null;
        for (const [st, value, ts, sq] of nodes)
          node = { stage: st, value, ts, seq: sq, prev: node };
        if (count > 0) return { stage, count, node, fresh, guards: null, notNext: null };
        const entered = this.entered(stage, node);
        return {
          stage,
          count,
          node,
          fresh,
          guards: entered.guards,
          notNext: fresh ? entered.notNext : null,
        };
      });
      this.keys.set(k, { partials: restored, pending, seq });
      for (const [, ts] of pending) this.timers.add(ts, k);
      for (const p of restored) this.scheduleTimeout(k, p);
    }
  }

  /** Feeds the key's due elements in time order, then times out what the watermark passed. */
  private runKey(k: Key, watermark: number): void {
    const state = this.keys.get(k);
    if (!state) return;
    try {
      if (state.pending.length > 0) {
        const due: [unknown, number, number][] = [];
        const rest: [unknown, number, number][] = [];
        for (const p of state.pending) (p[1] <= watermark ? due : rest).push(p);
        if (due.length > 0) {
          due.sort((a, b) => a[1] - b[1] || a[2] - b[2]);
          state.pending = rest;
          for (const [value, ts] of due) this.processEvent(k, state, value, ts);
        }
      }
      this.timeOut(k, state, watermark);
    } catch (error) {
      throw operatorFailure(this.ctx.job, this.name, error);
    }
    if (state.partials.length === 0 && state.pending.length === 0) this.keys.delete(k);
  }

  private processEvent(k: Key, state: KeyState, value: unknown, ts: number): void {
    this.timeOut(k, state, ts);
    const seq = state.seq++;
    const next: Partial[] = [];
    const completed: Completed[] = [];
    for (const p of state.partials) this.step(p, value, ts, seq, next, completed);
    for (const s of this.starts) this.take(s, value, ts, seq, next, completed);
    state.partials = next;
    for (const p of next) if (p.node !== null && p.node.seq === seq) this.scheduleTimeout(k, p);
    if (completed.length > 0) this.emitCompleted(k, state, completed);
  }

  /** Evaluates one partial match against an event. */
  private step(
    p: Partial,
    value: unknown,
    ts: number,
    seq: number,
    next: Partial[],
    completed: Completed[],
  ): void {
    this.lookup.node = p.node;
    if (p.count === 0) {
      if (p.fresh && p.notNext !== null && p.notNext(value, this.context)) return;
      if (p.guards !== null) for (const g of p.guards) if (g(value, this.context)) return;
      if (p.stage === this.steps.length) {
        // A trailing absence: it survives every event its guards allow.
        next.push(p.fresh ? { ...p, fresh: false, notNext: null } : p);
        return;
      }
    }
    const step = this.steps[p.stage] as Step;
    const taken = this.take(p, value, ts, seq, next, completed);
    const contiguity = p.count === 0 ? step.contiguity : step.loop;
    const ignore = contiguity === 'any' || (contiguity === 'relaxed' && !taken);
    if (ignore) next.push(p.fresh ? { ...p, fresh: false, notNext: null } : p);
  }

  /** Takes the event into the partial's stage if its condition holds; true if it did. */
  private take(
    p: Partial,
    value: unknown,
    ts: number,
    seq: number,
    next: Partial[],
    completed: Completed[],
  ): boolean {
    const step = this.steps[p.stage] as Step;
    this.lookup.node = p.node;
    if (!step.condition(value, this.context)) return false;
    const node: Node = { stage: p.stage, value, ts, seq, prev: p.node };
    const count = p.count + 1;
    if (count < step.max)
      next.push({ stage: p.stage, count, node, fresh: true, guards: null, notNext: null });
    if (count >= step.min) this.enter(p.stage + 1, node, null, next, completed);
    return true;
  }

  /** The states reached on entering stage `index` (skipping optional stages). */
  private enter(
    index: number,
    node: Node | null,
    inherited: PatternCondition<unknown>[] | null,
    into: Partial[],
    completed: Completed[] | [],
  ): void {
    if (index === this.steps.length) {
      if (node === null) return;
      // A trailing absence waits (guarded) until `within` establishes it.
      if (this.trailing.length > 0)
        into.push({
          stage: index,
          count: 0,
          node,
          fresh: true,
          guards: this.trailing,
          notNext: null,
        });
      else (completed as Completed[]).push({ node, end: node.ts });
      return;
    }
    const step = this.steps[index] as Step;
    const guards = concat(inherited, step.guards);
    into.push({
      stage: index,
      count: 0,
      node,
      fresh: true,
      guards: guards.length > 0 ? guards : null,
      notNext: step.notNext,
    });
    if (step.min === 0)
      this.enter(index + 1, node, guards.length > 0 ? guards : null, into, completed);
  }

  /**
   * The guards and notNext a partial match waiting at `stage` (no event taken there yet) got
   * when it entered it after `node`: entering again the same way rebuilds them, including the
   * notFollowedBy guards inherited through the optional stages it skipped, which a snapshot
   * cannot hold (they are functions).
   */
  private entered(stage: number, node: Node | null): Pick<Partial, 'guards' | 'notNext'> {
    const into: Partial[] = [];
    this.enter(node === null ? 0 : node.stage + 1, node, null, into, []);
    const found = into.find((p) => p.stage === stage);
    if (found !== undefined) return found;
    // Not reachable from `node` by entering: a state of another pattern (the job's shape check
    // makes that unlikely); its own stage's conditions are all that is known.
    const step = this.steps[stage];
    const guards = step ? step.guards : this.trailing;
    return { guards: guards.length > 0 ? guards : null, notNext: step ? step.notNext : null };
  }

  /** Drops partial matches that `time` puts out of `within`; a trailing absence completes. */
  private timeOut(k: Key, state: KeyState, time: number): void {
    if (this.within === Number.POSITIVE_INFINITY && time !== Number.POSITIVE_INFINITY) return;
    let completed: Completed[] | undefined;
    const kept: Partial[] = [];
    for (const p of state.partials) {
      const first = p.node === null ? undefined : firstOf(p.node);
      if (first === undefined || time - first.ts < this.within) {
        kept.push(p);
        continue;
      }
      if (p.stage === this.steps.length) {
        (completed ??= []).push({ node: p.node as Node, end: first.ts + this.within });
        continue;
      }
      if (this.within === Number.POSITIVE_INFINITY) {
        kept.push(p);
        continue;
      }
      const match: TimedOutMatch = {
        operator: this.name,
        key: k,
        events: this.eventsOf(p.node as Node),
        start: first.ts,
        timedOutAt: time,
      };
      this.ctx.timedOut(match);
    }
    state.partials = kept;
    if (completed) this.emitCompleted(k, state, completed);
  }

  private emitCompleted(k: Key, state: KeyState, completed: Completed[]): void {
    completed.sort((a, b) => firstOf(a.node).seq - firstOf(b.node).seq || a.node.seq - b.node.seq);
    const removed = new Set<Completed>();
    for (const c of completed) {
      if (removed.has(c)) continue;
      const first = firstOf(c.node);
      const match: PatternMatch<unknown> = {
        key: k,
        events: this.eventsOf(c.node),
        start: first.ts,
        end: c.end,
      };
      this.out.emit(match, c.end, k);
      if (this.skip === 'no-skip') continue;
      const prune =
        this.skip === 'skip-past-last-event'
          ? (s: number) => s <= c.node.seq
          : (s: number) => s === first.seq;
      state.partials = state.partials.filter((p) => p.node === null || !prune(firstOf(p.node).seq));
      for (const other of completed)
        if (other !== c && prune(firstOf(other.node).seq)) removed.add(other);
    }
  }

  private eventsOf(node: Node): Record<string, unknown[]> {
    const events: Record<string, unknown[]> = {};
    for (let n: Node | null = node; n !== null; n = n.prev) {
      const name = this.stageNames[n.stage] as string;
      (events[name] ??= []).push(n.value);
    }
    for (const list of Object.values(events)) list.reverse();
    return events;
  }

  private scheduleTimeout(k: Key, p: Partial): void {
    if (this.within === Number.POSITIVE_INFINITY || p.node === null) return;
    this.timers.add(firstOf(p.node).ts + this.within, k);
  }
}

function firstOf(node: Node): Node {
  let n = node;
  while (n.prev !== null) n = n.prev;
  return n;
}

function chain(node: Node | null): [number, unknown, number, number][] {
  const out: [number, unknown, number, number][] = [];
  for (let n = node; n !== null; n = n.prev) out.push([n.stage, n.value, n.ts, n.seq]);
  return out.reverse();
}

function concat<X>(a: X[] | null, b: X[]): X[] {
  return a === null || a.length === 0 ? b : b.length === 0 ? a : [...a, ...b];
}
