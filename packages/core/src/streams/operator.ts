import type { CausewayError } from '../core/errors.js';
import type { TimeWindow } from './window-assigners.js';

/** A key of a keyed stream: a string or a finite number. */
export type Key = string | number;

/**
 * One step of a running dataflow. Elements are pushed with their event time and key as
 * separate arguments, so the hot path allocates no wrapper per element.
 */
export interface Operator {
  /** An element arrives on input `input` (0 unless the operator has several). */
  push(value: unknown, ts: number, key: Key | undefined, input: number): void;
  /** The watermark of input `input` moved to `watermark`. */
  advance(watermark: number, input: number): void;
}

/** An operator that keeps keyed state, checkpointed with the source position. */
export interface StatefulOperator extends Operator {
  /** A JSON-encodable image of the state. */
  snapshot(): unknown;
  /** Replaces the state with one taken by {@link snapshot} (called before any element). */
  restore(state: unknown): void;
  /** Entries held: windows, buffered elements, partial matches, keyed values. */
  stateSize(): number;
}

/** Where an operator sends what it produces: one or several downstream inputs. */
export interface Output {
  emit(value: unknown, ts: number, key: Key | undefined): void;
  advance(watermark: number): void;
}

/** An output going nowhere (a stream nothing consumes). */
export const NO_OUTPUT: Output = { emit: () => undefined, advance: () => undefined };

/** Output to a single downstream input. */
export function outputTo(target: Operator, input: number): Output {
  return {
    emit: (value, ts, key) => target.push(value, ts, key, input),
    advance: (watermark) => target.advance(watermark, input),
  };
}

/** Output to several downstream inputs, in order. */
export function fanOut(targets: readonly Output[]): Output {
  if (targets.length === 0) return NO_OUTPUT;
  if (targets.length === 1) return targets[0] as Output;
  return {
    emit(value, ts, key) {
      for (const t of targets) t.emit(value, ts, key);
    },
    advance(watermark) {
      for (const t of targets) t.advance(watermark);
    },
  };
}

/**
 * An element that arrived after its window or match could still take it. A window operator
 * reports one per window the element was too late for, naming it in `window`: a sliding
 * window element late for two of its windows and on time for a third is reported twice (and
 * counted twice), and still goes into the third.
 */
export interface LateElement<T = unknown> {
  /** The operator that refused it (its name, or its kind and number). */
  operator: string;
  value: T;
  key: Key | undefined;
  timestamp: number;
  /** The operator's watermark when the element arrived. */
  watermark: number;
  /** The closed window it was refused by (window operators only; absent for joins and patterns). */
  window?: TimeWindow;
}

/**
 * Why an element could not enter the dataflow. `undecodable`: a stored event the source
 * could not decode or decrypt (its `error` is the `EventDecodeError`), passed over.
 */
export type InvalidReason = 'no-timestamp' | 'future-timestamp' | 'bad-key' | 'undecodable';

/** An element refused at run time (see {@link InvalidReason}); counted and side-output. */
export interface InvalidElement<T = unknown> {
  reason: InvalidReason;
  /** The operator that refused it: `source` or a `keyBy`. */
  operator: string;
  value: T;
  /** What was wrong, for people. */
  detail: string;
  /** The typed error behind it (`undecodable`: an `EventDecodeError` or `DecryptionError`). */
  error?: CausewayError;
  /** The source position of the element (`undecodable`: its store position). */
  position?: number | string;
}

/** A partial pattern match whose `within` ran out before it completed. */
export interface TimedOutMatch<T = unknown, K extends Key = Key> {
  operator: string;
  key: K;
  /** The events matched so far, by stage name. */
  events: Record<string, T[]>;
  /** Event time of the first matched event. */
  start: number;
  /** The watermark at which it timed out. */
  timedOutAt: number;
}

/** What running operators report to their job: side outputs and counters. */
export interface OperatorContext {
  /** The job's name, for errors. */
  readonly job: string;
  late(element: LateElement): void;
  invalid(element: InvalidElement): void;
  timedOut(match: TimedOutMatch): void;
}
