import { describe, expect, it } from 'vitest';
import {
  InvalidStreamDefinitionError,
  InvalidWindowError,
  countWindow,
  session,
  tumbling,
  type Stream,
} from '@causewayjs/core';
import { runInTwo, runOver } from './helpers.js';

interface Side {
  side: 'L' | 'R';
  k: string;
  t: number;
  id: string;
}

const L = (k: string, t: number, id: string): Side => ({ side: 'L', k, t, id });
const R = (k: string, t: number, id: string): Side => ({ side: 'R', k, t, id });

describe('interval join', () => {
  it('joins l and r when l.ts + lower <= r.ts <= l.ts + upper, same key, both arrival orders', async () => {
    const items = [
      L('a', 10, 'l1'),
      R('a', 8, 'r-too-early'),
      R('a', 9, 'r1'),
      R('a', 12, 'r2'),
      R('a', 13, 'r-too-late'),
      R('b', 11, 'r-other-key'),
      L('a', 14, 'l2'),
    ];
    const { results } = await runOver<Side, string>(
      items,
      (s) => {
        const left = s.filter((e) => e.side === 'L').keyBy((e) => e.k);
        const right = s.filter((e) => e.side === 'R').keyBy((e) => e.k);
        return left.intervalJoin(right, {
          lowerMs: -1,
          upperMs: 2,
          join: (l, r) => `${l.id}+${r.id}`,
        });
      },
      { watermark: { outOfOrdernessMs: 100 } },
    );
    // l1 (10): r in [9, 12] -> r1, r2. l2 (14): r in [13, 16] -> r-too-late (13).
    expect(results.sort()).toEqual(['l1+r1', 'l1+r2', 'l2+r-too-late']);
  });

  it('refuses lower > upper and unkeyed sides', async () => {
    await runOver<Side, Side>([], (s) => {
      const k = s.keyBy((e) => e.k);
      expect(() => k.intervalJoin(k, { lowerMs: 5, upperMs: 1, join: () => 0 })).toThrow(
        InvalidStreamDefinitionError,
      );
      expect(() => k.intervalJoin(s as never, { lowerMs: 0, upperMs: 1, join: () => 0 })).toThrow(
        /keyed/,
      );
      return s;
    });
  });

  it('drops elements older than the watermark to the late output', async () => {
    const items = [L('a', 20, 'l1'), R('a', 5, 'old')];
    const { results, late } = await runOver<Side, string>(items, (s) =>
      s
        .filter((e) => e.side === 'L')
        .keyBy((e) => e.k)
        .intervalJoin(
          s.filter((e) => e.side === 'R').keyBy((e) => e.k),
          { lowerMs: -100, upperMs: 0, join: (l, r) => `${l.id}+${r.id}` },
        ),
    );
    expect(results).toEqual([]);
    expect(late.map((l) => (l.value as Side).id)).toEqual(['old']);
  });
});

describe('window join', () => {
  it('joins pairs of the same key in the same window when it fires', async () => {
    const items = [
      L('a', 1, 'l1'),
      R('a', 3, 'r1'),
      R('a', 4, 'r2'),
      L('b', 5, 'l2'),
      R('a', 12, 'r3'),
      L('a', 15, 'l3'),
    ];
    const { results } = await runOver<Side, string>(items, (s) =>
      s
        .filter((e) => e.side === 'L')
        .windowJoin(
          s.filter((e) => e.side === 'R'),
          {
            leftKey: (l) => l.k,
            rightKey: (r) => r.k,
            window: tumbling({ size: 10 }),
            join: (l, r, key, w) => `${key}:${l.id}+${r.id}@${w.start}`,
          },
        ),
    );
    expect(results.sort()).toEqual(['a:l1+r1@0', 'a:l1+r2@0', 'a:l3+r3@10']);
  });

  it('co-groups with session windows, and refuses count windows', async () => {
    const items = [L('a', 1, 'l1'), R('a', 3, 'r1'), L('a', 5, 'l2'), R('a', 30, 'r2')];
    const { results } = await runOver<Side, string>(items, (s) =>
      s
        .filter((e) => e.side === 'L')
        .windowCoGroup(
          s.filter((e) => e.side === 'R'),
          {
            leftKey: (l) => l.k,
            rightKey: (r) => r.k,
            window: session({ gap: 5 }),
            coGroup: (ls, rs, _key, w) => [`${ls.length}x${rs.length}@[${w.start},${w.end})`],
          },
        ),
    );
    // r2 is alone in its session: it still reaches coGroup, with no left element.
    expect(results).toEqual(['2x1@[1,10)', '0x1@[30,35)']);
    await runOver<Side, Side>([], (s) => {
      expect(() =>
        s.windowJoin(s, {
          leftKey: (l) => l.k,
          rightKey: (r) => r.k,
          window: countWindow({ size: 2 }),
          join: () => 0,
        }),
      ).toThrow(InvalidWindowError);
      return s;
    });
  });
});

describe('outer joins on windowCoGroup', () => {
  type Mode = 'left' | 'right' | 'full';
  /** An outer join of `mode` over tumbling windows of 10, as a user writes it on coGroup. */
  const outerJoin = (mode: Mode) => (s: Stream<Side>) =>
    s
      .filter((e) => e.side === 'L')
      .windowCoGroup(
        s.filter((e) => e.side === 'R'),
        {
          leftKey: (l) => l.k,
          rightKey: (r) => r.k,
          window: tumbling({ size: 10 }),
          coGroup: (ls, rs, key, w) => {
            const at = `${key}@${w.start}`;
            if (ls.length > 0 && rs.length > 0)
              return ls.flatMap((l) => rs.map((r) => `${at} ${l.id}+${r.id}`));
            if (ls.length > 0) return mode === 'right' ? [] : ls.map((l) => `${at} ${l.id}+null`);
            return mode === 'left' ? [] : rs.map((r) => `${at} null+${r.id}`);
          },
        },
      );
  // Key a meets in [0,10), only its left side is in [10,20) and only its right in [20,30);
  // key b has a left side only, key c a right side only.
  const items = [
    L('a', 1, 'l1'),
    R('a', 2, 'r1'),
    L('b', 3, 'l2'),
    R('c', 4, 'r2'),
    R('a', 5, 'r3'),
    L('a', 12, 'l3'),
    L('b', 14, 'l4'),
    R('a', 21, 'r4'),
    R('c', 23, 'r5'),
    L('b', 25, 'l5'),
    L('a', 31, 'l6'),
  ];
  const inner = ['a@0 l1+r1', 'a@0 l1+r3'];
  const leftOnly = ['a@10 l3+null', 'a@30 l6+null', 'b@0 l2+null', 'b@10 l4+null', 'b@20 l5+null'];
  const rightOnly = ['a@20 null+r4', 'c@0 null+r2', 'c@20 null+r5'];
  const expected: Record<Mode, string[]> = {
    left: [...inner, ...leftOnly].sort(),
    right: [...inner, ...rightOnly].sort(),
    full: [...inner, ...leftOnly, ...rightOnly].sort(),
  };

  it.each<Mode>(['left', 'right', 'full'])(
    '%s outer join: keys and windows with one side empty reach coGroup',
    async (mode) => {
      const { results } = await runOver<Side, string>(items, outerJoin(mode));
      expect(results.sort()).toEqual(expected[mode]);
    },
  );

  it.each<Mode>(['left', 'right', 'full'])(
    '%s outer join: the same results when stopped anywhere and restored from a checkpoint',
    async (mode) => {
      for (let at = 0; at <= items.length; at++) {
        const { results } = await runInTwo<Side, string>(items, at, outerJoin(mode));
        expect({ at, results: results.sort() }).toEqual({ at, results: expected[mode] });
      }
    },
  );
});
