import { describe, expect, it } from 'vitest';
import {
  InvalidStreamDefinitionError,
  ManualClock,
  MemoryEventStore,
  Pattern,
  StreamJob,
  StreamCommitFailedError,
  StreamJobStateError,
  StreamOperatorError,
  StreamStateMismatchError,
  arraySource,
  callbackSink,
  collect,
  collectSink,
  count,
  iterableSource,
  memoryStreamStateStore,
  queueSource,
  session,
  storeSink,
  storeSource,
  tumbling,
  type InvalidElement,
  type PatternMatch,
  type RecordedEvent,
  type WindowResult,
} from '@causewayjs/core';
import { runOver, tick, type Tick } from './helpers.js';

describe('bad input at run time', () => {
  it('counts and side-outputs events without a usable timestamp, far-future ones and bad keys', async () => {
    const clock = new ManualClock(1_000_000);
    const items: unknown[] = [
      { k: 'a', t: 10 },
      { k: 'a' },
      { k: 'a', t: 'yesterday' },
      { k: 'a', t: Number.NaN },
      { k: 'a', t: 1_000_000 + 86_400_000 + 1 },
      { k: { nested: true }, t: 11 },
      { k: null, t: 12 },
      { k: Number.POSITIVE_INFINITY, t: 13 },
      { k: 'a', t: '1970-01-01T00:00:00.014Z' },
    ];
    const { results, invalid, job } = await runOver<
      { k: unknown; t?: unknown },
      WindowResult<string, number>
    >(
      items as { k: unknown; t?: unknown }[],
      (s) =>
        s
          .keyBy((e) => e.k as string)
          .window(tumbling({ size: 100 }))
          .aggregate(count()),
      { clock, maxFutureMs: 86_400_000 },
    );
    expect(results.map((r) => r.value)).toEqual([2]);
    expect(invalid.map((i: InvalidElement) => i.reason)).toEqual([
      'no-timestamp',
      'no-timestamp',
      'no-timestamp',
      'future-timestamp',
      'bad-key',
      'bad-key',
      'bad-key',
    ]);
    const status = job.status();
    expect(status.invalid).toEqual({
      total: 7,
      'no-timestamp': 3,
      'future-timestamp': 1,
      'bad-key': 3,
      undecodable: 0,
    });
    // The far-future element did not move the watermark.
    expect(status.maxTimestamp).toBe(14);
  });

  it('a throwing user function fails the job with a typed error naming the operator', async () => {
    const job = new StreamJob<Tick>({
      name: 'boom',
      source: arraySource([tick('a', 1)]),
      timestamp: 't',
      maxFutureMs: Number.POSITIVE_INFINITY,
    });
    job.input
      .map(
        () => {
          throw new Error('no');
        },
        { name: 'explode' },
      )
      .to(collectSink());
    await expect(job.run()).rejects.toThrow(StreamOperatorError);
    expect(job.status().state).toBe('failed');
    expect(job.status().error?.message).toMatch(/explode/);
  });

  it('refuses bad job options at definition time', () => {
    const source = arraySource<Tick>([]);
    expect(() => new StreamJob({ name: '', source })).toThrow();
    expect(() => new StreamJob({ name: 'x', source: {} as never })).toThrow(
      InvalidStreamDefinitionError,
    );
    expect(() => new StreamJob({ name: 'x', source, batchSize: 0 })).toThrow(
      InvalidStreamDefinitionError,
    );
    expect(() => new StreamJob({ name: 'x', source, watermark: { outOfOrdernessMs: -1 } })).toThrow(
      InvalidStreamDefinitionError,
    );
    expect(() => new StreamJob({ name: 'x', source, timestamp: 42 as never })).toThrow(
      InvalidStreamDefinitionError,
    );
    const job = new StreamJob({ name: 'x', source });
    expect(() => job.input.map(5 as never)).toThrow(InvalidStreamDefinitionError);
    expect(() => job.input.to({})).toThrow(InvalidStreamDefinitionError);
    const other = new StreamJob({ name: 'y', source });
    expect(() => job.input.union(other.input)).toThrow(/different jobs/);
  });

  it('the dataflow cannot change once started', async () => {
    const job = new StreamJob<Tick>({ name: 'frozen', source: arraySource([]), timestamp: 't' });
    job.input.to(collectSink());
    await job.run();
    expect(() => job.input.map((x) => x)).toThrow(StreamJobStateError);
  });
});

describe('operators', () => {
  it('filter, map, flatMap, union and keyed process', async () => {
    const items = [tick('a', 1, 1), tick('b', 2, 2), tick('a', 3, 3), tick('a', 4, 4)];
    const { results } = await runOver<Tick, string>(items, (s) => {
      const doubled = s.flatMap((e) => (e.v % 2 === 0 ? [e, e] : [e]));
      const running = doubled
        .keyBy((e) => e.k)
        .process<number, string>((total, e, ctx) => {
          const next = (total ?? 0) + e.v;
          ctx.emit(`${ctx.key}=${next}`);
          return next;
        });
      return running.union(s.filter((e) => e.k === 'b').map((e) => `b-seen@${e.t}`));
    });
    expect(results).toEqual(['a=1', 'b=2', 'b=4', 'b-seen@2', 'a=4', 'a=8', 'a=12']);
  });
});

describe('idleness', () => {
  it('advances the watermark with the clock when the source is idle, firing sessions', async () => {
    const clock = new ManualClock(1_000);
    const source = queueSource<Tick>();
    const job = new StreamJob<Tick>({
      name: 'idle',
      source,
      timestamp: 't',
      clock,
      watermark: { outOfOrdernessMs: 10, idleTimeoutMs: 5_000 },
      idleCheckIntervalMs: 0,
    });
    const results = collectSink<WindowResult<string, number>>();
    job.input
      .keyBy((e) => e.k)
      .window(session({ gap: 60_000 }))
      .aggregate(count())
      .to(results);
    await job.start();
    await source.push([tick('a', 500), tick('a', 900)], 1);
    await waitFor(() => job.status().processed === 2);
    clock.advance(4_000);
    await job.tick();
    expect(results.items).toEqual([]); // not idle long enough yet
    clock.advance(61_000);
    await job.tick();
    // Idle 65 s: watermark = 900 + 65000 - 10 - 1 >= 60899 (the session's end - 1).
    expect(results.items.map((r) => [r.window.start, r.window.end, r.value])).toEqual([
      [500, 60_900, 2],
    ]);
    expect(job.status().watermark).toBe(900 + 65_000 - 11);
    await job.stop();
  });
});

describe('sources', () => {
  it('an async iterable source', async () => {
    async function* gen() {
      for (let i = 0; i < 5; i++) {
        await Promise.resolve();
        yield tick('a', i * 10);
      }
    }
    const job = new StreamJob<Tick>({
      name: 'iter',
      source: iterableSource(gen()),
      timestamp: 't',
    });
    const out = collectSink<WindowResult<string, number>>();
    job.input
      .keyBy((e) => e.k)
      .window(tumbling({ size: 20 }))
      .aggregate(count())
      .to(out);
    await job.run();
    expect(out.items.map((r) => r.value)).toEqual([2, 2, 1]);
    expect(job.status().state).toBe('finished');
  });
});

describe('checkpoints and the store', () => {
  it('resumes from a checkpoint with its state: no lost, no duplicated output', async () => {
    const store = new MemoryEventStore();
    const checkpoints = memoryStreamStateStore(store);
    const append = (t: number, key: string) =>
      store.append(`in-${key}`, [{ type: 'reading.taken', data: { key, at: t } }]);
    for (const t of [1, 5, 12]) await append(t, 'a');
    const define = () => {
      const job = new StreamJob<RecordedEvent>({
        name: 'readings',
        source: storeSource(store, { filter: { types: ['reading.taken'] } }),
        timestamp: 'data.at',
        checkpoints,
        batchSize: 2,
      });
      const out = collectSink<WindowResult<string, number>>();
      job.input
        .keyBy((e) => (e.data as { key: string }).key)
        .window(tumbling({ size: 10 }))
        .aggregate(count())
        .to(out);
      return { job, out };
    };
    const first = define();
    await first.job.start();
    await first.job.waitForPosition(3);
    await first.job.stop();
    expect(first.out.items.map((r) => [r.window.start, r.value])).toEqual([[0, 2]]);
    expect(first.job.status().committedPosition).toBe(3);

    for (const t of [15, 25]) await append(t, 'a');
    const second = define();
    await second.job.start();
    await second.job.waitForPosition(5);
    await second.job.stop();
    // [10, 20) holds 12 (from before the restart, in the restored state) and 15.
    expect(second.out.items.map((r) => [r.window.start, r.value])).toEqual([[10, 2]]);
    const saved = await checkpoints.list();
    expect(saved.map((c) => [c.job, c.position])).toEqual([['readings', 5]]);
  });

  it('refuses to restore a checkpoint into a differently shaped job', async () => {
    const store = new MemoryEventStore();
    const checkpoints = memoryStreamStateStore(store);
    await store.append('x', [{ type: 'a', data: { at: 1 } }]);
    const a = new StreamJob<RecordedEvent>({
      name: 'shape',
      source: storeSource(store, { live: false }),
      timestamp: 'data.at',
      checkpoints,
    });
    a.input
      .keyBy(() => 'k')
      .window(tumbling({ size: 10 }))
      .aggregate(count())
      .to(collectSink());
    await a.run();
    const b = new StreamJob<RecordedEvent>({
      name: 'shape',
      source: storeSource(store, { live: false }),
      timestamp: 'data.at',
      checkpoints,
    });
    b.input
      .keyBy(() => 'k')
      .pattern(Pattern.begin<RecordedEvent>('x'))
      .to(collectSink<PatternMatch<RecordedEvent>>());
    await expect(b.start()).rejects.toThrow(StreamStateMismatchError);
  });

  it('reports watermark, lag, state size and late count', async () => {
    const store = new MemoryEventStore();
    for (let i = 0; i < 10; i++) await store.append('s', [{ type: 'e', data: { at: i * 100 } }]);
    const job = new StreamJob<RecordedEvent>({
      name: 'metrics',
      source: storeSource(store, { live: false }),
      timestamp: 'data.at',
      batchSize: 4,
      clock: new ManualClock(2_000),
    });
    job.input
      .keyBy((e) => e.position % 3)
      .window(tumbling({ size: 10_000 }))
      .aggregate(count())
      .to(collectSink());
    await job.run();
    const status = job.status();
    expect(status.state).toBe('stopped');
    expect(status.watermark).toBe(899);
    expect(status.watermarkLagMs).toBe(2_000 - 899);
    expect(status.lag).toBe(0);
    expect(status.position).toBe(10);
    expect(status.stateSize).toBe(3); // one open window per key
    expect(status.late).toBe(0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('a push-fed source (what a bus consumer feeds)', () => {
  it('takes pushes with their positions, holds producers until taken, and resumes after the checkpoint', async () => {
    const store = new MemoryEventStore();
    const checkpoints = memoryStreamStateStore(store);
    const define = () => {
      const source = queueSource<Tick>({ bounded: true });
      const job = new StreamJob<Tick>({
        name: 'bus-fed',
        source,
        timestamp: 't',
        checkpoints,
        maxFutureMs: Number.POSITIVE_INFINITY,
      });
      const out = collectSink<WindowResult<string, number>>();
      job.input
        .keyBy((e) => e.k)
        .window(tumbling({ size: 10 }))
        .aggregate(count())
        .to(out);
      job.input
        .filter((e) => e.v > 100)
        .to(
          storeSink({
            store,
            stream: (e) => `big-${e.k}`,
            event: (e) => ({ type: 'reading.big', data: { t: e.t, v: e.v } }),
          }),
        );
      return { source, job, out };
    };
    const first = define();
    await first.job.start();
    await first.source.push([tick('a', 1), tick('a', 2, 500)], 1);
    await first.source.push([tick('a', 11)], 2);
    await first.job.waitForPosition(2);
    await first.job.stop();
    expect(first.out.items.map((r) => [r.window.start, r.value])).toEqual([[0, 2]]);

    const second = define();
    await second.job.start();
    // A redelivered message (position 2, already in the checkpoint) is skipped.
    void second.source.push([tick('a', 11)], 2);
    void second.source.push([tick('a', 12), tick('a', 25)], 3);
    second.source.end();
    await second.job.waitForPosition(3);
    await waitFor(() => second.job.status().state === 'finished');
    expect(second.out.items.map((r) => [r.window.start, r.value])).toEqual([
      [10, 2],
      [20, 1],
    ]);
    expect((await collect(store.readStream('big-a'))).map((e) => e.data)).toEqual([
      { t: 2, v: 500 },
    ]);
  });
});

describe('a failed checkpoint', () => {
  it('stops the job with StreamCommitFailedError; started again, it resumes with nothing lost or doubled', async () => {
    const store = new MemoryEventStore();
    const checkpoints = memoryStreamStateStore(store);
    for (let i = 0; i < 6; i++) await store.append('in', [{ type: 'n', data: { at: i * 10, i } }]);
    let failOnce = true;
    const job = new StreamJob<RecordedEvent>({
      name: 'flaky',
      source: storeSource(store, { live: false }),
      timestamp: 'data.at',
      checkpoints,
      batchSize: 2,
    });
    job.input
      .map((e) => (e.data as { i: number }).i)
      .to(
        callbackSink(() => {
          if (failOnce && job.status().position === 4) {
            failOnce = false;
            throw new Error('disk full');
          }
        }),
      );
    const seen = collectSink<number>();
    job.input.map((e) => (e.data as { i: number }).i).to(seen);
    await expect(job.run()).rejects.toThrow(StreamCommitFailedError);
    expect(job.status().state).toBe('failed');
    expect(job.status().committedPosition).toBe(2);
    expect(seen.items).toEqual([0, 1]);
    await job.run();
    expect(seen.items).toEqual([0, 1, 2, 3, 4, 5]);
    expect((await checkpoints.load('flaky'))?.position).toBe(6);
  });
});
