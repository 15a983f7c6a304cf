import { afterEach, describe, expect, it } from 'vitest';
import { FULFILMENT_SAGA } from '../../examples/shop/fulfilment-saga.js';
import { dropSchema, pgAvailable, randomSchemaName } from '../support/postgres.js';
import {
  PARTITIONS,
  checkRun,
  declined,
  ended,
  openSchema,
  placeOrders,
  startMember,
  type InstanceOutcome,
} from './partitioned-saga-scenario.js';

const ORDERS = 40;
const available = await pgAvailable();

describe.skipIf(!available)('a saga partitioned by instance id (PostgreSQL)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** Runs ORDERS orders through `members` members in this process; returns the outcomes. */
  async function run(members: number): Promise<{
    outcomes: InstanceOutcome[];
    assigned: number[][];
  }> {
    const schema = randomSchemaName();
    cleanup.push(() => dropSchema(schema));
    const main = await openSchema(schema);
    cleanup.push(() => main.close());
    const started: Awaited<ReturnType<typeof startMember>>[] = [];
    for (let m = 0; m < members; m++) {
      const member = await startMember(schema, `member-${m}`);
      cleanup.push(() => member.close());
      started.push(member);
    }
    // Every member sees the others and takes its share before the orders come.
    await expect
      .poll(() => started.map((m) => m.runtime.status.groups[0]?.members.length), {
        timeout: 20_000,
      })
      .toEqual(started.map(() => members));
    await expect
      .poll(
        () =>
          started
            .map((m) => m.runtime.status.groups[0]?.assigned.length ?? 0)
            .reduce((a, b) => a + b, 0),
        { timeout: 20_000 },
      )
      .toBe(PARTITIONS);
    const assigned = started.map((m) => m.runtime.status.groups[0]?.assigned ?? []);
    await placeOrders(main, ORDERS);
    await expect.poll(() => ended(main), { timeout: 90_000, interval: 100 }).toBe(ORDERS);
    return { outcomes: await checkRun(main, ORDERS), assigned };
  }

  it('spreads the partitions over 4 members and gives each order the outcome one member gives', async () => {
    const four = await run(4);
    // Each member runs 2 of the 8 partitions, and no partition runs twice.
    expect(four.assigned.map((a) => a.length)).toEqual([2, 2, 2, 2]);
    expect(new Set(four.assigned.flat()).size).toBe(PARTITIONS);
    const one = await run(1);
    expect(one.assigned).toEqual([[0, 1, 2, 3, 4, 5, 6, 7]]);
    expect(four.outcomes).toEqual(one.outcomes);
    for (const [i, outcome] of one.outcomes.entries())
      expect(outcome.status).toBe(declined(i) ? 'compensated' : 'completed');
  }, 240_000);

  it('reports each partition, and counts parked work by partition and in total', async () => {
    const schema = randomSchemaName();
    cleanup.push(() => dropSchema(schema));
    const main = await openSchema(schema);
    cleanup.push(() => main.close());
    const a = await startMember(schema, 'member-a');
    cleanup.push(() => a.close());
    const b = await startMember(schema, 'member-b');
    cleanup.push(() => b.close());
    await expect
      .poll(
        () =>
          (a.runtime.status.groups[0]?.assigned.length ?? 0) +
          (b.runtime.status.groups[0]?.assigned.length ?? 0),
        { timeout: 20_000 },
      )
      .toBe(PARTITIONS);
    await placeOrders(main, 10);
    await expect.poll(() => ended(main), { timeout: 60_000, interval: 100 }).toBe(10);
    const names = [...a.runtime.status.subscriptions, ...b.runtime.status.subscriptions]
      .map((s) => s.name)
      .sort();
    expect(names).toEqual(
      Array.from({ length: PARTITIONS }, (_, p) => `saga:${FULFILMENT_SAGA}#${p}`).sort(),
    );
    const parked = await a.runtime.parkedEventCounts();
    expect(parked.total).toBe(0);
    expect(Object.keys(parked.bySubscription)).toHaveLength(PARTITIONS);
    const outbox = await a.runtime.outboxCounts();
    expect(outbox.pending).toBe(0);
    expect(outbox.byPartition).toHaveLength(PARTITIONS);
  }, 120_000);
});
