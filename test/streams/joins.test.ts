import { describe, expect, it } from 'vitest';
import {
  InvalidStreamDefinitionError,
  InvalidWindowError,
  countWindow,
  session,
  tumbling,
} from '../../src/index.js';
import { runOver } from './helpers.js';

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
    expect(results).toEqual(['2x1@[1,10)']);
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
