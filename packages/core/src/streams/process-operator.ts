import { operatorFailure } from './basic-operators.js';
import type { Key, OperatorContext, Output, StatefulOperator } from './operator.js';

/** What a keyed process function is given with each element. */
export interface ProcessContext<K extends Key, R> {
  /** The element's key. */
  readonly key: K;
  /** The element's event time. */
  readonly timestamp: number;
  /** The operator's current watermark. */
  readonly watermark: number;
  /** Sends `value` downstream, at event time `timestamp` (default: the element's). */
  emit(value: R, timestamp?: number): void;
}

/**
 * A keyed process function: given the key's state (undefined at first), the element and a
 * context to emit with, returns the key's new state (undefined forgets the key). State is
 * checkpointed as JSON, so keep it to plain data.
 */
export type ProcessFunction<T, S, K extends Key, R> = (
  state: S | undefined,
  value: T,
  ctx: ProcessContext<K, R>,
) => S | undefined;

/** Runs a {@link ProcessFunction} per key, keeping its state. */
export class ProcessOperator implements StatefulOperator {
  private readonly states = new Map<Key, unknown>();
  private wm = Number.NEGATIVE_INFINITY;
  private readonly context: {
    key: Key;
    timestamp: number;
    watermark: number;
    emit: (value: unknown, timestamp?: number) => void;
  };

  constructor(
    private readonly name: string,
    private readonly fn: ProcessFunction<unknown, unknown, Key, unknown>,
    private readonly out: Output,
    private readonly ctx: OperatorContext,
  ) {
    // One context object, reused for every element.
    this.context = {
      key: 0,
      timestamp: 0,
      watermark: this.wm,
      emit: (value, timestamp) =>
        this.out.emit(value, timestamp ?? this.context.timestamp, this.context.key),
    };
  }

  push(value: unknown, ts: number, key: Key | undefined): void {
    const k = key ?? 0;
    const c = this.context;
    c.key = k;
    c.timestamp = ts;
    c.watermark = this.wm;
    let next: unknown;
    try {
      next = this.fn(this.states.get(k), value, c);
    } catch (error) {
      throw operatorFailure(this.ctx.job, this.name, error);
    }
    if (next === undefined) this.states.delete(k);
    else this.states.set(k, next);
  }

  advance(watermark: number): void {
    if (watermark > this.wm) this.wm = watermark;
    this.out.advance(watermark);
  }

  stateSize(): number {
    return this.states.size;
  }

  snapshot(): unknown {
    return [...this.states];
  }

  restore(state: unknown): void {
    this.states.clear();
    for (const [k, s] of state as [Key, unknown][]) this.states.set(k, s);
  }
}
