import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  ManualClock,
  collect,
  type RecordedEvent,
  type StoreTransaction,
  type TransactionalEventStore,
  ConsumerGroupErrorCode,
  MemberIdInUseError,
  PartitionCountMismatchError,
  type ConsumerGroupOptions,
  ConsumerGroup,
  type ConsumerGroupStatus,
  type GroupMembershipStore,
  assignPartitions,
  partitionOf,
  nack,
  type EventHandler,
  type SubscriptionStorage,
  ForwardingEventStore,
  fnv1a32,
  type ReadAllOptions,
} from '@causewayjs/core';
import type { EffectSink } from './subscription.suite.js';

/** One "process": a store, its subscription storage and group membership on one database. */
export interface GroupProcess<Tx extends StoreTransaction> {
  store: TransactionalEventStore<Tx>;
  storage: SubscriptionStorage<Tx>;
  membership: GroupMembershipStore;
}

/** How the consumer group suite reaches one adapter. */
export interface GroupHarness<Tx extends StoreTransaction> {
  /** Opens a process on this harness's database (another connection when durable). */
  open(): Promise<GroupProcess<Tx>>;
  /** True when two `open()` calls share data. */
  durable: boolean;
  /**
   * True when a write waits for any open write transaction (SQLite's one writer): a lease
   * cannot be taken from a runner stalled inside its transaction, so the takeover of a
   * stalled member is only tested where it can happen.
   */
  oneWriter?: boolean;
  sink: EffectSink<Tx>;
  /** Drops the database; called after every test, once every opened store is closed. */
  cleanup(): Promise<void>;
}

const PARTITIONS = 6;
const GROUP = 'grp';
/** Long enough that no lease or membership expires unless a test moves a clock. */
const TTL = 60_000;
const HEARTBEAT = 20;

/** Resolves with the first status that satisfies `predicate` (the current one included). */
function statusWhere(
  group: Pick<ConsumerGroup, 'status' | 'onStatus'>,
  predicate: (status: ConsumerGroupStatus) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<ConsumerGroupStatus> {
  return new Promise((resolve, reject) => {
    if (predicate(group.status)) {
      resolve(group.status);
      return;
    }
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out waiting for ${what}; status ${describe_(group.status)}`));
    }, timeoutMs);
    const stop = group.onStatus((status) => {
      if (!predicate(status)) return;
      clearTimeout(timer);
      stop();
      resolve(status);
    });
  });
}

function describe_(status: ConsumerGroupStatus): string {
  return JSON.stringify({
    member: status.member,
    state: status.state,
    members: status.members,
    assigned: status.assigned,
    partitions: status.partitions.map((p) => [p.partition, p.state, p.position]),
  });
}

/** Resolves once `check` holds, polling; fails after `timeoutMs`. */
async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The partitions a member runs (its subscriptions catching up or live). */
const running = (status: ConsumerGroupStatus) =>
  status.partitions.filter((p) => p.running).map((p) => p.partition);

/** True when `members` between them run every partition once, each its assigned share. */
function settled(statuses: ConsumerGroupStatus[], members: number): boolean {
  const all = statuses.flatMap((s) => running(s)).sort((a, b) => a - b);
  return (
    statuses.every(
      (s) =>
        s.members.length === members &&
        s.partitions.length === s.assigned.length &&
        running(s).join() === s.assigned.join(),
    ) && all.join() === Array.from({ length: PARTITIONS }, (_, i) => i).join()
  );
}

/**
 * A view of a store that counts the events its `readAll` yields, per partition index asked
 * for (`-1`: no partition filter): what a member had to take from the store.
 */
class CountingStore<Tx extends StoreTransaction> extends ForwardingEventStore<Tx> {
  readonly yielded = new Map<number, number>();

  constructor(inner: TransactionalEventStore<Tx>) {
    super(inner);
  }

  override readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    const index = options?.filter?.partition?.index ?? -1;
    const source = this.inner.readAll(options);
    const yielded = this.yielded;
    return {
      async *[Symbol.asyncIterator]() {
        for await (const event of source) {
          yielded.set(index, (yielded.get(index) ?? 0) + 1);
          yield event;
        }
      },
    };
  }
}

/**
 * The consumer group contract (issue: consumer groups), run against every adapter: the
 * membership port, balanced assignment, rebalancing on join and leave, a dead member's
 * partitions taken over after expiry, every event handled once in effect with per-stream
 * order held across rebalances, and clear refusals.
 */
export function describeConsumerGroupConformance<Tx extends StoreTransaction>(
  name: string,
  makeHarness: () => Promise<GroupHarness<Tx>>,
): void {
  describe(`Consumer group conformance: ${name}`, () => {
    let harness: GroupHarness<Tx>;
    let main: GroupProcess<Tx>;
    const processes: GroupProcess<Tx>[] = [];
    const groups: ConsumerGroup<Tx>[] = [];
    /** Handling order: sink value of each event, from one counter across all members. */
    let sequence = 0;

    const open = async () => {
      const p = await harness.open();
      processes.push(p);
      return p;
    };
    /**
     * Members' processes: their own connections when durable, the shared storage otherwise.
     * Opened before any member starts: opening a SQLite store waits, blocking, for the write
     * lock that a running partition may hold across awaits in the same process.
     */
    const openMany = async <const N extends readonly string[]>(
      ...names: N
    ): Promise<{ [K in keyof N]: GroupProcess<Tx> }> => {
      const result: GroupProcess<Tx>[] = [];
      for (const _ of names) result.push(harness.durable ? await open() : main);
      return result as { [K in keyof N]: GroupProcess<Tx> };
    };
    const member = (
      memberId: string,
      on: GroupProcess<Tx>,
      options: Partial<ConsumerGroupOptions<Tx>> = {},
    ) => {
      const group = new ConsumerGroup<Tx>({
        name: GROUP,
        partitions: PARTITIONS,
        storage: on.storage,
        membership: on.membership,
        memberId,
        leaseTtlMs: TTL,
        heartbeatIntervalMs: HEARTBEAT,
        retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
        handler: recording(),
        ...options,
      });
      groups.push(group);
      return group;
    };
    /** Writes one sink row per event: key its position, value its place in handling order. */
    const recording =
      (before?: (event: RecordedEvent) => unknown): EventHandler<Tx> =>
      async (event, context) => {
        const result = await before?.(event);
        if (result !== undefined) return result as never;
        await harness.sink.write(context.tx, String(event.position), ++sequence);
      };
    /** Appends `count` events over `streams` streams, several streams per append. */
    const append = async (count: number, streams = 24, prefix = 'order') => {
      for (let i = 0; i < count; i += 4) {
        await main.store.appendMany(
          Array.from({ length: Math.min(4, count - i) }, (_, j) => ({
            stream: `${prefix}-${(i + j) % streams}`,
            events: [{ type: 'order.touched', data: { i: i + j } }],
          })),
        );
      }
      return main.store.headPosition();
    };
    /**
     * Every event up to `head` has exactly one committed effect, and within each stream the
     * effects were made in revision order.
     */
    const expectHandledOnceInOrder = async (head: number) => {
      await eventually(
        async () => (await harness.sink.read(main.store)).size >= head,
        `effects of ${head} events`,
      );
      const rows = await harness.sink.read(main.store);
      expect([...rows.keys()].map(Number).sort((a, b) => a - b)).toEqual(
        Array.from({ length: head }, (_, i) => i + 1),
      );
      const byStream = new Map<string, number[]>();
      for (const event of await collect(main.store.readAll())) {
        const order = byStream.get(event.stream) ?? [];
        order[event.revision] = rows.get(String(event.position)) as number;
        byStream.set(event.stream, order);
      }
      for (const [stream, order] of byStream)
        expect(order, stream).toEqual([...order].sort((a, b) => a - b));
    };

    beforeEach(async () => {
      harness = await makeHarness();
      main = await open();
      sequence = 0;
      await harness.sink.setup(main.store);
    });

    afterEach(async () => {
      await Promise.all(groups.splice(0).map((g) => g.stop()));
      await Promise.all(processes.splice(0).map((p) => p.store.close()));
      await harness.cleanup();
    });

    it('membership: defines a group once, heartbeats, expires, leaves, lists live members sorted', async () => {
      const m = main.membership;
      const t = 1_000_000;
      expect(await m.definition('g')).toBeUndefined();
      const defined = await m.define('g', { partitions: 4, startAfter: 7 }, t);
      expect(defined).toMatchObject({ partitions: 4, startAfter: 7 });
      expect(defined.createdAt.getTime()).toBe(t);
      // A second definition does not replace the first.
      expect(await m.define('g', { partitions: 8, startAfter: 0 }, t + 5)).toEqual(defined);
      expect(await m.definition('g')).toEqual(defined);

      expect(await m.heartbeat('g', 'b', 'i1', 1000, t)).toEqual({ joined: true });
      expect(await m.heartbeat('g', 'a', 'i2', 1000, t + 10)).toEqual({ joined: true });
      expect(await m.heartbeat('other', 'c', 'i3', 1000, t)).toEqual({ joined: true });
      const live = await m.members('g', t + 500);
      expect(live.map((x) => x.member)).toEqual(['a', 'b']);
      expect(live[1]).toMatchObject({ group: 'g', member: 'b', instance: 'i1' });
      expect(live[1]?.expiresAt.getTime()).toBe(t + 1000);

      // Another instance under a live member id is refused, and told who holds it.
      const refused = await m.heartbeat('g', 'b', 'other-instance', 1000, t + 500);
      expect(refused.joined).toBe(false);
      if (!refused.joined) {
        expect(refused.holder).toMatchObject({ member: 'b', instance: 'i1' });
        expect(refused.holder.expiresAt.getTime()).toBe(t + 1000);
      }
      // The holder renews, keeping the time it joined.
      expect(await m.heartbeat('g', 'b', 'i1', 1000, t + 900)).toEqual({ joined: true });
      const renewed = await m.members('g', t + 1005);
      expect(renewed.map((x) => x.member)).toEqual(['a', 'b']);
      expect(renewed[1]?.joinedAt.getTime()).toBe(t);
      expect(renewed[1]?.expiresAt.getTime()).toBe(t + 1900);
      expect((await m.members('g', t + 1010)).map((x) => x.member)).toEqual(['b']);

      // Expired: gone from the list, and its id free for another instance.
      expect((await m.members('g', t + 1900)).map((x) => x.member)).toEqual([]);
      expect(await m.heartbeat('g', 'b', 'i9', 1000, t + 1900)).toEqual({ joined: true });
      // Leaving takes effect only for the instance holding the id.
      await m.leave('g', 'b', 'i1');
      expect((await m.members('g', t + 1901)).map((x) => x.instance)).toEqual(['i9']);
      await m.leave('g', 'b', 'i9');
      expect(await m.members('g', t + 1901)).toEqual([]);
      expect((await m.members('other', t + 1)).map((x) => x.member)).toEqual(['c']);

      await expect(m.heartbeat('g', '', 'i', 1000, t)).rejects.toThrow(InvalidArgumentError);
      await expect(m.heartbeat('g', 'a', 'i', 0, t)).rejects.toThrow(/ttlMs/);
      await expect(m.define('g', { partitions: 0, startAfter: 0 }, t)).rejects.toThrow(
        /partitions/,
      );
      await expect(m.members('x'.repeat(300), t)).rejects.toThrow(InvalidArgumentError);
    });

    it('gives members a balanced, agreed assignment; each partition runs on one member', async () => {
      const head = await append(120);
      const [pa, pb, pc, pd] = await openMany('a', 'b', 'c', 'd');
      const members = [member('m-a', pa), member('m-b', pb), member('m-c', pc)];
      await Promise.all(members.map((m) => m.start()));
      await eventually(
        () =>
          settled(
            members.map((m) => m.status),
            3,
          ),
        'a settled group',
      );
      const expected = assignPartitions(['m-a', 'm-b', 'm-c'], PARTITIONS);
      for (const m of members) {
        expect(m.status).toMatchObject({
          group: GROUP,
          state: 'running',
          running: true,
          partitionCount: PARTITIONS,
          members: ['m-a', 'm-b', 'm-c'],
          assigned: expected.get(m.memberId),
          error: undefined,
        });
        expect(m.status.assigned).toHaveLength(2);
        expect(m.status.lastHeartbeat).toBeInstanceOf(Date);
      }
      // Each partition's lease is held by the member running it.
      for (const m of members)
        for (const p of m.status.assigned)
          expect((await main.storage.leases.get(m.partitionName(p)))?.owner).toBe(m.owner);
      await expectHandledOnceInOrder(head);
      // A partition only sees its own streams.
      const seen = new Map<number, Set<number>>();
      const checker = member('m-check', pd, {
        name: 'checker',
        handler: (event, ctx) => {
          const p = Number(ctx.subscription.split('#')[1]);
          const set = seen.get(p) ?? new Set<number>();
          set.add(partitionOf(event.stream, PARTITIONS));
          seen.set(p, set);
        },
      });
      await checker.start();
      await eventually(
        () =>
          checker.status.partitions.every((p) => p.position === head) &&
          checker.status.partitions.length === PARTITIONS,
        'the checker group at the head',
      );
      for (const [p, set] of seen) expect([...set]).toEqual([p]);
    });

    it('rebalances promptly when members join and leave; every event once, per-stream order held', async () => {
      let head = await append(60);
      const [pa, pb, pc] = await openMany('a', 'b', 'c');
      const a = member('m-a', pa);
      await a.start();
      await eventually(() => settled([a.status], 1), 'one member running everything');
      // Events keep coming while the group changes shape.
      let writing = true;
      const writer = (async () => {
        while (writing) {
          await append(8, 24);
          // Yield to timers: the memory store's appends never leave the microtask queue.
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      try {
        const b = member('m-b', pb);
        await b.start();
        // Prompt: leases last a minute, so only the heartbeat and a clean handover can do it.
        await eventually(() => settled([a.status, b.status], 2), 'a settled pair', 10_000);
        expect(a.status.rebalances).toBeGreaterThanOrEqual(1);
        const c = member('m-c', pc);
        await c.start();
        await eventually(
          () => settled([a.status, b.status, c.status], 3),
          'a settled trio',
          10_000,
        );
        await b.stop();
        expect(b.status).toMatchObject({ state: 'stopped', partitions: [], error: undefined });
        await eventually(() => settled([a.status, c.status], 2), 'the pair left', 10_000);
        // Nobody is left holding b's leases.
        for (let p = 0; p < PARTITIONS; p++) {
          const owner = (await main.storage.leases.get(a.partitionName(p)))?.owner;
          expect([a.owner, c.owner]).toContain(owner);
        }
      } finally {
        writing = false;
        await writer;
      }
      head = await main.store.headPosition();
      await expectHandledOnceInOrder(head);
    });

    it("takes over a dead member's partitions once its heartbeat and leases expire", async () => {
      const clock = new ManualClock(Date.now());
      const ghost = { member: 'm-ghost', owner: 'm-ghost/dead' };
      // A member that died: its last heartbeat and lease renewals were half a TTL ago.
      const then = clock.now() - TTL / 2;
      await main.membership.define(GROUP, { partitions: PARTITIONS, startAfter: 0 }, then);
      await main.membership.heartbeat(GROUP, ghost.member, 'dead', TTL, then);
      const ghostPartitions =
        assignPartitions(['m-a', 'm-b', ghost.member], PARTITIONS).get(ghost.member) ?? [];
      expect(ghostPartitions).toHaveLength(2);
      for (const p of ghostPartitions)
        expect(
          await main.storage.leases.acquire(`${GROUP}#${p}`, ghost.owner, TTL, then),
        ).toMatchObject({ acquired: true });

      const head = await append(90);
      const [pa, pb] = await openMany('a', 'b');
      const a = member('m-a', pa, { clock });
      const b = member('m-b', pb, { clock });
      await Promise.all([a.start(), b.start()]);
      // The survivors count the ghost in and leave its partitions alone, waiting.
      const theirs = await Promise.all(
        [a, b].map((m) =>
          statusWhere(
            m,
            (s) => s.members.length === 3 && s.assigned.length === 2 && running(s).length === 2,
            'the share with the ghost',
          ),
        ),
      );
      for (const s of theirs) for (const p of ghostPartitions) expect(s.assigned).not.toContain(p);
      await eventually(async () => {
        const rows = await harness.sink.read(main.store);
        const events = await collect(main.store.readAll());
        return events
          .filter((e) => !ghostPartitions.includes(partitionOf(e.stream, PARTITIONS)))
          .every((e) => rows.has(String(e.position)));
      }, 'the live partitions to catch up');
      const before = await harness.sink.read(main.store);
      for (const e of await collect(main.store.readAll()))
        if (ghostPartitions.includes(partitionOf(e.stream, PARTITIONS)))
          expect(before.has(String(e.position))).toBe(false);

      // Half a TTL and a bit later, the ghost has expired; the survivors' heartbeats have not.
      clock.advance(TTL / 2 + 1);
      await Promise.all([a.rebalance(), b.rebalance()]);
      await eventually(() => settled([a.status, b.status], 2), 'the takeover');
      for (const m of [a, b]) expect(m.status.members).toEqual(['m-a', 'm-b']);
      for (const p of ghostPartitions)
        expect([a.owner, b.owner]).toContain(
          (await main.storage.leases.get(`${GROUP}#${p}`))?.owner,
        );
      await expectHandledOnceInOrder(head);
    });

    it("refuses a stalled member's late commit once another took its partitions (a higher epoch)", async (test) => {
      // One writer: the takeover waits for the stalled transaction, and its commit is then
      // legitimately the last of its lease (the subscription suite covers the fence there).
      if (harness.oneWriter) test.skip();
      const head = await append(60);
      // Two clocks: the stalled member's stands still, the other's is a lease TTL ahead, so to
      // it the stalled member and its leases have expired. Both run on one process: a SQLite
      // connection of its own would block this thread on the stalled member's write lock.
      const clockA = new ManualClock(Date.now());
      const clockB = new ManualClock(clockA.now() + TTL + 1);
      const stuck = partitionOf('order-0', PARTITIONS);
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      let stalled: () => void = () => undefined;
      const isStalled = new Promise<void>((resolve) => (stalled = resolve));
      let stalledAt = 0;
      const committedByA = new Set<number>();
      const a = member('m-a', main, {
        clock: clockA,
        batchSize: 1,
        handler: async (event, context) => {
          if (event.stream === 'order-0' && !stalledAt) {
            stalledAt = event.position;
            stalled();
            await held;
          }
          await harness.sink.write(context.tx, String(event.position), ++sequence);
          context.tx.onCommit(() => committedByA.add(event.position));
        },
      });
      await a.start();
      await isStalled;
      const before = await main.storage.leases.get(a.partitionName(stuck));
      expect(before?.owner).toBe(a.owner);

      const takerEpochs = new Set<number | undefined>();
      const b = member('m-b', main, {
        clock: clockB,
        handler: async (event, context) => {
          if (event.stream === 'order-0') takerEpochs.add(context.lease?.epoch);
          await harness.sink.write(context.tx, String(event.position), ++sequence);
        },
      });
      await b.start();
      // It counts the stalled member out and takes the stuck partition's lease, which the
      // stalled member's clock still holds.
      await eventually(
        async () => (await main.storage.leases.get(a.partitionName(stuck)))?.owner === b.owner,
        'the takeover of the stuck partition',
      );
      expect(b.status.members).toEqual(['m-b']);
      const after = await main.storage.leases.get(a.partitionName(stuck));
      expect(after?.epoch).toBeGreaterThan(before?.epoch ?? Number.POSITIVE_INFINITY);
      release();
      await expectHandledOnceInOrder(head);
      // The stalled runner finished its event, but its commit was refused: the taker's stands.
      await eventually(
        () => !a.status.partitions.some((p) => p.partition === stuck && p.running),
        'the stalled runner to let go',
      );
      expect(stalledAt).toBeGreaterThan(0);
      expect(committedByA.has(stalledAt)).toBe(false);
      // The taker handled the stuck partition under its own, higher epoch.
      expect([...takerEpochs]).toEqual([after?.epoch]);
    });

    it('starts every partition from where the group began, even ones started later', async () => {
      await append(12);
      const [pa, pb] = await openMany('a', 'b');
      const a = member('m-a', pa, { from: 'end' });
      await a.start();
      await eventually(() => settled([a.status], 1), 'running');
      const before = await main.store.headPosition();
      // A later member with another start point changes nothing: the group's is stored.
      const b = member('m-b', pb, { from: 'start' });
      await b.start();
      await eventually(() => settled([a.status, b.status], 2), 'a settled pair');
      const head = await append(24);
      await eventually(
        async () => (await harness.sink.read(main.store)).size >= head - before,
        'the new events',
      );
      const rows = await harness.sink.read(main.store);
      expect([...rows.keys()].map(Number).sort((x, y) => x - y)).toEqual(
        Array.from({ length: head - before }, (_, i) => before + i + 1),
      );
      expect((await main.membership.definition(GROUP))?.startAfter).toBe(before);
    });

    it('parks per partition; the group lists, counts, retries and skips parked events', async () => {
      let failing = true;
      const head = await append(24);
      const [pa] = await openMany('a');
      const a = member('m-a', pa, {
        handler: recording((event) =>
          failing && (event.position === 5 || event.position === 9)
            ? nack.park(`no ${event.position}`)
            : undefined,
        ),
      });
      await a.start();
      await eventually(async () => (await a.parkedCount()) === 2, 'two parked');
      const parked = await a.listParked();
      expect(parked.map((p) => p.position)).toEqual([5, 9]);
      expect(parked.map((p) => p.subscription)).toEqual(
        parked.map((p) => a.partitionName(a.partitionOf(p.stream))),
      );
      expect((await a.listParked({ limit: 1 })).map((p) => p.position)).toEqual([5]);
      failing = false;
      expect(await a.retryParked([5])).toBe(1);
      expect(await a.skipParked([9])).toBe(1);
      await eventually(async () => (await a.parkedCount()) === 0, 'nothing parked');
      await eventually(
        async () => (await harness.sink.read(main.store)).size === head - 1,
        'every effect but the skipped one',
      );
      expect((await harness.sink.read(main.store)).has('9')).toBe(false);
    });

    it("reads only its partitions' events from the store by default; a custom key reads everything", async () => {
      const head = await append(96);
      const [pa, pb] = await openMany('a', 'b');
      const pushed = new CountingStore(pa.store);
      const a = member('m-a', pa, { source: pushed });
      await a.start();
      await eventually(
        () =>
          a.status.partitions.length === PARTITIONS &&
          a.status.partitions.every((p) => p.position === head),
        'the default group at the head',
      );
      // Each partition took from the store exactly the events of its streams.
      const events = await collect(main.store.readAll());
      for (let p = 0; p < PARTITIONS; p++)
        expect(pushed.yielded.get(p) ?? 0, `partition ${p}`).toBe(
          events.filter((e) => partitionOf(e.stream, PARTITIONS) === p).length,
        );
      expect(pushed.yielded.has(-1)).toBe(false);
      await a.stop();

      // A custom key (here the stream's number mod 5) cannot be pushed down: each partition
      // reads every event and keeps its share, and each key's events still go to one partition.
      const keyOf = (event: RecordedEvent) => `k${Number(event.stream.split('-')[1]) % 5}`;
      const unpushed = new CountingStore(pb.store);
      const seen = new Map<number, Set<string>>();
      const byKey = member('m-b', pb, {
        name: 'keyed',
        source: unpushed,
        partitionKey: keyOf,
        handler: (event, ctx) => {
          const p = Number(ctx.subscription.split('#')[1]);
          const set = seen.get(p) ?? new Set<string>();
          set.add(keyOf(event));
          seen.set(p, set);
        },
      });
      await byKey.start();
      await eventually(
        () =>
          byKey.status.partitions.length === PARTITIONS &&
          byKey.status.partitions.every((p) => p.position === head),
        'the keyed group at the head',
      );
      expect(unpushed.yielded.get(-1)).toBe(head * PARTITIONS);
      const keys = [...seen.values()].flatMap((set) => [...set]);
      expect(new Set(keys).size).toBe(keys.length);
      for (const [p, set] of seen)
        for (const key of set) {
          expect(fnv1a32(key) % PARTITIONS).toBe(p);
          expect(byKey.partitionOfEvent({ ...events[0]!, stream: `order-${key.slice(1)}` })).toBe(
            p,
          );
        }
    });

    it('refuses a changed partition count, a member id in use, and bad options', async () => {
      const [pa, pb, pc] = await openMany('a', 'b', 'c');
      const a = member('m-a', pa);
      await a.start();
      const wrongCount = member('m-b', pb, { partitions: PARTITIONS + 1 });
      const error = await wrongCount.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PartitionCountMismatchError);
      expect(error).toMatchObject({
        code: ConsumerGroupErrorCode.GROUP_PARTITIONS_MISMATCH,
        group: GROUP,
        stored: PARTITIONS,
        requested: PARTITIONS + 1,
      });
      expect(wrongCount.status).toMatchObject({ state: 'stopped', error, partitions: [] });

      const twin = member('m-a', pc);
      const inUse = await twin.start().catch((e: unknown) => e);
      expect(inUse).toBeInstanceOf(MemberIdInUseError);
      expect(inUse).toMatchObject({ code: ConsumerGroupErrorCode.MEMBER_ID_IN_USE, member: 'm-a' });
      expect(twin.status.state).toBe('stopped');
      // The refused twin took nothing from the running member.
      expect(a.status.running).toBe(true);
      expect(
        (await main.membership.members(GROUP, Date.now())).map((m) => m.instance),
      ).toHaveLength(1);

      const { storage, membership } = main;
      const base = { name: 'g', partitions: 4, storage, membership, handler: () => undefined };
      expect(() => new ConsumerGroup({ ...base, partitions: 0 })).toThrow(/partitions/);
      expect(() => new ConsumerGroup({ ...base, name: 'x'.repeat(191) })).toThrow(/name/);
      expect(() => new ConsumerGroup({ ...base, memberId: '' })).toThrow(/memberId/);
      expect(() => new ConsumerGroup({ ...base, membership: {} as GroupMembershipStore })).toThrow(
        /membership/,
      );
      expect(
        () => new ConsumerGroup({ ...base, leaseTtlMs: 1000, heartbeatIntervalMs: 500 }),
      ).toThrow(/heartbeatIntervalMs/);
      expect(() => new ConsumerGroup({ ...base, batchSize: 0 })).toThrow(/batchSize/);
      expect(
        // @ts-expect-error -- a key that is not a function, as from untyped configuration
        () => new ConsumerGroup({ ...base, partitionKey: 'customer' }),
      ).toThrow(/partitionKey/);
    });
  });
}
