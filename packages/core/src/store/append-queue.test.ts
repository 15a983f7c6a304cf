import { describe, expect, it } from 'vitest';
import { settledYet } from '../../../../test/support/settled-yet.js';
import { AppendQueue, type UnitResult } from './append-queue.js';
import type { PreparedAppend } from './validation.js';

/** A unit appending one event to `stream` (only the stream matters to these writers). */
const unit = (stream: string): PreparedAppend[] => [
  { stream, expectedRevision: 'any', events: [] } as unknown as PreparedAppend,
];

class Refused extends Error {}

/**
 * A writer that refuses a whole batch holding a unit for a `bad-` stream, as a database
 * whose trigger aborts the transaction does, and logs each transaction it is asked for.
 */
function refusingWriter(log: string[][]) {
  let position = 0;
  return (units: PreparedAppend[][]): Promise<UnitResult[]> => {
    const streams = units.map((u) => u[0]?.stream ?? '');
    log.push(streams);
    if (streams.some((s) => s.startsWith('bad-'))) return Promise.reject(new Refused(streams[0]));
    return Promise.resolve(
      streams.map((stream) => [{ stream, revision: 0, position: ++position }]),
    );
  };
}

describe('AppendQueue', () => {
  it('writes a refused batch again in halves, so only the units at fault fail', async () => {
    const log: string[][] = [];
    const queue = new AppendQueue(refusingWriter(log), {
      isolate: (error) => error instanceof Refused,
    });
    const streams = Array.from({ length: 16 }, (_, i) =>
      i === 5 || i === 12 ? `bad-${i}` : `ok-${i}`,
    );
    const settled = await Promise.allSettled(streams.map((s) => queue.enqueue(unit(s))));
    expect(settled.map((r) => r.status === 'fulfilled')).toEqual(
      streams.map((s) => s.startsWith('ok-')),
    );
    // In order, each good unit written once, with positions that follow the calls' order.
    const positions = settled.flatMap((r) =>
      r.status === 'fulfilled' ? [r.value[0]?.position] : [],
    );
    expect(positions).toEqual(positions.map((_, i) => i + 1));
    expect(log[0]).toHaveLength(16);
    // Bisection: a few transactions per refused unit, not one per unit.
    expect(log.length).toBeLessThanOrEqual(1 + 2 * 2 * Math.log2(16));
    expect((settled[5] as PromiseRejectedResult).reason).toBeInstanceOf(Refused);
  });

  it('fails the whole batch with the error when it is not one to isolate', async () => {
    const log: string[][] = [];
    const queue = new AppendQueue(refusingWriter(log));
    const settled = await Promise.allSettled(
      ['ok-1', 'bad-2', 'ok-3'].map((s) => queue.enqueue(unit(s))),
    );
    expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(log).toHaveLength(1);
  });

  it('a predicate that throws isolates nothing', async () => {
    const log: string[][] = [];
    const queue = new AppendQueue(refusingWriter(log), {
      isolate: () => {
        throw new Error('cannot tell');
      },
    });
    const settled = await Promise.allSettled(['ok-1', 'bad-2'].map((s) => queue.enqueue(unit(s))));
    expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(log).toHaveLength(1);
  });
});

describe('AppendQueue with commits made durable after the write', () => {
  /** A writer that logs its batches, and a durability step the test settles by hand. */
  function held() {
    const log: string[][] = [];
    const flushes: { resolve: () => void; reject: (error: unknown) => void }[] = [];
    const queue = new AppendQueue(refusingWriter(log), {
      afterWrite: () =>
        new Promise<void>((resolve, reject) => {
          flushes.push({ resolve, reject });
        }),
    });
    return { log, flushes, queue };
  }

  it('resolves a batch only once it is durable, writing the next batch meanwhile', async () => {
    const { log, flushes, queue } = held();
    const first = queue.enqueue(unit('ok-1'));
    await expect.poll(() => flushes.length).toBe(1);
    expect(await settledYet(first)).toBe(false);
    // The first batch waits for its flush; the second is written all the same.
    const second = queue.enqueue(unit('ok-2'));
    await expect.poll(() => flushes.length).toBe(2);
    expect(log).toEqual([['ok-1'], ['ok-2']]);
    expect(await settledYet(first)).toBe(false);
    flushes[0]!.resolve();
    expect((await first)[0]?.position).toBe(1);
    expect(await settledYet(second)).toBe(false);
    flushes[1]!.resolve();
    expect((await second)[0]?.position).toBe(2);
  });

  it('a failed flush fails the units written, and a unit that failed alone keeps its error', async () => {
    const log: string[][] = [];
    const lost = new Error('flush failed');
    const queue = new AppendQueue(refusingWriter(log), {
      isolate: (error) => error instanceof Refused,
      afterWrite: () => Promise.reject(lost),
    });
    const settled = await Promise.allSettled(['ok-1', 'bad-2'].map((s) => queue.enqueue(unit(s))));
    const reasons = settled.map((r): unknown => (r.status === 'rejected' ? r.reason : undefined));
    expect(reasons[0]).toBe(lost);
    expect(reasons[1]).toBeInstanceOf(Refused);
  });

  it('drained() waits for the last batch to be durable', async () => {
    const { flushes, queue } = held();
    const append = queue.enqueue(unit('ok-1'));
    await expect.poll(() => flushes.length).toBe(1);
    const drained = queue.drained();
    expect(await settledYet(drained)).toBe(false);
    flushes[0]!.resolve();
    await drained;
    expect(await settledYet(append)).toBe(true);
  });

  it('hands the hook the units written, none for a batch that failed', async () => {
    const log: string[][] = [];
    const written: number[] = [];
    const queue = new AppendQueue(refusingWriter(log), {
      afterWrite: (units) => {
        written.push(units.length);
        return undefined;
      },
    });
    await expect(queue.enqueue(unit('bad-1'))).rejects.toBeInstanceOf(Refused);
    await queue.enqueue(unit('ok-2'));
    expect(written).toEqual([0, 1]);
  });
});
