import { describe, expect, it } from 'vitest';
import { EventDecodeError } from '../core/errors.js';
import type { RecordedEvent } from '../core/envelope.js';
import { decodeEventRows, type StoredEventRow } from './decode-event-row.js';
import { pagedIterable, readInto, type PageFetcher } from './reading.js';

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

/** An events-table row as the SQL adapters select it; `data` may be made unreadable. */
function row(position: number, data = `{"n":${position}}`): StoredEventRow {
  return [position, `id-${position}`, 'orders-1', position - 1, 'order.placed', data, '{}', 1, 0];
}

/** Pages of decoded rows, as a store's read hands them out; records the page sizes asked. */
function eventPages(rows: readonly StoredEventRow[]) {
  const asked: number[] = [];
  const start = (): PageFetcher<RecordedEvent> => {
    let next = 0;
    return (size) => {
      asked.push(size);
      const page = rows.slice(next, next + size);
      next += page.length;
      return Promise.resolve(decodeEventRows(page));
    };
  };
  return { asked, start };
}

describe('readInto', () => {
  it('appends what a paged read yields, page by page, with the same fetches as for await', async () => {
    const paged = numbers(20_000);
    const into = [-1];
    const result = await readInto(pagedIterable(Number.MAX_SAFE_INTEGER, paged.start, 8000), into);
    expect(result).toBe(into);
    expect(into).toEqual([-1, ...Array.from({ length: 20_000 }, (_, i) => i)]);
    const iterated = numbers(20_000);
    await collect(pagedIterable(Number.MAX_SAFE_INTEGER, iterated.start, 8000));
    expect(paged.asked).toEqual(iterated.asked);
  });

  it('stops at a limit inside a page', async () => {
    const source = numbers(100_000);
    expect(await readInto(pagedIterable(2500, source.start, 1000), [])).toEqual(
      Array.from({ length: 2500 }, (_, i) => i),
    );
    expect(source.asked).toEqual([1000, 1000, 500]);
  });

  it('takes any other async iterable item by item', async () => {
    async function* three() {
      for (const n of [1, 2, 3]) yield await Promise.resolve(n);
    }
    expect(await readInto(three(), [0])).toEqual([0, 1, 2, 3]);
  });

  it('throws at an undecodable row after appending the events before it, as for await does', async () => {
    const rows = [row(1), row(2), row(3, '{not json'), row(4), row(5, 'nor this'), row(6)];
    const into: RecordedEvent[] = [];
    const error = await readInto(pagedIterable(100, eventPages(rows).start), into).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EventDecodeError);
    expect((error as EventDecodeError).position).toBe(3);
    expect(into.map((e) => e.position)).toEqual([1, 2]);

    // A read from right after it goes on to the next undecodable row, then to the end.
    const after: RecordedEvent[] = [];
    const next = await readInto(pagedIterable(100, eventPages(rows.slice(3)).start), after).catch(
      (e: unknown) => e,
    );
    expect((next as EventDecodeError).position).toBe(5);
    expect(after.map((e) => e.position)).toEqual([4]);
  });

  it('throws at an undecodable first row of a page without appending anything', async () => {
    const into: RecordedEvent[] = [];
    await expect(
      readInto(pagedIterable(100, eventPages([row(7, '')]).start), into),
    ).rejects.toMatchObject({ position: 7 });
    expect(into).toEqual([]);
  });
});
