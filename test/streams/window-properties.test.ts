import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { count, session, sliding, sum, tumbling, type WindowResult } from '@causewayjs/core';
import { runOver, type Tick } from './helpers.js';

const floorMod = (a: number, n: number) => ((a % n) + n) % n;

const elements = fc.array(
  fc.record({
    k: fc.constantFrom('a', 'b', 'c'),
    t: fc.integer({ min: -500, max: 2000 }),
    v: fc.integer({ min: 1, max: 9 }),
  }),
  { maxLength: 60 },
);

/**
 * The reference: elements in arrival order, the watermark after each `maxTs - bound - 1`; an
 * element goes into each of its windows that is not yet closed (`end - 1 + lateness >
 * watermark`), and is late for each of the others: one late record per (element, closed
 * window), oldest window first, whether it went into some window or none.
 */
function reference(
  items: Tick[],
  size: number,
  slide: number,
  offset: number,
  bound: number,
  lateness: number,
) {
  let maxTs = Number.NEGATIVE_INFINITY;
  let wm = Number.NEGATIVE_INFINITY;
  const sums = new Map<string, number>();
  const late: [Tick, number][] = [];
  for (const e of items) {
    const closed: [Tick, number][] = [];
    const last = e.t - floorMod(e.t - offset, slide);
    for (let start = last; start > e.t - size; start -= slide) {
      if (start + size - 1 + lateness <= wm) {
        closed.unshift([e, start]);
        continue;
      }
      const id = `${e.k}@${start}`;
      sums.set(id, (sums.get(id) ?? 0) + e.v);
    }
    late.push(...closed);
    maxTs = Math.max(maxTs, e.t);
    wm = Math.max(wm, maxTs - bound - 1);
  }
  return { sums, late };
}

describe('windowed aggregation against a naive reference (property)', () => {
  it('tumbling and sliding windows, any order, bound and lateness: same final sums and late (element, window) pairs', async () => {
    await fc.assert(
      fc.asyncProperty(
        elements,
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: -50, max: 50 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 200 }),
        async (items, size, divisor, offset, bound, lateness) => {
          const slide = Math.max(1, Math.floor(size / divisor));
          const assigner =
            slide === size ? tumbling({ size, offset }) : sliding({ size, slide, offset });
          const { results, late } = await runOver<Tick, WindowResult<string, number>>(
            items,
            (s) =>
              s
                .keyBy((e) => e.k)
                .window(assigner, { allowedLatenessMs: lateness, emit: 'final' })
                .aggregate(sum((e) => e.v)),
            { watermark: { outOfOrdernessMs: bound } },
          );
          const ref = reference(items, size, slide, floorMod(offset, slide), bound, lateness);
          const got = new Map(results.map((r) => [`${r.key}@${r.window.start}`, r.value]));
          expect(results.every((r) => r.window.end - r.window.start === size)).toBe(true);
          expect(got.size).toBe(results.length); // 'final' fires each window once
          expect(got).toEqual(ref.sums);
          expect(late.map((l) => [l.value, l.window?.start])).toEqual(ref.late);
          expect(late.every((l) => l.window?.end === (l.window?.start ?? 0) + size)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("emit 'watermark': the last result of each window equals the 'final' one", async () => {
    await fc.assert(
      fc.asyncProperty(
        elements,
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        async (items, size, bound, lateness) => {
          const run = (emit: 'watermark' | 'final') =>
            runOver<Tick, WindowResult<string, number>>(
              items,
              (s) =>
                s
                  .keyBy((e) => e.k)
                  .window(tumbling({ size }), { allowedLatenessMs: lateness, emit })
                  .aggregate(count()),
              { watermark: { outOfOrdernessMs: bound } },
            );
          const updating = (await run('watermark')).results;
          const final = (await run('final')).results;
          const last = new Map<string, number>();
          const seen = new Set<string>();
          for (const r of updating) {
            const id = `${r.key}@${r.window.start}`;
            expect(r.update).toBe(seen.has(id)); // the first firing is not an update, later ones are
            seen.add(id);
            last.set(id, r.value);
          }
          expect(last).toEqual(new Map(final.map((r) => [`${r.key}@${r.window.start}`, r.value])));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('session windows with nothing late equal gap-grouping of the sorted timestamps', async () => {
    await fc.assert(
      fc.asyncProperty(elements, fc.integer({ min: 1, max: 200 }), async (items, gap) => {
        const { results, late } = await runOver<Tick, WindowResult<string, number>>(
          items,
          (s) =>
            s
              .keyBy((e) => e.k)
              .window(session({ gap }))
              .aggregate(count()),
          { watermark: { outOfOrdernessMs: 10_000 } },
        );
        expect(late).toEqual([]);
        const expected: string[] = [];
        for (const k of ['a', 'b', 'c']) {
          const ts = items
            .filter((e) => e.k === k)
            .map((e) => e.t)
            .sort((x, y) => x - y);
          let i = 0;
          while (i < ts.length) {
            const start = ts[i] as number;
            let end = start + gap;
            let n = 0;
            while (i < ts.length && (ts[i] as number) <= end) {
              end = Math.max(end, (ts[i] as number) + gap);
              n++;
              i++;
            }
            expected.push(`${k}[${start},${end})=${n}`);
          }
        }
        expect(
          results.map((r) => `${r.key}[${r.window.start},${r.window.end})=${r.value}`).sort(),
        ).toEqual(expected.sort());
      }),
      { numRuns: 150 },
    );
  });
});
