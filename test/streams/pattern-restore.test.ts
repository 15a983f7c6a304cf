import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Pattern, type PatternMatch, type Stream } from '@causewayjs/core';
import { runInTwo, runOver, type RunOutput } from './helpers.js';

/** An event named by a letter, with its place in the input to tell equal ones apart. */
interface Ev {
  n: string;
  t: number;
  k: string;
  i: number;
  v?: number;
}

const is = (letters: string) => (e: Ev) => letters.includes(e.n);

function detect(pattern: Pattern<Ev>) {
  return (input: Stream<Ev>): Stream<PatternMatch<Ev, string>> =>
    input.keyBy((e) => e.k).pattern(pattern);
}

/** Everything a run produced, each item rendered as a string, sorted (keys fire in no order). */
function rendered(out: RunOutput<PatternMatch<Ev, string>>): string[] {
  const events = (byStage: Record<string, Ev[]>) =>
    Object.keys(byStage)
      .sort()
      .map((s) => `${s}=${(byStage[s] ?? []).map((e) => `${e.n}${e.t}#${e.i}`).join(',')}`)
      .join(' ');
  return [
    ...out.results.map((m) => `match ${m.key} [${m.start},${m.end}] ${events(m.events)}`),
    ...out.timedOut.map(
      (t) =>
        `timeout ${t.key} ${t.start}@${t.timedOutAt} ${events(t.events as Record<string, Ev[]>)}`,
    ),
    ...out.late.map((l) => `late ${(l.value as Ev).i}@${l.watermark}`),
  ].sort();
}

describe('pattern state across checkpoint and restore', () => {
  it('a partial match past an optional stage keeps the notFollowedBy guard it inherited', async () => {
    // a, notFollowedBy x, b?, c over a@1 y@5 x@10 c@20: x comes between a and c, so no match.
    const pattern = Pattern.begin<Ev>('a')
      .where(is('a'))
      .notFollowedBy('x')
      .where(is('x'))
      .followedBy('b')
      .where(is('b'))
      .optional()
      .followedBy('c')
      .where(is('c'));
    const items: Ev[] = [
      { n: 'a', t: 1, k: 'k', i: 0 },
      { n: 'y', t: 5, k: 'k', i: 1 },
      { n: 'x', t: 10, k: 'k', i: 2 },
      { n: 'c', t: 20, k: 'k', i: 3 },
    ];
    const whole = await runOver(items, detect(pattern));
    expect(whole.results).toEqual([]);
    for (let at = 0; at <= items.length; at++) {
      const split = await runInTwo(items, at, detect(pattern));
      expect({ at, matches: split.results }).toEqual({ at, matches: [] });
    }
  });

  it('stopping anywhere, checkpointing and restoring gives exactly the matches of one run (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        patternSpec,
        inputs,
        fc.nat(),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        async (spec, items, cut, bound, batchSize) => {
          const pattern = buildPattern(spec);
          fc.pre(pattern !== undefined);
          const at = cut % (items.length + 1);
          const options = { watermark: { outOfOrdernessMs: bound }, batchSize };
          const whole = await runOver(items, detect(pattern), options);
          const split = await runInTwo(items, at, detect(pattern), options);
          expect(rendered(split)).toEqual(rendered(whole));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

type Link = 'next' | 'followedBy' | 'followedByAny' | 'notNext' | 'notFollowedBy';
type Quantifier =
  | { q: 'one' }
  | { q: 'times'; min: number; max: number }
  | { q: 'oneOrMore' }
  | { q: 'timesOrMore'; n: number };

interface StageSpec {
  link: Link;
  letters: string;
  quantifier: Quantifier;
  optional: boolean;
  loop: 'relaxed' | 'consecutive' | 'allowCombinations';
  /** A condition over the stage's earlier events too: values never decrease in a loop. */
  iterative: boolean;
  /** An alternative condition: `or` value 3. */
  orThree: boolean;
}

interface PatternSpec {
  skip: 'no-skip' | 'skip-past-last-event' | 'skip-to-next';
  stages: StageSpec[];
  within: number | undefined;
}

const stageSpec: fc.Arbitrary<StageSpec> = fc.record({
  link: fc.constantFrom<Link>(
    'next',
    'followedBy',
    'followedBy',
    'followedByAny',
    'notNext',
    'notFollowedBy',
    'notFollowedBy',
    'notFollowedBy',
  ),
  letters: fc.constantFrom('a', 'b', 'c', 'x', 'ab', 'bc'),
  quantifier: fc.oneof(
    fc.constant<Quantifier>({ q: 'one' }),
    fc.constant<Quantifier>({ q: 'one' }),
    fc
      .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }))
      .map(([min, extra]): Quantifier => ({ q: 'times', min, max: Math.max(1, min + extra) })),
    fc.constant<Quantifier>({ q: 'oneOrMore' }),
    fc.integer({ min: 1, max: 2 }).map((n): Quantifier => ({ q: 'timesOrMore', n })),
  ),
  optional: fc.boolean(),
  loop: fc.constantFrom<StageSpec['loop']>('relaxed', 'consecutive', 'allowCombinations'),
  iterative: fc.boolean(),
  orThree: fc.boolean(),
});

const patternSpec: fc.Arbitrary<PatternSpec> = fc.record({
  skip: fc.constantFrom<PatternSpec['skip']>('no-skip', 'skip-past-last-event', 'skip-to-next'),
  stages: fc.array(stageSpec, { minLength: 3, maxLength: 5 }),
  within: fc.option(fc.integer({ min: 3, max: 25 }), { nil: undefined }),
});

/** Mostly in time order (steps of 0 to 4 ms), now and then a step back: out of order or late. */
const inputs: fc.Arbitrary<Ev[]> = fc
  .array(
    fc.record({
      n: fc.constantFrom('a', 'b', 'c', 'x', 'y'),
      step: fc.integer({ min: -3, max: 6 }),
      k: fc.constantFrom('p', 'p', 'q'),
      v: fc.integer({ min: 0, max: 3 }),
    }),
    { minLength: 4, maxLength: 24, size: 'max' },
  )
  .map((list) => {
    let t = 0;
    return list.map(({ step, ...e }, i) => {
      t = Math.max(0, t + step);
      return { ...e, t, i };
    });
  });

/**
 * Builds the pattern a spec describes, bending what the API refuses into what it takes (a
 * negative stage after an optional one becomes positive, a trailing `notNext` gets a stage
 * after it, a trailing `notFollowedBy` gets `within`); undefined if it still refuses it.
 */
function buildPattern(spec: PatternSpec): Pattern<Ev> | undefined {
  const [first, ...rest] = spec.stages;
  if (first === undefined) return undefined;
  let p = withCondition(Pattern.begin<Ev>('s0', { skip: spec.skip }), 's0', first);
  p = quantified(p, first);
  rest.forEach((s, i) => {
    const name = `s${i + 1}`;
    const previous = p.stages[p.stages.length - 1];
    const afterOptional = previous?.kind === 'positive' && previous.min === 0;
    const link =
      afterOptional && (s.link === 'notNext' || s.link === 'notFollowedBy') ? 'followedBy' : s.link;
    p = withCondition(p[link](name), name, s);
    if (link !== 'notNext' && link !== 'notFollowedBy') p = quantified(p, s);
  });
  const last = p.stages[p.stages.length - 1];
  if (last?.kind === 'not-next') p = p.followedBy('end').where(is('c'));
  let within = spec.within;
  if (last?.kind === 'not-followed-by') within ??= 10;
  if (within !== undefined) p = p.within(within);
  try {
    return p.validate();
  } catch {
    return undefined;
  }
}

function withCondition(p: Pattern<Ev>, name: string, s: StageSpec): Pattern<Ev> {
  let q = p.where(is(s.letters));
  if (s.iterative)
    q = q.where((e, ctx) => ctx.get(name).every((before) => (before.v ?? 0) <= (e.v ?? 0)));
  if (s.orThree) q = q.or((e) => e.v === 3 && e.n === 'y');
  return q;
}

function quantified(p: Pattern<Ev>, s: StageSpec): Pattern<Ev> {
  const quantifier = s.quantifier;
  let q = p;
  if (quantifier.q === 'times') q = q.times(quantifier.min, quantifier.max);
  else if (quantifier.q === 'oneOrMore') q = q.oneOrMore();
  else if (quantifier.q === 'timesOrMore') q = q.timesOrMore(quantifier.n);
  const last = q.stages[q.stages.length - 1];
  if (s.optional && last !== undefined && last.min > 0) q = q.optional();
  if (s.loop !== 'relaxed' && last !== undefined && last.max > 1)
    q = s.loop === 'consecutive' ? q.consecutive() : q.allowCombinations();
  return q;
}
