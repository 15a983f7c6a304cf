import { describe, expect, it } from 'vitest';
import { InvalidPatternError, Pattern, type PatternMatch } from '@causewayjs/core';
import { runOver } from './helpers.js';

interface Ev {
  n: string;
  t: number;
  k?: string;
  v?: number;
}

/** Events named by letters, one ms apart, all of key 'x'. */
function seq(...names: string[]): Ev[] {
  return names.map((n, i) => ({ n, t: i + 1, k: 'x' }));
}

const is = (prefix: string) => (e: Ev) => e.n.startsWith(prefix);

async function matches(events: Ev[], pattern: Pattern<Ev>) {
  const out = await runOver<Ev, PatternMatch<Ev, string>>(events, (s) =>
    s.keyBy((e) => e.k ?? 'x').pattern(pattern),
  );
  return {
    ...out,
    names: out.results.map((m) =>
      Object.values(m.events)
        .flat()
        .sort((a, b) => a.t - b.t)
        .map((e) => e.n)
        .join(' '),
    ),
  };
}

describe('pattern contiguity', () => {
  const input = seq('a', 'c', 'b1', 'b2');
  it('next: strict', async () => {
    const p = Pattern.begin<Ev>('a').where(is('a')).next('b').where(is('b'));
    expect((await matches(input, p)).names).toEqual([]);
    expect((await matches(seq('a', 'b1', 'b2'), p)).names).toEqual(['a b1']);
  });
  it('followedBy: relaxed, the first match only', async () => {
    const p = Pattern.begin<Ev>('a').where(is('a')).followedBy('b').where(is('b'));
    expect((await matches(input, p)).names).toEqual(['a b1']);
  });
  it('followedByAny: non-deterministic, every later match', async () => {
    const p = Pattern.begin<Ev>('a').where(is('a')).followedByAny('b').where(is('b'));
    expect((await matches(input, p)).names).toEqual(['a b1', 'a b2']);
  });
});

describe('quantifiers (the Flink documentation examples)', () => {
  // Pattern c, a+ (followedBy), b; input C D A1 A2 A3 D A4 B.
  const input = seq('c', 'd', 'a1', 'a2', 'a3', 'd', 'a4', 'b');
  it('oneOrMore with relaxed contiguity inside the loop', async () => {
    const p = Pattern.begin<Ev>('start')
      .where(is('c'))
      .followedBy('middle')
      .where(is('a'))
      .oneOrMore()
      .followedBy('end')
      .where(is('b'));
    expect((await matches(input, p)).names.sort()).toEqual([
      'c a1 a2 a3 a4 b',
      'c a1 a2 a3 b',
      'c a1 a2 b',
      'c a1 b',
    ]);
  });
  it('consecutive() makes the loop strict', async () => {
    const p = Pattern.begin<Ev>('start')
      .where(is('c'))
      .followedBy('middle')
      .where(is('a'))
      .oneOrMore()
      .consecutive()
      .followedBy('end')
      .where(is('b'));
    expect((await matches(input, p)).names.sort()).toEqual(['c a1 a2 a3 b', 'c a1 a2 b', 'c a1 b']);
  });
  it('allowCombinations() tries every combination', async () => {
    const p = Pattern.begin<Ev>('start')
      .where(is('c'))
      .followedBy('middle')
      .where(is('a'))
      .oneOrMore()
      .allowCombinations()
      .followedBy('end')
      .where(is('b'));
    const names = (await matches(input, p)).names;
    // As in Flink's documentation: every combination that starts with a1 (followedBy takes
    // the first a only), 2^3 of them.
    expect(names).toHaveLength(8);
    expect(names).toContain('c a1 a3 b');
    expect(names).toContain('c a1 a2 a4 b');
    expect(names.every((n) => n.startsWith('c a1'))).toBe(true);
  });
  it('times(n) and times(min, max)', async () => {
    const p = Pattern.begin<Ev>('a').where(is('a')).times(2);
    // Relaxed: a1 takes a2 and stops looking (a1 a3 would need allowCombinations).
    expect((await matches(seq('a1', 'a2', 'a3'), p)).names).toEqual(['a1 a2', 'a2 a3']);
    const range = Pattern.begin<Ev>('a').where(is('a')).times(1, 2).consecutive();
    expect((await matches(seq('a1', 'a2'), range)).names).toEqual(['a1', 'a1 a2', 'a2']);
  });
  it('optional: the stage may be skipped', async () => {
    const p = Pattern.begin<Ev>('a')
      .where(is('a'))
      .next('b')
      .where(is('b'))
      .optional()
      .next('c')
      .where(is('c'));
    expect((await matches(seq('a', 'c'), p)).names).toEqual(['a c']);
    expect((await matches(seq('a', 'b', 'c'), p)).names).toEqual(['a b c']);
  });
});

describe('conditions over earlier events', () => {
  it('an iterative condition sees the events matched so far', async () => {
    const events: Ev[] = [5, 7, 6, 9, 12].map((v, i) => ({ n: `e${v}`, t: i + 1, k: 'x', v }));
    // Strictly increasing values, three in a row.
    const p = Pattern.begin<Ev>('up')
      .where((e, ctx) => {
        const before = ctx.get('up');
        const last = before[before.length - 1];
        return last === undefined || (e.v ?? 0) > (last.v ?? 0);
      })
      .times(3)
      .consecutive();
    const names = (await matches(events, p)).names;
    expect(names).toEqual(['e6 e9 e12']);
  });
});

describe('absence', () => {
  it('notNext: the very next event must not match', async () => {
    const p = Pattern.begin<Ev>('a')
      .where(is('a'))
      .notNext('no-b')
      .where(is('b'))
      .followedBy('c')
      .where(is('c'));
    expect((await matches(seq('a', 'b', 'c'), p)).names).toEqual([]);
    expect((await matches(seq('a', 'd', 'b', 'c'), p)).names).toEqual(['a c']);
  });
  it('notFollowedBy between stages', async () => {
    const p = Pattern.begin<Ev>('a')
      .where(is('a'))
      .notFollowedBy('no-b')
      .where(is('b'))
      .followedBy('c')
      .where(is('c'));
    expect((await matches(seq('a', 'd', 'b', 'c'), p)).names).toEqual([]);
    expect((await matches(seq('a', 'd', 'c'), p)).names).toEqual(['a c']);
  });
  it('a trailing notFollowedBy completes when within runs out, at the watermark', async () => {
    const p = Pattern.begin<Ev>('placed')
      .where(is('placed'))
      .notFollowedBy('paid')
      .where(is('paid'))
      .within(10);
    const events: Ev[] = [
      { n: 'placed1', t: 0, k: 'o1' },
      { n: 'placed2', t: 1, k: 'o2' },
      { n: 'paid', t: 5, k: 'o2' },
      { n: 'other', t: 30, k: 'o3' },
    ];
    const out = await runOver<Ev, PatternMatch<Ev, string>>(events, (s) =>
      s.keyBy((e) => e.k ?? '').pattern(p),
    );
    expect(out.results.map((m) => [m.key, m.end])).toEqual([['o1', 10]]);
  });
});

describe('within and timeouts', () => {
  it('drops partial matches older than within and side-outputs them', async () => {
    const p = Pattern.begin<Ev>('a').where(is('a')).followedBy('b').where(is('b')).within(3);
    const events: Ev[] = [
      { n: 'a1', t: 1, k: 'x' },
      { n: 'b1', t: 3, k: 'x' },
      { n: 'a2', t: 10, k: 'x' },
      { n: 'b2', t: 13, k: 'x' },
    ];
    const out = await matches(events, p);
    expect(out.names).toEqual(['a1 b1']);
    expect(out.timedOut.map((t) => (t.events.a as Ev[]).map((e) => e.n))).toEqual([['a2']]);
    expect(out.job.status().timedOut).toBe(1);
  });
});

describe('skip strategies', () => {
  const input = seq('a1', 'a2', 'a3', 'b');
  const base = (skip: 'no-skip' | 'skip-past-last-event' | 'skip-to-next') =>
    Pattern.begin<Ev>('a', { skip }).where(is('a')).oneOrMore().followedBy('b').where(is('b'));
  it('no-skip emits every match', async () => {
    expect((await matches(input, base('no-skip'))).names.sort()).toEqual([
      'a1 a2 a3 b',
      'a1 a2 b',
      'a1 b',
      'a2 a3 b',
      'a2 b',
      'a3 b',
    ]);
  });
  it('skip-past-last-event emits non-overlapping matches', async () => {
    expect((await matches(input, base('skip-past-last-event'))).names).toEqual(['a1 a2 a3 b']);
  });
  it('skip-to-next discards matches starting with the same event', async () => {
    expect((await matches(input, base('skip-to-next'))).names).toEqual([
      'a1 a2 a3 b',
      'a2 a3 b',
      'a3 b',
    ]);
  });
});

describe('late events', () => {
  it('events at or behind the watermark go to the late output', async () => {
    const p = Pattern.begin<Ev>('a').where(is('a')).followedBy('b').where(is('b'));
    const events: Ev[] = [
      { n: 'a', t: 5, k: 'x' },
      { n: 'b', t: 3, k: 'x' },
    ];
    const out = await matches(events, p);
    expect(out.names).toEqual([]);
    expect(out.late.map((l) => (l.value as Ev).n)).toEqual(['b']);
  });
  it('out-of-order events within the bound are sorted by time before matching', async () => {
    const p = Pattern.begin<Ev>('a').where(is('a')).next('b').where(is('b'));
    const events: Ev[] = [
      { n: 'b', t: 6, k: 'x' },
      { n: 'a', t: 5, k: 'x' },
    ];
    const out = await runOver<Ev, PatternMatch<Ev, string>>(
      events,
      (s) => s.keyBy((e) => e.k ?? '').pattern(p),
      {
        watermark: { outOfOrdernessMs: 5 },
      },
    );
    expect(out.results).toHaveLength(1);
  });
});

describe('impossible patterns are refused at definition time', () => {
  it.each([
    ['times(0)', () => Pattern.begin<Ev>('a').times(0)],
    ['min > max', () => Pattern.begin<Ev>('a').times(3, 2)],
    ['within(0)', () => Pattern.begin<Ev>('a').within(0)],
    ['duplicate names', () => Pattern.begin<Ev>('a').followedBy('a')],
    ['a quantified negative stage', () => Pattern.begin<Ev>('a').notFollowedBy('b').oneOrMore()],
    ['optional negative stage', () => Pattern.begin<Ev>('a').notNext('b').optional()],
    ['consecutive without a loop', () => Pattern.begin<Ev>('a').consecutive()],
    ['trailing notNext', () => Pattern.begin<Ev>('a').notNext('b').validate()],
    [
      'trailing notFollowedBy without within',
      () => Pattern.begin<Ev>('a').notFollowedBy('b').validate(),
    ],
    ['only optional stages', () => Pattern.begin<Ev>('a').optional().validate()],
    ['two quantifiers', () => Pattern.begin<Ev>('a').times(2).oneOrMore()],
  ])('%s', (_name, build) => {
    expect(build).toThrow(InvalidPatternError);
    try {
      build();
    } catch (e) {
      expect((e as InvalidPatternError).code).toBe('STREAM_INVALID_PATTERN');
    }
  });
});
