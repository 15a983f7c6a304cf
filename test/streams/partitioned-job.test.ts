// Partitioned stream jobs in one process over the memory backend: members sharing the
// partitions give a single job's results (Nexmark q11, one keyed stage; q5, two keyed stages
// joined through the store), event time is the whole source's in every partition, the
// partition count is fixed, and a partition taken over cannot commit.
import { afterEach, describe, expect, it } from 'vitest';
import {
  END_OF_EVENT_TIME,
  PartitionCountMismatchError,
  PartitionedStreamJob,
  StreamJob,
  StreamJobFencedError,
  arraySource,
  collectSink,
  openBackend,
  partitionJobName,
  partitionOfKey,
  partitionedOutputSource,
  queueSource,
  storeSink,
  tumbling,
  count,
  type Backend,
} from '@causewayjs/core';
import { NexmarkGenerator } from '../../examples/nexmark/generator.js';
import { nexmarkSource } from '../../examples/nexmark/nexmark-source.js';
import {
  PARTITIONED_TYPES,
  canonicalResults,
  partitionedQuery,
  type PartitionedMember,
} from '../../examples/nexmark/partitioned.js';
import { q5Counts } from '../../examples/nexmark/queries.js';
import { runQuery } from '../../examples/nexmark/run-query.js';

const CONFIG = { seed: 7, eventsPerSecond: 500 };
const COUNT = 6_000;
const events = new NexmarkGenerator(CONFIG).events(0, COUNT);

async function eventsOfType(backend: Backend, type: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const e of backend.store.readAll({ filter: { types: [type] } })) out.push(e.data);
  return out;
}

/** Starts `members` members of the query on one backend; resolves once every stage has ended. */
async function runMembers(
  backend: Backend,
  query: 'q5' | 'q11',
  members: number,
): Promise<PartitionedMember[][]> {
  const ports = {
    store: backend.store,
    checkpoints: await backend.streamStateStore(),
    leases: (await backend.subscriptionStorage()).leases,
    membership: await backend.groupMembership(),
  };
  const all = Array.from({ length: members }, (_, i) =>
    partitionedQuery(query, {
      ...ports,
      member: `m${i}`,
      partitions: 4,
      source: () => nexmarkSource(CONFIG, COUNT),
      heartbeatIntervalMs: 20,
    }),
  );
  for (const jobs of all) for (const job of jobs) await job.start();
  // Every member rebalances once more, now that all have joined: the assignment settles.
  for (const jobs of all) for (const job of jobs) await job.rebalance();
  const stages = all[0] as PartitionedMember[];
  await expect
    .poll(
      async () => {
        const ends = await Promise.all(stages.map((s) => s.checkpoints()));
        return ends.flat().every((c) => c.watermark === END_OF_EVENT_TIME);
      },
      { timeout: 20_000, interval: 20 },
    )
    .toBe(true);
  for (const jobs of all) for (const job of jobs) await job.stop();
  return all;
}

describe('partitioned stream jobs (memory)', () => {
  const opened: Backend[] = [];
  const open = async () => {
    const b = await openBackend('memory:');
    opened.push(b);
    return b;
  };
  afterEach(async () => {
    for (const b of opened.splice(0)) await b.close();
  });

  it('q11 over 4 partitions and 2 members gives the single job’s sessions', async () => {
    const backend = await open();
    const all = await runMembers(backend, 'q11', 2);
    // Both members ran partitions: the work was shared.
    for (const jobs of all)
      expect((jobs[0] as PartitionedMember).status().assigned).toHaveLength(2);
    const single = await runQuery('q11', events);
    expect(single.results.length).toBeGreaterThan(50);
    expect(canonicalResults(await eventsOfType(backend, PARTITIONED_TYPES.q11))).toBe(
      canonicalResults(single.results),
    );
  });

  it('q5 in two partitioned stages through the store gives the single job’s results', async () => {
    const backend = await open();
    await runMembers(backend, 'q5', 3);
    const single = await runQuery('q5', events);
    expect(single.results.length).toBeGreaterThan(5);
    expect(canonicalResults(await eventsOfType(backend, PARTITIONED_TYPES.q5))).toBe(
      canonicalResults(single.results),
    );
    // The first stage's counts are a single job's too: none lost, none twice.
    const job = new StreamJob({
      name: 'q5-counts',
      source: arraySource(events),
      timestamp: (e) => e.dateTime,
      maxFutureMs: Number.POSITIVE_INFINITY,
    });
    const counts = collectSink();
    q5Counts(job.input).to(counts);
    await job.run();
    expect(canonicalResults(await eventsOfType(backend, PARTITIONED_TYPES.q5Counts))).toBe(
      canonicalResults(counts.items),
    );
  });

  it('every partition moves event time with the whole source, not only its keys', async () => {
    // Key b's only element is at t=0; a's elements run to t=100. Partition of b alone would
    // never see its window end before the source ends; with the whole source's time it fires
    // as soon as a's element at 100 comes, in the same batch as in a single job.
    const items = [
      { k: 'b', t: 0 },
      { k: 'a', t: 5 },
      { k: 'a', t: 100 },
    ];
    const bPartition = partitionOfKey('b', 2);
    expect(partitionOfKey('a', 2)).not.toBe(bPartition);
    const source = queueSource<{ k: string; t: number }>();
    const job = new StreamJob({
      name: 'p',
      source,
      timestamp: (e) => e.t,
      partition: { index: bPartition, count: 2, key: (e) => e.k },
    });
    const out = collectSink();
    job.input
      .keyBy((e) => e.k)
      .window(tumbling({ size: 10 }))
      .aggregate(count())
      .to(out);
    await job.start();
    void source.push(items);
    await expect
      .poll(() => out.items)
      .toEqual([{ key: 'b', window: { start: 0, end: 10 }, value: 1, update: false }]);
    expect(job.status().watermark).toBe(99);
    // Only its own element entered its dataflow.
    expect(job.status().processed).toBe(1);
    await job.stop();
  });

  it('refuses another partition count for a job that has run', async () => {
    const backend = await open();
    const options = {
      name: 'fixed',
      key: (e: { k: string }) => e.k,
      source: () => arraySource([{ k: 'a', t: 1 }]),
      timestamp: (e: { t: number }) => e.t,
      dataflow: () => undefined,
      checkpoints: await backend.streamStateStore(),
      leases: (await backend.subscriptionStorage()).leases,
      membership: await backend.groupMembership(),
      member: 'm',
    };
    const first = new PartitionedStreamJob({ ...options, partitions: 8 });
    await first.start();
    await first.stop();
    const second = new PartitionedStreamJob({ ...options, partitions: 4 });
    await expect(second.start()).rejects.toBeInstanceOf(PartitionCountMismatchError);
  });

  it('a partition claimed elsewhere cannot commit again: its results stay single', async () => {
    // The stale owner and the new one both read the same queue; the stale one's commit after
    // the takeover is refused, so each result is written once.
    const backend = await open();
    const checkpoints = await backend.streamStateStore();
    const name = partitionJobName('fenced', 0);
    const make = (owner: string) => {
      const source = queueSource<{ k: string; t: number }>();
      const job = new StreamJob({
        name,
        owner,
        source,
        checkpoints,
        timestamp: (e) => e.t,
        partition: { index: 0, count: 1, key: (e) => e.k },
      });
      job.input.to(
        storeSink({
          store: backend.store,
          stream: (e) => `fenced-${e.k}`,
          event: (e) => ({ type: 'fenced.seen', data: e }),
        }),
      );
      return { job, source };
    };
    const stale = make('stale');
    await stale.job.start();
    void stale.source.push([{ k: 'a', t: 1 }], 1);
    await expect.poll(() => stale.job.status().checkpoints).toBe(1);
    const next = make('next');
    await next.job.start();
    void stale.source.push([{ k: 'a', t: 2 }], 2).catch(() => undefined);
    await expect.poll(() => stale.job.status().state).toBe('failed');
    expect(stale.job.status().error).toBeInstanceOf(StreamJobFencedError);
    // The new owner resumes after the stale one's last commit and goes on from there.
    void next.source.push([{ k: 'a', t: 2 }], 2);
    await expect.poll(() => next.job.status().checkpoints).toBe(1);
    await next.job.stop();
    expect(await eventsOfType(backend, 'fenced.seen')).toEqual([
      { k: 'a', t: 1 },
      { k: 'a', t: 2 },
    ]);
  });
});

describe('partitionedOutputSource', () => {
  it('gives the lowest committed upstream watermark, on the last batch of a read that reached the end', async () => {
    const backend = await openBackend('memory:');
    try {
      const checkpoints = await backend.streamStateStore();
      for (let i = 0; i < 5; i++)
        await backend.store.append(`up-${i}`, [{ type: 'up.counted', data: { i } }]);
      const source = partitionedOutputSource({
        store: backend.store,
        filter: { types: ['up.counted'] },
        checkpoints,
        upstream: { name: 'up', partitions: 2 },
        bounded: true,
        pollIntervalMs: 1,
      });
      expect(source.watermarks).toBe(true);
      const abort = new AbortController();
      const batches = source.read({ after: undefined, batchSize: 2, signal: abort.signal });
      const it = batches[Symbol.asyncIterator]();
      const take = async () => {
        const r = await it.next();
        if (r.done) throw new Error('the source ended');
        return r.value;
      };
      // Partition 1 has no checkpoint yet: no watermark, whatever partition 0 says.
      await checkpoints.save(partitionJobName('up', 0), { position: 1, watermark: 500, state: '' });
      const first = [await take(), await take(), await take()];
      expect(first.map((b) => [b.items.length, b.watermark])).toEqual([
        [2, undefined],
        [2, undefined],
        [1, undefined],
      ]);
      // Both have committed, and more events came: the lower watermark, on the batch that
      // reached the end of the log only (the ones before it may not hold everything up to it).
      await checkpoints.save(partitionJobName('up', 1), { position: 1, watermark: 300, state: '' });
      for (let i = 5; i < 8; i++)
        await backend.store.append(`up-${i}`, [{ type: 'up.counted', data: { i } }]);
      const second = [await take(), await take()];
      expect(second.map((b) => [b.items.length, b.watermark])).toEqual([
        [2, undefined],
        [1, 300],
      ]);
      // Both at the end of event time: the last watermark, then the bounded source ends.
      for (const p of [0, 1])
        await checkpoints.save(partitionJobName('up', p), {
          position: 9,
          watermark: END_OF_EVENT_TIME,
          state: '',
        });
      expect(await take()).toMatchObject({ watermark: END_OF_EVENT_TIME });
      expect((await it.next()).done).toBe(true);
    } finally {
      await backend.close();
    }
  });
});
