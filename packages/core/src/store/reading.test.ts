import { describe, expect, it } from 'vitest';
import { pagedIterable, type PageFetcher } from './reading.js';

/** A fetcher over 0..total-1 that records the sizes asked for, failing at call `failAt`. */
function numbers(total: number, failAt?: number) {
  const asked: number[] = [];
  const start = (): PageFetcher<number> => {
    let next = 0;
    return (size) => {
      asked.push(size);
      if (asked.length === failAt) return Promise.reject(new Error(`page ${failAt} failed`));
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

describe('pagedIterable', () => {
  it('yields the same rows, page sizes growing to the maximum, with or without reading ahead', async () => {
    for (const readAhead of [false, true]) {
      const source = numbers(7000);
      const rows = await collect(
        pagedIterable(Number.MAX_SAFE_INTEGER, source.start, 4000, { readAhead }),
      );
      expect(rows).toEqual(Array.from({ length: 7000 }, (_, i) => i));
      // A full last page takes one more (empty) page to find the end.
      expect(source.asked).toEqual([1000, 2000, 4000, 4000]);
    }
  });

  it('reads the next page ahead as soon as one arrives, never past the limit', async () => {
    const source = numbers(10_000);
    const it = pagedIterable(2500, source.start, 8000, { readAhead: true })[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(0);
    // The first page is in hand, and the second already asked for: the 1,500 rows left.
    expect(source.asked).toEqual([1000, 1500]);
    let n = 1;
    while (!(await it.next()).done) n += 1;
    expect(n).toBe(2500);
    expect(source.asked).toEqual([1000, 1500]);
  });

  it('a page read ahead that fails throws when reached, and not before', async () => {
    const source = numbers(5000, 2);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const it = pagedIterable(Number.MAX_SAFE_INTEGER, source.start, 8000, {
        readAhead: true,
      })[Symbol.asyncIterator]();
      const first: number[] = [];
      for (let i = 0; i < 1000; i++) first.push((await it.next()).value as number);
      expect(first).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      await expect(it.next()).rejects.toThrow('page 2 failed');
      // A turn of the event loop for a rejection nobody handled to be reported.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('an iteration ended early drops the page read ahead, even one that fails', async () => {
    const source = numbers(5000, 2);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      for await (const n of pagedIterable(Number.MAX_SAFE_INTEGER, source.start, 8000, {
        readAhead: true,
      }))
        if (n === 10) break;
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      expect(source.asked).toEqual([1000, 2000]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('checks before taking each page, a page read ahead included', async () => {
    const source = numbers(3000);
    let open = true;
    const it = pagedIterable(Number.MAX_SAFE_INTEGER, source.start, 8000, {
      readAhead: true,
      beforePage: () => {
        if (!open) throw new Error('closed');
      },
    })[Symbol.asyncIterator]();
    await it.next();
    // The second page is already fetched ahead, yet a closed source does not hand it out.
    open = false;
    let error: unknown;
    try {
      for (;;) if ((await it.next()).done) break;
    } catch (e) {
      error = e;
    }
    expect(error).toEqual(new Error('closed'));
    expect(source.asked).toEqual([1000, 2000]);
  });
});
