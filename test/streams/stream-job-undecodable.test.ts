// A stored event that cannot be decoded (a row spoilt around the store, or one that does not
// decrypt) must not stop a stream job for good: its store source passes it over, the job
// refuses it as invalid (reason `undecodable`, with the typed error and position, counted and
// checkpointed) and reads on; a restart from the checkpoint duplicates nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventStore, sqliteStreamStateStore } from '@causewayjs/sqlite';
import {
  collect,
  collectSink,
  countWindow,
  EventDecodeError,
  StreamJob,
  storeSink,
  storeSource,
  sum,
  type InvalidElement,
  type RecordedEvent,
} from '@causewayjs/core';

describe('a stream job over a store holding an undecodable event (sqlite file)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('passes it over, records it, keeps running, and duplicates nothing after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-stream-undecodable-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = SqliteEventStore.open(join(dir, 'events.db'), { pollIntervalMs: 10 });
    cleanup.push(() => store.close());
    const checkpoints = await sqliteStreamStateStore(store);

    /** Appends readings; returns the head position after them (sums are stored too). */
    const append = async (...values: number[]) => {
      for (const v of values)
        await store.append('reading-k', [{ type: 'reading.taken', data: { v } }]);
      return store.headPosition();
    };
    await append(1, 2, 3, 4, 5);
    store.database.prepare("UPDATE causeway_events SET data = '{bad' WHERE position = ?").run(3);

    /** A keyed job: the sum of every two readings of a key, stored with its checkpoint. */
    const job = () => {
      const j = new StreamJob<RecordedEvent>({
        name: 'pair-sums',
        source: storeSource(store, { filter: { types: ['reading.taken'] }, pollIntervalMs: 10 }),
        timestamp: 'recordedAt',
        checkpoints,
        idleCheckIntervalMs: 0,
      });
      j.input
        .keyBy((e) => e.stream)
        .window(countWindow({ size: 2 }))
        .aggregate(sum((e) => (e.data as { v: number }).v))
        .to(
          storeSink({
            store,
            stream: () => 'pair-sums',
            event: (r) => ({ type: 'pair.summed', data: { key: r.key, sum: r.value } }),
          }),
        );
      const invalid = collectSink<InvalidElement>();
      j.invalid.to(invalid);
      return { job: j, invalid };
    };
    const sums = async () =>
      (await collect(store.readStream('pair-sums'))).map((e) => (e.data as { sum: number }).sum);

    const first = job();
    await first.job.start();
    cleanup.push(() => first.job.stop());
    await first.job.waitForPosition(5, { timeoutMs: 10_000 });
    expect(await sums()).toEqual([1 + 2, 4 + 5]);
    const status = first.job.status();
    expect(status.state).toBe('running');
    expect(status.error).toBeUndefined();
    expect(status.invalid.undecodable).toBe(1);
    expect(status.invalid.total).toBe(1);
    expect(first.invalid.items).toHaveLength(1);
    const refused = first.invalid.items[0] as InvalidElement;
    expect(refused).toMatchObject({
      reason: 'undecodable',
      operator: 'source',
      position: 3,
      error: { code: 'EVENT_DECODE_FAILED', position: 3 },
    });
    expect(refused.error).toBeInstanceOf(EventDecodeError);
    expect(refused.value).toMatchObject({ position: 3, stream: 'reading-k', data: undefined });

    // Still live: later events go on through the dataflow.
    await first.job.waitForPosition(await append(6, 7), { timeoutMs: 10_000 });
    expect(await sums()).toEqual([3, 9, 13]);
    await first.job.stop();
    expect(first.job.status().state).toBe('stopped');

    // A restart resumes from the checkpoint: nothing re-read, re-refused or re-emitted.
    const head = await append(8, 9);
    const second = job();
    await second.job.start();
    cleanup.push(() => second.job.stop());
    await second.job.waitForPosition(head, { timeoutMs: 10_000 });
    expect(await sums()).toEqual([3, 9, 13, 17]);
    expect(second.invalid.items).toEqual([]);
    expect(second.job.status()).toMatchObject({
      state: 'running',
      invalid: { total: 1, undecodable: 1 },
    });
  });
});
