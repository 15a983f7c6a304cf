import { afterEach, describe, expect, it } from 'vitest';
import {
  InProcessBus,
  MemoryEventStore,
  StreamJob,
  busSource,
  collectSink,
  count,
  memoryStreamStateStore,
  queueSource,
  tumbling,
  type RecordedEvent,
  type WindowResult,
} from '@causewayjs/core';
import type { Tick } from './helpers.js';

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('queue source acknowledgements', () => {
  it('a push with a position resolves only once a checkpoint covers it', async () => {
    const store = new MemoryEventStore();
    const source = queueSource<Tick>();
    const job = new StreamJob<Tick>({
      name: 'acks',
      source,
      timestamp: 't',
      checkpoints: memoryStreamStateStore(store),
      checkpointEveryElements: 2,
      maxFutureMs: Number.POSITIVE_INFINITY,
    });
    job.input.to(collectSink());
    await job.start();
    let firstAcked = false;
    const first = source.push([{ k: 'a', t: 1, v: 1 }], 1).then(() => (firstAcked = true));
    await waitFor(() => job.status().processed === 1);
    expect(firstAcked).toBe(false); // processed, not yet committed
    await source.push([{ k: 'a', t: 2, v: 1 }], 2);
    await first;
    expect(firstAcked).toBe(true);
    expect(job.status().committedPosition).toBe(2);
    // Pushes the job never commits are rejected when it stops: the producer redelivers them.
    const orphan = source.push([{ k: 'a', t: 3, v: 1 }], 3);
    await waitFor(() => job.status().processed === 3);
    source.abandon(new Error('stopping'));
    await expect(orphan).rejects.toThrow('stopping');
    await job.stop();
  });
});

describe('bus source', () => {
  let bus: InProcessBus | undefined;
  afterEach(async () => {
    await bus?.close();
  });

  it('consumes a consumer group and acknowledges after each checkpoint', async () => {
    bus = new InProcessBus({ prefix: 'test' });
    const store = new MemoryEventStore();
    for (let i = 0; i < 5; i++)
      await store.append(`order-${i}`, [{ type: 'order.placed', data: { at: i * 4 } }]);
    const job = new StreamJob<RecordedEvent>({
      name: 'from-bus',
      source: busSource(bus, { group: 'analytics', subjects: ['order.>'] }),
      timestamp: 'data.at',
      checkpoints: memoryStreamStateStore(store),
      maxFutureMs: Number.POSITIVE_INFINITY,
    });
    const out = collectSink<WindowResult<number, number>>();
    job.input
      .windowAll(tumbling({ size: 10 }))
      .aggregate(count())
      .to(out);
    await job.start();
    for await (const e of store.readAll()) await bus.publish(e);
    await job.waitForPosition(5);
    // Watermark 15: [0, 10) closed with 0, 4 and 8.
    expect(out.items.map((r) => [r.window.start, r.value])).toEqual([[0, 3]]);
    await job.stop();
  });

  it('refuses a bus source without a group', () => {
    expect(() => busSource(new InProcessBus(), { group: '' })).toThrow(/group/);
  });
});
