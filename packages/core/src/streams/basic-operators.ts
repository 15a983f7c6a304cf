import type { InvalidElement, Key, Operator, OperatorContext, Output } from './operator.js';
import { StreamOperatorError } from './stream-errors.js';

/** Wraps what a user function threw, naming the operator (once, not at every level). */
export function operatorFailure(job: string, operator: string, error: unknown): Error {
  return error instanceof StreamOperatorError
    ? error
    : new StreamOperatorError(job, operator, error);
}

/** Keeps the elements `predicate` accepts. */
export class FilterOperator implements Operator {
  constructor(
    private readonly name: string,
    private readonly predicate: (value: unknown) => boolean,
    private readonly out: Output,
    private readonly ctx: OperatorContext,
  ) {}

  push(value: unknown, ts: number, key: Key | undefined): void {
    let keep: boolean;
    try {
      keep = this.predicate(value);
    } catch (error) {
      throw operatorFailure(this.ctx.job, this.name, error);
    }
    if (keep) this.out.emit(value, ts, key);
  }

  advance(watermark: number): void {
    this.out.advance(watermark);
  }
}

/** Replaces each element with `fn(element)`, keeping its time and key. */
export class MapOperator implements Operator {
  constructor(
    private readonly name: string,
    private readonly fn: (value: unknown) => unknown,
    private readonly out: Output,
    private readonly ctx: OperatorContext,
  ) {}

  push(value: unknown, ts: number, key: Key | undefined): void {
    let mapped: unknown;
    try {
      mapped = this.fn(value);
    } catch (error) {
      throw operatorFailure(this.ctx.job, this.name, error);
    }
    this.out.emit(mapped, ts, key);
  }

  advance(watermark: number): void {
    this.out.advance(watermark);
  }
}

/** Replaces each element with every element of `fn(element)` (none, one or many). */
export class FlatMapOperator implements Operator {
  constructor(
    private readonly name: string,
    private readonly fn: (value: unknown) => Iterable<unknown>,
    private readonly out: Output,
    private readonly ctx: OperatorContext,
  ) {}

  push(value: unknown, ts: number, key: Key | undefined): void {
    let produced: Iterable<unknown>;
    try {
      produced = this.fn(value);
      if (Array.isArray(produced)) {
        for (let i = 0; i < produced.length; i++) this.out.emit(produced[i], ts, key);
        return;
      }
      for (const v of produced) this.out.emit(v, ts, key);
    } catch (error) {
      throw operatorFailure(this.ctx.job, this.name, error);
    }
  }

  advance(watermark: number): void {
    this.out.advance(watermark);
  }
}

/** Describes a bad key for the invalid side output. */
function badKey(key: unknown): string {
  if (typeof key === 'number') return `key ${key} is not a finite number`;
  return `key is a ${key === null ? 'null' : typeof key}, not a string or a number`;
}

/**
 * Sets each element's key. A key that is not a string or a finite number sends the element
 * to the job's `invalid` side output (reason `bad-key`), counted.
 */
export class KeyByOperator implements Operator {
  constructor(
    private readonly name: string,
    private readonly keyOf: (value: unknown) => unknown,
    private readonly out: Output,
    private readonly ctx: OperatorContext,
  ) {}

  push(value: unknown, ts: number): void {
    let key: unknown;
    try {
      key = this.keyOf(value);
    } catch (error) {
      throw operatorFailure(this.ctx.job, this.name, error);
    }
    if (typeof key === 'string' || (typeof key === 'number' && Number.isFinite(key))) {
      this.out.emit(value, ts, key);
      return;
    }
    const element: InvalidElement = {
      reason: 'bad-key',
      operator: this.name,
      value,
      detail: badKey(key),
    };
    this.ctx.invalid(element);
  }

  advance(watermark: number): void {
    this.out.advance(watermark);
  }
}

/** Merges several inputs; its watermark is the least of theirs. */
export class UnionOperator implements Operator {
  private readonly watermarks: number[];
  private current = Number.NEGATIVE_INFINITY;

  constructor(
    inputs: number,
    private readonly out: Output,
  ) {
    this.watermarks = new Array<number>(inputs).fill(Number.NEGATIVE_INFINITY);
  }

  push(value: unknown, ts: number, key: Key | undefined): void {
    this.out.emit(value, ts, key);
  }

  advance(watermark: number, input: number): void {
    if (watermark <= (this.watermarks[input] as number)) return;
    this.watermarks[input] = watermark;
    let min = Number.POSITIVE_INFINITY;
    for (const w of this.watermarks) if (w < min) min = w;
    if (min > this.current) {
      this.current = min;
      this.out.advance(min);
    }
  }
}

/** Hands elements to a sink's buffer; the job flushes it at each commit. */
export class SinkOperator implements Operator {
  buffer: unknown[] = [];

  push(value: unknown): void {
    this.buffer.push(value);
  }

  advance(): void {
    // Sinks have no notion of time.
  }
}
