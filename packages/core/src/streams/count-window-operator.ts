import type { AggregateFunction } from './aggregate.js';
import type { Key, Output, StatefulOperator } from './operator.js';
import type { CountWindows } from './window-assigners.js';
import type { WindowResult } from './window-result.js';

interface KeyCount {
  /** Elements of the key seen so far. */
  n: number;
  /** Tumbling: the running accumulator. */
  acc: unknown;
  /** Sliding: the last `size` elements. */
  buffer: unknown[];
}

/**
 * Count windows, as Flink's `countWindow`: per key, a result every `slide` elements over the
 * last `size` of them. They do not depend on time, so watermarks pass straight through.
 * The window reported is the key's element numbers `[start, end)` (0-based).
 */
export class CountWindowOperator implements StatefulOperator {
  private readonly keys = new Map<Key, KeyCount>();
  private readonly sliding: boolean;

  constructor(
    private readonly assigner: CountWindows,
    private readonly agg: AggregateFunction<unknown, unknown, unknown>,
    private readonly out: Output,
  ) {
    this.sliding = assigner.slide !== assigner.size;
  }

  push(value: unknown, ts: number, key: Key | undefined): void {
    const k = key ?? 0;
    let state = this.keys.get(k);
    if (state === undefined) {
      state = { n: 0, acc: this.sliding ? null : this.agg.create(), buffer: [] };
      this.keys.set(k, state);
    }
    state.n++;
    const { size, slide } = this.assigner;
    if (!this.sliding) {
      state.acc = this.agg.add(state.acc, value);
      if (state.n % size === 0) {
        this.emit(k, state.n - size, state.n, this.agg.result(state.acc), ts);
        state.acc = this.agg.create();
      }
      return;
    }
    state.buffer.push(value);
    if (state.buffer.length > size) state.buffer.shift();
    if (state.n % slide === 0) {
      let acc = this.agg.create();
      for (const v of state.buffer) acc = this.agg.add(acc, v);
      this.emit(k, state.n - state.buffer.length, state.n, this.agg.result(acc), ts);
    }
  }

  advance(watermark: number): void {
    this.out.advance(watermark);
  }

  stateSize(): number {
    return this.keys.size;
  }

  snapshot(): unknown {
    return [...this.keys].map(([k, s]) => [k, s.n, s.acc, s.buffer]);
  }

  restore(state: unknown): void {
    this.keys.clear();
    for (const [k, n, acc, buffer] of state as [Key, number, unknown, unknown[]][])
      this.keys.set(k, { n, acc, buffer });
  }

  private emit(key: Key, start: number, end: number, value: unknown, ts: number): void {
    const result: WindowResult<Key, unknown> = {
      key,
      window: { start, end },
      value,
      update: false,
    };
    this.out.emit(result, ts, key);
  }
}
