import { afterEach, describe, expect, it } from 'vitest';
import {
  ConsumerGroup,
  MemoryEventStore,
  MemoryGroupMembershipStore,
  memorySubscriptionStorage,
  partitionOf,
} from '@causewayjs/core';

const PARTITIONS = 2;

/**
 * A group's partitions handle events as a lone subscription with the same options would: a
 * `batchHandler` takes whole batches, and catch-up batches grow while behind (before, the group
 * passed neither on, so each partition ran one event per transaction in fixed batches).
 */
describe('consumer group batches', () => {
  const groups: ConsumerGroup[] = [];
  afterEach(async () => {
    await Promise.all(groups.splice(0).map((g) => g.stop()));
  });

  it('hands batches to batchHandler and grows them while catching up', async () => {
    const store = new MemoryEventStore();
    for (let i = 0; i < 1_200; i++)
      await store.append(`order-${i % 10}`, [{ type: 'order.touched', data: { i } }]);
    const batches = new Map<number, number[]>();
    const single: string[] = [];
    const group = new ConsumerGroup({
      name: 'batched',
      partitions: PARTITIONS,
      storage: memorySubscriptionStorage(store),
      membership: new MemoryGroupMembershipStore(),
      leaseTtlMs: 60_000,
      heartbeatIntervalMs: 20,
      catchUp: { maxBatchSize: 1_000 },
      handler: (event) => {
        single.push(event.id);
      },
      batchHandler: (events, ctx) => {
        const p = Number(ctx.subscription.split('#')[1]);
        for (const e of events) expect(partitionOf(e.stream, PARTITIONS)).toBe(p);
        batches.set(p, [...(batches.get(p) ?? []), events.length]);
      },
    });
    groups.push(group);
    await group.start();
    const head = await store.headPosition();
    await expect
      .poll(
        () =>
          group.status.partitions.length === PARTITIONS &&
          group.status.partitions.every((p) => p.position === head),
        { timeout: 10_000 },
      )
      .toBe(true);
    expect(single).toEqual([]);
    const sizes = [...batches.values()].flat();
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(1_200);
    // Batches grow past the default batch size of 100 while behind.
    expect(Math.max(...sizes)).toBeGreaterThan(100);
  });
});
