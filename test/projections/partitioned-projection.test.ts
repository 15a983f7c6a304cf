// Partitioned projections in one process: several projectors share each build's partitions
// through a consumer group; the read model must come out as the unpartitioned run's, every
// event applied once, each key's events in log order, through a member leaving and a rebuild.
import { afterEach, describe, expect, it } from 'vitest';
import {
  CausewayError,
  defineProjection,
  type DocumentsHandle,
  type EventStore,
  type GroupMembershipStore,
  MemoryEventStore,
  MemoryGroupMembershipStore,
  memoryProjectionStore,
  partitionOf,
  ProjectionPartitionedRebuildError,
  type ProjectionStore,
  Projector,
  type RecordedEvent,
  type StoreTransaction,
} from '@causewayjs/core';
import {
  PostgresEventStore,
  postgresGroupMembership,
  postgresProjectionStore,
} from '@causewayjs/postgres';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

const PARTITIONS = 6;
const STREAMS = 30;
const CUSTOMERS = 41;
const EVENTS = 600;

/** How rows are keyed: by stream (the default partition key) or by a customer in the data. */
type KeyMode = 'stream' | 'customer';

const customerOf = (event: RecordedEvent) =>
  `customer-${(event.data as { customer: number }).customer}`;
const keyOf = (event: RecordedEvent, mode: KeyMode) =>
  mode === 'stream' ? event.stream : customerOf(event);

/** One row per key: a count, a total, and the positions applied to it in the order applied. */
interface KeyRow {
  count: number;
  total: number;
  positions: number[];
}

/**
 * A projection of totals by key; `member` names the projector that applies, in a record per
 * event (`applied`), whose `times` counts applications.
 */
function totals(name: string, mode: KeyMode, member: string) {
  return defineProjection<DocumentsHandle>({
    name,
    version: 1,
    handles: ['money.moved'],
    setup: () => undefined,
    apply: async (event, rm) => {
      const keys = rm.documents<KeyRow>('keys');
      const key = keyOf(event, mode);
      const row = (await keys.get(key)) ?? { count: 0, total: 0, positions: [] };
      await keys.put(key, {
        count: row.count + 1,
        total: row.total + (event.data as { amount: number }).amount,
        positions: [...row.positions, event.position],
      });
      const applied = rm.documents<{ times: number; member: string }>('applied');
      const id = `e-${event.position}`;
      const before = await applied.get(id);
      await applied.put(id, { times: (before?.times ?? 0) + 1, member });
    },
  });
}

/** A backend the scenario runs on: the store, and per projector its projection store. */
interface Backend<Tx extends StoreTransaction, RM extends DocumentsHandle> {
  store: EventStore;
  membership: GroupMembershipStore;
  projectionStore(): Promise<ProjectionStore<Tx, RM>>;
}

async function appendEvents(store: EventStore, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i += 10) {
    await store.appendMany(
      Array.from({ length: 10 }, (_, j) => ({
        stream: `account-${(i + j) % STREAMS}`,
        events: [
          {
            type: 'money.moved',
            data: { customer: ((i + j) * 5) % CUSTOMERS, amount: ((i + j) % 13) + 1 },
          },
        ],
      })),
    );
  }
}

/** Every document of `collection` of projection `name`, by id. */
async function documents<T, Tx extends StoreTransaction, RM extends DocumentsHandle>(
  projector: Projector<Tx, RM>,
  name: string,
  collection: string,
): Promise<Map<string, T>> {
  const { data } = await projector.query(name, async (rm) => {
    const all = new Map<string, T>();
    let after: string | undefined;
    do {
      const page = await rm
        .documents<T>(collection)
        .find({ limit: 1000, ...(after === undefined ? {} : { after }) });
      for (const entry of page.items) all.set(entry.id, entry.document);
      after = page.next;
    } while (after !== undefined);
    return all;
  });
  return data;
}

const started: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
});

async function scenario<Tx extends StoreTransaction, RM extends DocumentsHandle>(
  backend: Backend<Tx, RM>,
  mode: KeyMode,
): Promise<void> {
  const { store, membership } = backend;
  const name = `totals-${mode}`;
  const reference = `totals-${mode}-reference`;
  const track = (p: Projector<Tx, RM>) => {
    started.push(p);
    return p;
  };
  const member = async (id: string) =>
    track(
      new Projector<Tx, RM>({
        store: await backend.projectionStore(),
        projections: [totals(name, mode, id)],
        partitions: {
          count: PARTITIONS,
          membership,
          memberId: id,
          leaseTtlMs: 1500,
          heartbeatIntervalMs: 100,
          ...(mode === 'customer' ? { partitionKey: customerOf } : {}),
        },
        pollIntervalMs: 20,
      }),
    );

  const third = EVENTS / 3;
  await appendEvents(store, 0, third);
  const members = await Promise.all(['m1', 'm2', 'm3'].map(member));
  await Promise.all(members.map((m) => m.start()));
  const [m1, m2, m3] = members as [Projector<Tx, RM>, Projector<Tx, RM>, Projector<Tx, RM>];
  /** The partitions each member runs now. */
  const runningHere = async (list: Projector<Tx, RM>[]) =>
    Promise.all(
      list.map(async (m) =>
        ((await m.status(name)).partitions ?? [])
          .filter((p) => p.runningHere)
          .map((p) => p.partition),
      ),
    );
  const all = Array.from({ length: PARTITIONS }, (_, i) => i);
  // Balanced: each member runs two partitions, together all of them.
  await expect
    .poll(async () => (await runningHere(members)).map((p) => p.length), {
      timeout: 30_000,
      interval: 20,
    })
    .toEqual([2, 2, 2]);
  await appendEvents(store, third, third);
  await expect
    .poll(
      async () =>
        [...(await documents<{ member: string }, Tx, RM>(m1, name, 'applied')).values()].filter(
          (a) => a.member === 'm2',
        ).length,
      { timeout: 30_000, interval: 20 },
    )
    .toBeGreaterThan(0);

  // m2 leaves: the others take its partitions over, and handle what comes next.
  const [m2Partitions = []] = await runningHere([m2]);
  await m2.stop();
  await expect
    .poll(async () => (await runningHere([m1, m3])).flat().sort((a, b) => a - b), {
      timeout: 30_000,
      interval: 20,
    })
    .toEqual(all);
  await appendEvents(store, 2 * third, EVENTS - 2 * third);
  const head = await store.headPosition();
  await m1.waitFor(name, head, { timeoutMs: 60_000 });
  await m3.waitFor(name, head, { timeoutMs: 60_000 });

  // The unpartitioned run of the same projection, for comparison.
  const single = track(
    new Projector<Tx, RM>({
      store: await backend.projectionStore(),
      projections: [totals(reference, mode, 'single')],
    }),
  );
  await single.start();
  await single.waitFor(reference, head, { timeoutMs: 60_000 });

  const keys = await documents<KeyRow, Tx, RM>(m1, name, 'keys');
  const expected = await documents<KeyRow, Tx, RM>(single, reference, 'keys');
  expect(expected.size).toBe(mode === 'stream' ? STREAMS : CUSTOMERS);
  // The same rows, each key's events applied in log order.
  expect(keys).toEqual(expected);
  for (const [key, row] of keys)
    expect(row.positions, key).toEqual([...row.positions].sort((a, b) => a - b));

  // Every event applied exactly once.
  const applied = await documents<{ times: number; member: string }, Tx, RM>(m1, name, 'applied');
  expect([...applied.keys()].map((id) => Number(id.slice(2))).sort((a, b) => a - b)).toEqual(
    Array.from({ length: head }, (_, i) => i + 1),
  );
  expect([...applied.values()].filter((a) => a.times !== 1)).toEqual([]);
  // m2's partitions changed hands: in each, m2 applied one unbroken run of its events (it held
  // the partition once, fenced), and the others applied what came after it.
  expect(m2Partitions).toHaveLength(2);
  const events: RecordedEvent[] = [];
  for await (const e of store.readAll({ from: 1 })) events.push(e);
  let checked = 0;
  for (const p of m2Partitions) {
    const owners = events
      .filter((e) => partitionOf(keyOf(e, mode), PARTITIONS) === p)
      .map((e) => (applied.get(`e-${e.position}`)?.member === 'm2' ? 'm2' : 'other'));
    const first = owners.indexOf('m2');
    // A partition no key hashes to, or none of whose events came in m2's time, shows nothing.
    if (first < 0) continue;
    checked += 1;
    const last = owners.lastIndexOf('m2');
    expect(
      owners.slice(first, last + 1).every((o) => o === 'm2'),
      `partition ${p}`,
    ).toBe(true);
    expect(owners.slice(last + 1), `partition ${p}`).toContain('other');
  }
  expect(checked).toBeGreaterThan(0);
  expect(new Set([...applied.values()].map((a) => a.member))).toEqual(new Set(['m1', 'm2', 'm3']));

  // Status: every partition, in total at the head, nothing parked.
  const status = await m1.status(name);
  expect(status.position).toBe(head);
  expect(status.lag.events).toBe(0);
  expect(status.parked).toBe(0);
  expect(status.partitions?.map((p) => p.partition)).toEqual(all);
  expect(status.partitions?.every((p) => p.position === head && p.parked === 0)).toBe(true);

  // A rebuild needs one member: refused while two run, done (partitioned) by the last one.
  await expect(m1.rebuild(name)).rejects.toBeInstanceOf(ProjectionPartitionedRebuildError);
  await m3.stop();
  await expect
    .poll(async () => (await runningHere([m1])).flat(), { timeout: 30_000, interval: 20 })
    .toEqual(all);
  const build = await m1.rebuild(name);
  await m1.switched(name, { timeoutMs: 60_000 });
  const after = await m1.status(name);
  expect(after.build).toBe(build.build);
  expect(after.partitions).toHaveLength(PARTITIONS);
  expect(await documents<KeyRow, Tx, RM>(m1, name, 'keys')).toEqual(expected);
}

describe('partitioned projections, three members in one process', () => {
  for (const mode of ['stream', 'customer'] as const) {
    it(`memory, keyed by ${mode}: as the unpartitioned run, once each, in order`, async () => {
      const store = new MemoryEventStore();
      // In memory, read models and checkpoints live in the projection store: one for all.
      const projections = memoryProjectionStore(store);
      await scenario(
        {
          store,
          membership: new MemoryGroupMembershipStore(),
          projectionStore: () => Promise.resolve(projections),
        },
        mode,
      );
    }, 120_000);

    it(`PostgreSQL, keyed by ${mode}: as the unpartitioned run, once each, in order`, async (ctx) => {
      if (!(await pgAvailable())) ctx.skip();
      const schema = randomSchemaName();
      const stores: PostgresEventStore[] = [];
      try {
        const open = async () => {
          const s = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 4 });
          stores.push(s);
          return s;
        };
        const store = await open();
        await scenario(
          {
            store,
            membership: await postgresGroupMembership(store),
            // Each member its own pool, as a process of its own would have.
            projectionStore: async () => postgresProjectionStore(await open()),
          },
          mode,
        );
      } finally {
        await Promise.all(started.splice(0).map((p) => p.stop()));
        await Promise.all(stores.map((s) => s.close()));
        await dropSchema(schema);
      }
    }, 180_000);
  }
});

describe('turning partitions on for a projection that ran unpartitioned', () => {
  it('the group starts after its checkpoint: nothing applied twice, nothing missed', async () => {
    const store = new MemoryEventStore();
    const projections = memoryProjectionStore(store);
    const name = 'totals-migrated';
    await appendEvents(store, 0, 200);
    const single = new Projector({
      store: projections,
      projections: [totals(name, 'stream', 'single')],
    });
    started.push(single);
    await single.start();
    await single.waitFor(name, await store.headPosition());
    await single.stop();

    const membership = new MemoryGroupMembershipStore();
    const members = ['a', 'b'].map(
      (id) =>
        new Projector({
          store: projections,
          projections: [totals(name, 'stream', id)],
          partitions: {
            count: 4,
            membership,
            memberId: id,
            leaseTtlMs: 1500,
            heartbeatIntervalMs: 100,
          },
        }),
    );
    started.push(...members);
    await Promise.all(members.map((m) => m.start()));
    await appendEvents(store, 200, 200);
    const head = await store.headPosition();
    const [a] = members as [Projector<StoreTransaction, DocumentsHandle>];
    await a.waitFor(name, head, { timeoutMs: 30_000 });

    const applied = await documents<
      { times: number; member: string },
      StoreTransaction,
      DocumentsHandle
    >(a, name, 'applied');
    expect(applied.size).toBe(head);
    expect([...applied.values()].filter((x) => x.times !== 1)).toEqual([]);
    // The first 200 by the single projector, the rest by the members.
    for (const [id, x] of applied)
      expect(x.member === 'single', id).toBe(Number(id.slice(2)) <= 200);
  });
});

describe('partitioned projections apply in batches', () => {
  it("each partition's transaction hands applyBatch a whole batch, as unpartitioned", async () => {
    const store = new MemoryEventStore();
    await appendEvents(store, 0, EVENTS);
    const sizes: number[] = [];
    const base = totals('totals-batched', 'stream', 'solo');
    const projector = new Projector({
      store: memoryProjectionStore(store),
      projections: [
        defineProjection<DocumentsHandle>({
          ...base,
          applyBatch: async (events, rm, context) => {
            sizes.push(events.length);
            for (const event of events) await base.apply(event, rm, { ...context, attempt: 1 });
          },
        }),
      ],
      partitions: {
        count: 2,
        membership: new MemoryGroupMembershipStore(),
        memberId: 'solo',
        leaseTtlMs: 1500,
        heartbeatIntervalMs: 100,
      },
    });
    started.push(projector);
    await projector.start();
    await projector.waitFor('totals-batched', await store.headPosition(), { timeoutMs: 30_000 });
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(EVENTS);
    // Before, a partitioned build took events one per transaction and never called applyBatch.
    expect(Math.max(...sizes)).toBeGreaterThan(1);
  });
});

describe('partitioned projection options', () => {
  const store = new MemoryEventStore();
  const projections = [totals('bad', 'stream', 'x')];
  const membership = new MemoryGroupMembershipStore();
  const make = (partitions: unknown) => () =>
    new Projector({
      store: memoryProjectionStore(store),
      projections,
      // Bad values on purpose: the checks are what is tested.
      partitions: partitions as never,
    });

  it.each([
    ['not an object', 3, 'partitions'],
    ['a count of 0', { count: 0, membership }, 'partitions.count'],
    ['a count above 1,024', { count: 1025, membership }, 'partitions.count'],
    ['a fractional count', { count: 1.5, membership }, 'partitions.count'],
    ['no membership', { count: 4 }, 'partitions.membership'],
    [
      'a key that is no function',
      { count: 4, membership, partitionKey: 'x' },
      'partitions.partitionKey',
    ],
  ])('%s: a typed error naming the option', (_, partitions, argument) => {
    let thrown: unknown;
    try {
      make(partitions)();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CausewayError);
    expect((thrown as CausewayError).code).toBe('INVALID_ARGUMENT');
    expect((thrown as Error).message).toContain(argument);
  });

  it('a heartbeat longer than a third of the lease: refused at start, typed', async () => {
    const projector = new Projector({
      store: memoryProjectionStore(store),
      projections,
      partitions: { count: 2, membership, leaseTtlMs: 300, heartbeatIntervalMs: 200 },
    });
    await expect(projector.start()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await projector.stop();
  });
});
