import { InvalidPatternError } from './stream-errors.js';

/** What a pattern condition can see: the events matched so far by this partial match. */
export interface PatternContext<T> {
  /** Events taken by stage `name` so far (in order), empty if none. */
  get(name: string): T[];
}

/** A condition on an event, optionally over the events matched before it. */
export type PatternCondition<T> = (event: T, ctx: PatternContext<T>) => boolean;

/** How a stage's first event relates to the event before it. */
export type Contiguity = 'strict' | 'relaxed' | 'any';

/**
 * What happens after a match, as Flink's `AfterMatchSkipStrategy`:
 * - `'no-skip'`: every match is emitted, overlapping ones included;
 * - `'skip-past-last-event'`: partial matches that started at or before the match's last
 *   event are discarded (matches never share events);
 * - `'skip-to-next'`: partial matches that started with the same event are discarded.
 */
export type SkipStrategy = 'no-skip' | 'skip-past-last-event' | 'skip-to-next';

/** One stage of a pattern, as defined. */
export interface PatternStage<T> {
  readonly name: string;
  /** `positive` stages take events; the others forbid them. */
  readonly kind: 'positive' | 'not-next' | 'not-followed-by';
  /** Relation of the stage's first event to the previous stage's last one. */
  readonly contiguity: Contiguity;
  readonly condition: PatternCondition<T>;
  readonly min: number;
  /** `Infinity` for `oneOrMore` / `timesOrMore`. */
  readonly max: number;
  /** Relation between the events of a looping stage (default relaxed). */
  readonly loop: Contiguity;
  /** Whether a quantifier was set (a second one is an error). */
  readonly quantified: boolean;
  readonly loopSet: boolean;
}

const always = () => true;

/**
 * A complex-event pattern, built as in Flink CEP and immutable: each call returns a new
 * pattern. Stages are joined with `next` (strict contiguity: the very next event),
 * `followedBy` (relaxed: later, skipping events that do not match) or `followedByAny`
 * (non-deterministic: also tries later matching events); `notNext` and `notFollowedBy`
 * forbid events. Quantifiers (`times`, `oneOrMore`, `timesOrMore`, `optional`) apply to the
 * last stage; `within` bounds the whole match.
 *
 * @example
 * ```ts
 * const threeDeclines = Pattern.begin<Payment>('declined', { skip: 'skip-past-last-event' })
 *   .where((p) => p.type === 'payment.declined')
 *   .times(3)
 *   .within(60_000);
 * ```
 */
export class Pattern<T> {
  private constructor(
    readonly stages: readonly PatternStage<T>[],
    readonly withinMs: number | undefined,
    readonly skip: SkipStrategy,
  ) {}

  /** Starts a pattern with its first stage. */
  static begin<T>(name: string, options: { skip?: SkipStrategy } = {}): Pattern<T> {
    const skip = options.skip ?? 'no-skip';
    if (skip !== 'no-skip' && skip !== 'skip-past-last-event' && skip !== 'skip-to-next')
      throw new InvalidPatternError(
        undefined,
        `skip must be 'no-skip', 'skip-past-last-event' or 'skip-to-next' (got ${String(skip)})`,
      );
    return new Pattern<T>([stage(name, 'positive', 'relaxed', [])], undefined, skip);
  }

  /** A stage whose first event must come right after the previous stage's (strict). */
  next(name: string): Pattern<T> {
    return this.add(name, 'positive', 'strict');
  }

  /** A stage whose first event comes later, skipping non-matching events (relaxed). */
  followedBy(name: string): Pattern<T> {
    return this.add(name, 'positive', 'relaxed');
  }

  /** Like `followedBy`, but every later matching event starts another branch. */
  followedByAny(name: string): Pattern<T> {
    return this.add(name, 'positive', 'any');
  }

  /** The event right after the previous stage's must not match this stage. */
  notNext(name: string): Pattern<T> {
    return this.add(name, 'not-next', 'strict');
  }

  /**
   * No event matching this stage may come between the previous stage and the next one; at
   * the end of a pattern (which then needs `within`), none may come within the time left.
   */
  notFollowedBy(name: string): Pattern<T> {
    return this.add(name, 'not-followed-by', 'relaxed');
  }

  /** Adds a condition to the last stage (all conditions must hold). */
  where(condition: PatternCondition<T>): Pattern<T> {
    if (typeof condition !== 'function')
      throw new InvalidPatternError(this.last.name, 'where() needs a function (event, ctx)');
    const previous = this.last.condition;
    const combined: PatternCondition<T> =
      previous === always ? condition : (e, c) => previous(e, c) && condition(e, c);
    return this.replaceLast({ condition: combined });
  }

  /** Adds an alternative condition to the last stage (either holds). */
  or(condition: PatternCondition<T>): Pattern<T> {
    if (typeof condition !== 'function')
      throw new InvalidPatternError(this.last.name, 'or() needs a function (event, ctx)');
    const previous = this.last.condition;
    return this.replaceLast({ condition: (e, c) => previous(e, c) || condition(e, c) });
  }

  /** The last stage matches exactly `n` events, or from `min` to `max` events. */
  times(min: number, max: number = min): Pattern<T> {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < 1)
      throw new InvalidPatternError(
        this.last.name,
        `times(${min}, ${max}) needs integers with min >= 0 and max >= 1`,
      );
    if (min > max)
      throw new InvalidPatternError(
        this.last.name,
        `times(${min}, ${max}): min > max can never match`,
      );
    return this.quantify(min, max);
  }

  /** The last stage matches one or more events. */
  oneOrMore(): Pattern<T> {
    return this.quantify(1, Number.POSITIVE_INFINITY);
  }

  /** The last stage matches `n` or more events. */
  timesOrMore(n: number): Pattern<T> {
    if (!Number.isSafeInteger(n) || n < 1)
      throw new InvalidPatternError(this.last.name, `timesOrMore(${n}) needs an integer >= 1`);
    return this.quantify(n, Number.POSITIVE_INFINITY);
  }

  /** The last stage may also match no event at all. */
  optional(): Pattern<T> {
    const last = this.last;
    if (last.kind !== 'positive')
      throw new InvalidPatternError(last.name, 'a negative stage cannot be optional');
    if (last.min === 0) throw new InvalidPatternError(last.name, 'optional() given twice');
    return this.replaceLast({ min: 0 });
  }

  /** The events of the last (looping) stage must follow one another directly. */
  consecutive(): Pattern<T> {
    return this.loopContiguity('strict');
  }

  /** The events of the last (looping) stage may be any combination of matching events. */
  allowCombinations(): Pattern<T> {
    return this.loopContiguity('any');
  }

  /** The whole match must span less than `ms` milliseconds of event time. */
  within(ms: number): Pattern<T> {
    if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms <= 0)
      throw new InvalidPatternError(
        undefined,
        `within(${String(ms)}) must be an integer > 0: no match fits in it otherwise`,
      );
    if (this.withinMs !== undefined)
      throw new InvalidPatternError(undefined, 'within() given twice');
    return new Pattern(this.stages, ms, this.skip);
  }

  /**
   * Checks the whole pattern: what can only be judged once it is complete (a trailing
   * `notNext`, a trailing `notFollowedBy` without `within`, nothing but optional stages).
   *
   * @throws {InvalidPatternError}
   */
  validate(): this {
    const last = this.last;
    if (last.kind === 'not-next')
      throw new InvalidPatternError(
        last.name,
        'a pattern cannot end with notNext(): nothing follows to check',
      );
    if (last.kind === 'not-followed-by' && this.withinMs === undefined)
      throw new InvalidPatternError(
        last.name,
        'a pattern ending with notFollowedBy() needs within(): otherwise the absence is never established',
      );
    const positives = this.stages.filter((s) => s.kind === 'positive');
    if (positives.every((s) => s.min === 0))
      throw new InvalidPatternError(
        undefined,
        'every stage is optional: the pattern would match no event at all',
      );
    return this;
  }

  private get last(): PatternStage<T> {
    return this.stages[this.stages.length - 1] as PatternStage<T>;
  }

  private add(name: string, kind: PatternStage<T>['kind'], contiguity: Contiguity): Pattern<T> {
    return new Pattern(
      [...this.stages, stage(name, kind, contiguity, this.stages)],
      this.withinMs,
      this.skip,
    );
  }

  private quantify(min: number, max: number): Pattern<T> {
    const last = this.last;
    if (last.kind !== 'positive')
      throw new InvalidPatternError(last.name, 'a negative stage cannot take a quantifier');
    if (last.quantified) throw new InvalidPatternError(last.name, 'a stage takes one quantifier');
    return this.replaceLast({ min: last.min === 0 ? 0 : min, max, quantified: true });
  }

  private loopContiguity(loop: Contiguity): Pattern<T> {
    const last = this.last;
    if (last.max <= 1)
      throw new InvalidPatternError(
        last.name,
        'consecutive() / allowCombinations() need a looping quantifier first',
      );
    if (last.loopSet) throw new InvalidPatternError(last.name, 'loop contiguity given twice');
    return this.replaceLast({ loop, loopSet: true });
  }

  private replaceLast(change: Partial<PatternStage<T>>): Pattern<T> {
    const stages = this.stages.slice();
    stages[stages.length - 1] = { ...this.last, ...change };
    return new Pattern(stages, this.withinMs, this.skip);
  }
}

function stage<T>(
  name: string,
  kind: PatternStage<T>['kind'],
  contiguity: Contiguity,
  before: readonly PatternStage<T>[],
): PatternStage<T> {
  if (typeof name !== 'string' || name.length === 0)
    throw new InvalidPatternError(undefined, 'a stage needs a non-empty name');
  if (before.some((s) => s.name === name))
    throw new InvalidPatternError(name, 'stage names must be unique within a pattern');
  const previous = before[before.length - 1];
  if (
    kind !== 'positive' &&
    previous !== undefined &&
    previous.kind === 'positive' &&
    previous.min === 0
  )
    throw new InvalidPatternError(name, 'a negative stage cannot follow an optional stage');
  return {
    name,
    kind,
    contiguity,
    condition: always,
    min: 1,
    max: 1,
    loop: 'relaxed',
    quantified: false,
    loopSet: false,
  };
}
