import { afterEach, describe, expect, it } from 'vitest';
import {
  ConsumerGroup,
  MemoryEventStore,
  MemoryGroupMembershipStore,
  collect,
  memorySubscriptionStorage,
  partitionOf,
  tenantScopedStore,
} from '@causewayjs/core';

const PARTITIONS = 4;

/**
 * A consumer group reading through a tenant's view: the store filters partitions by the hash
 * of the stream name, and the group (its `partitionOf`, its per-partition check) hashes the
 * name it sees. Both must be the same name, the full `tenant:stream` one, or a partition's
 * events would be dropped by one filter and never handled.
 */
describe('consumer group over a tenant-scoped store', () => {
  const groups: ConsumerGroup[] = [];
  afterEach(async () => {
    await Promise.all(groups.splice(0).map((g) => g.stop()));
  });

  it("partitions by the stream name the group sees; each partition gets exactly its tenant's streams", async () => {
    const store = new MemoryEventStore();
    for (let i = 0; i < 60; i++)
      await store.append(`${i % 2 ? 'acme' : 'globex'}:order-${i % 17}`, [
        { type: 'order.touched', data: { i } },
      ]);
    const acme = tenantScopedStore(store, 'acme');
    const seen = new Map<number, string[]>();
    const group = new ConsumerGroup({
      name: 'acme-orders',
      partitions: PARTITIONS,
      storage: memorySubscriptionStorage(store),
      membership: new MemoryGroupMembershipStore(),
      source: acme,
      leaseTtlMs: 60_000,
      heartbeatIntervalMs: 20,
      handler: (event, ctx) => {
        const p = Number(ctx.subscription.split('#')[1]);
        seen.set(p, [...(seen.get(p) ?? []), event.id]);
      },
    });
    groups.push(group);
    await group.start();
    const head = await store.headPosition();
    await expect
      .poll(
        () =>
          group.status.partitions.every((p) => p.position === head) &&
          group.status.partitions.length === PARTITIONS,
        { timeout: 10_000 },
      )
      .toBe(true);
    const events = await collect(acme.readAll());
    expect(events.length).toBe(30);
    for (let p = 0; p < PARTITIONS; p++) {
      const expected = events.filter((e) => partitionOf(e.stream, PARTITIONS) === p);
      expect(seen.get(p) ?? [], `partition ${p}`).toEqual(expected.map((e) => e.id));
      for (const e of expected) expect(group.partitionOf(e.stream)).toBe(p);
    }
  });
});
