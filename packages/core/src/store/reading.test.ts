import { describe, expect, it } from 'vitest';
import { pagedIterable, type PageFetcher } from './reading.js';

/** A fetcher over 0..total-1 that records the page sizes asked for. */
function numbers(total: number) {
  const asked: number[] = [];
  const start = (): PageFetcher<number> => {
    let next = 0;
    return (size) => {
      asked.push(size);
      const page = Array.from(
        { length: Math.max(0, Math.min(size, total - next)) },
        (_, i) => next + i,
      );
      next += page.length;
      return Promise.resolve(page);
    };
  };
  return { asked, start };
}

async function collect(iterable: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const n of iterable) out.push(n);
  return out;
}

describe('pagedIterable page sizes', () => {
  it('without a limit, pages grow from 1,000 to the largest page', async () => {
    const source = numbers(20_000);
    const rows = await collect(pagedIterable(Number.MAX_SAFE_INTEGER, source.start, 8000));
    expect(rows).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    // A full last page takes one more (empty) page to find the end.
    expect(source.asked).toEqual([1000, 2000, 4000, 8000, 8000]);
  });

  it('with a limit, the first page asks for all of it, up to the largest page', async () => {
    const batch = numbers(100_000);
    expect(await collect(pagedIterable(5000, batch.start, 8000))).toHaveLength(5000);
    expect(batch.asked).toEqual([5000]);

    const long = numbers(100_000);
    expect(await collect(pagedIterable(20_000, long.start, 8000))).toHaveLength(20_000);
    expect(long.asked).toEqual([8000, 8000, 4000]);

    const small = numbers(100_000);
    expect(await collect(pagedIterable(10, small.start, 8000))).toHaveLength(10);
    expect(small.asked).toEqual([10]);
  });

  it('a limit beyond the end reads to the end and stops at the short page', async () => {
    const source = numbers(3000);
    expect(await collect(pagedIterable(5000, source.start, 8000))).toEqual(
      Array.from({ length: 3000 }, (_, i) => i),
    );
    expect(source.asked).toEqual([5000]);
  });

  it('an adapter whose largest page is the first page keeps it, limit or not', async () => {
    const source = numbers(100_000);
    expect(await collect(pagedIterable(2500, source.start, 1000))).toHaveLength(2500);
    expect(source.asked).toEqual([1000, 1000, 500]);
  });
});
