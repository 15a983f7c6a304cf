import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type EventStore, type LeaseStore } from '@causewayjs/core';
import { postgresSubscriptionStorage } from '@causewayjs/postgres';
import { LineMember, splitLine, until as waitUntil } from '../support/member-processes.js';
import { dropSchema, pgAvailable, randomSchemaName } from '../support/postgres.js';
import { GROUP, type KeyMode, openScaleBackend, type ScaleBackend } from './scale-backend.js';

const workerScript = fileURLToPath(new URL('./scale-worker.ts', import.meta.url));
const available = await pgAvailable();

const PARTITIONS = 8;
/**
 * Member and lease expiry: short, so that takeovers are quick, but above the pauses of a
 * loaded machine (a member that misses its heartbeats for longer is counted out).
 */
const TTL_MS = 2000;
const HEARTBEAT_MS = 200;
const STREAMS = 40;
/**
 * How long any one wait may take. Each test takes a few seconds on an idle machine; the
 * allowance (and the tests' own timeout) is for a CI runner busy with other work, where
 * starting a child process through tsx alone can take many seconds.
 */
const WAIT_MS = 120_000;
const TEST_TIMEOUT_MS = 240_000;

/** A member's view, as its process printed it. */
interface View {
  t: number;
  state: string;
  members: string[];
  assigned: number[];
  running: number[];
}

/** A member in a child process (tsx), and what it has printed so far. */
class Worker extends LineMember {
  view: View | undefined;
  written = 0;
  readonly lost = new Set<number>();

  constructor(
    readonly id: string,
    schema: string,
    options: { delayMs: number; keyMode?: KeyMode },
  ) {
    super(workerScript, [
      schema,
      id,
      String(PARTITIONS),
      String(TTL_MS),
      String(HEARTBEAT_MS),
      String(options.delayMs),
      options.keyMode ?? 'stream',
    ]);
  }

  protected onLine(line: string): void {
    const { what, rest } = splitLine(line);
    if (what === 'status') this.view = JSON.parse(rest) as View;
    else if (what === 'written') this.written = Number(rest);
    else if (what === 'lost') this.lost.add(Number(rest));
  }

  /** Running exactly its assigned partitions, in a group of `members`. */
  settledAmong(members: string[]): boolean {
    const v = this.view;
    return (
      v !== undefined &&
      v.state === 'running' &&
      v.members.join() === [...members].sort().join() &&
      v.running.join() === v.assigned.join()
    );
  }

  /** Stops the member cleanly and checks that it exited so. */
  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    expect(await this.exited, `${this.id}: ${this.stderr}`).toEqual({ code: 0, signal: null });
  }
}

/** Resolves once `check` holds, polling; fails after `timeoutMs` naming `what`. */
const until = (
  check: () => boolean | Promise<boolean>,
  what: string,
  workers: Worker[],
  timeoutMs = WAIT_MS,
): Promise<void> =>
  waitUntil(check, {
    what,
    timeoutMs,
    detail: () => workers.map((w) => `${w.id}: ${JSON.stringify(w.view)} ${w.stderr}`).join('\n'),
  });

/** Every partition run exactly once between `workers`, each settled among them. */
function settled(workers: Worker[]): boolean {
  const ids = workers.map((w) => w.id);
  const running = workers.flatMap((w) => w.view?.running ?? []).sort((a, b) => a - b);
  return (
    workers.every((w) => w.settledAmong(ids)) &&
    running.join() === Array.from({ length: PARTITIONS }, (_, i) => i).join()
  );
}

/** Appends `count` events, ten streams per append; the data depends only on the position. */
async function appendEvents(store: EventStore, count: number): Promise<number> {
  const head = await store.headPosition();
  for (let i = head; i < head + count; i += 10) {
    await store.appendMany(
      Array.from({ length: Math.min(10, head + count - i) }, (_, j) => ({
        stream: `account-${(i + j) % STREAMS}`,
        events: [
          {
            type: 'money.moved',
            data: { amount: (((i + j) * 7) % 13) + 1, customer: (i + j) % 11 },
          },
        ],
      })),
    );
  }
  return store.headPosition();
}

/**
 * Every event's effect committed exactly once (the unique position refuses a second one, and
 * none is missing), each stream's effects in revision order, each partition's lease epochs
 * never going back in write order, and nothing parked.
 */
async function expectExactlyOnceInOrder(backend: ScaleBackend, head: number): Promise<void> {
  const rows = await backend.effects();
  expect(rows.map((r) => r.position).sort((a, b) => a - b)).toEqual(
    Array.from({ length: head }, (_, i) => i + 1),
  );
  const revisions = new Map<string, number[]>();
  for (const row of rows)
    revisions.set(row.stream, [...(revisions.get(row.stream) ?? []), row.revision]);
  expect(revisions.size).toBe(STREAMS);
  for (const [stream, list] of revisions)
    expect(list, stream).toEqual(Array.from({ length: list.length }, (_, i) => i));
  expect(await backend.parkedCount(PARTITIONS)).toBe(0);
}

describe.skipIf(!available)(
  'consumer group across processes on PostgreSQL: kills, stalls, joins',
  () => {
    const workers: Worker[] = [];
    const backends: ScaleBackend[] = [];
    const schemas: string[] = [];

    const open = async () => {
      const schema = randomSchemaName();
      schemas.push(schema);
      const backend = await openScaleBackend(schema);
      backends.push(backend);
      await backend.setup();
      // The group's tables exist before the members race to make them.
      await postgresSubscriptionStorage(backend.store);
      return { schema, backend };
    };
    const start = (id: string, schema: string, delayMs: number, keyMode?: KeyMode) => {
      const w = new Worker(id, schema, { delayMs, keyMode });
      workers.push(w);
      return w;
    };

    afterEach(async () => {
      for (const w of workers)
        if (w.child.exitCode === null && w.child.signalCode === null) {
          w.child.kill('SIGCONT');
          w.child.kill('SIGKILL');
        }
      await Promise.all(workers.splice(0).map((w) => w.exited));
      await Promise.all(backends.splice(0).map((b) => b.close()));
      await Promise.all(schemas.splice(0).map((s) => dropSchema(s)));
    }, TEST_TIMEOUT_MS);

    it(
      'SIGKILL of a member during catch-up and of another during live processing: nothing lost or doubled, per-stream order kept',
      async () => {
        const { schema, backend } = await open();
        await appendEvents(backend.store, 1200);
        const all = ['w1', 'w2', 'w3', 'w4'].map((id) => start(id, schema, 2));
        await until(() => settled(all), 'four balanced members', all);
        const [w1, w2, w3, w4] = all as [Worker, Worker, Worker, Worker];

        // Catch-up: killed with work in hand.
        await until(() => w2.written >= 40, 'w2 mid-way through its catch-up', all);
        w2.child.kill('SIGKILL');
        expect((await w2.exited).signal).toBe('SIGKILL');
        const three = [w1, w3, w4];
        await until(() => settled(three), 'the three survivors to take over', three);
        let head = await backend.store.headPosition();
        await until(async () => (await backend.count()) >= head, 'the catch-up', three);

        // Live: events arrive while another member dies.
        const writing = appendEvents(backend.store, 600);
        const before = w3.written;
        await until(() => w3.written >= before + 20, 'w3 handling live events', three);
        w3.child.kill('SIGKILL');
        expect((await w3.exited).signal).toBe('SIGKILL');
        const two = [w1, w4];
        await until(() => settled(two), 'the two survivors to take over', two);
        await writing;
        head = await backend.store.headPosition();
        await until(async () => (await backend.count()) >= head, 'every event handled', two);
        for (const w of two) await w.stop();
        await expectExactlyOnceInOrder(backend, head);
        for (const w of two) expect(w.stderr).toBe('');
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'SIGSTOP of a member mid-transaction: the other takes over; after SIGCONT its late commit is refused',
      async () => {
        const { schema, backend } = await open();
        const { leases }: { leases: LeaseStore } = await postgresSubscriptionStorage(backend.store);
        const head = await appendEvents(backend.store, 500);
        const stale = start('stale', schema, 20);
        const taker = start('taker', schema, 20);
        const both = [stale, taker];
        await until(() => settled(both), 'two balanced members', both);
        const partitions = stale.view?.assigned ?? [];
        const before = new Map<number, number>();
        for (const p of partitions) before.set(p, (await leases.get(`${GROUP}#${p}`))?.epoch ?? 0);
        // Right after a row is written the handler pauses inside its transaction.
        const at = stale.written;
        await until(() => stale.written > at, 'the stale member mid-transaction', both);
        stale.child.kill('SIGSTOP');
        // Its membership and leases expire; the taker takes at least one of its partitions under a
        // higher epoch (one whose commit the stale member was in the middle of may have to wait).
        await until(
          async () => {
            for (const p of partitions) {
              const lease = await leases.get(`${GROUP}#${p}`);
              if (lease?.owner.startsWith('taker/') && lease.epoch > (before.get(p) ?? 0))
                return true;
            }
            return false;
          },
          'the takeover of the stale member’s partitions',
          [taker],
        );
        stale.child.kill('SIGCONT');
        await until(() => stale.lost.size > 0, 'the stale member to find its lease lost', both);
        await until(async () => (await backend.count()) >= head, 'every event handled', both);
        await until(() => settled(both), 'the stale member to rejoin', both);
        for (const w of both) await w.stop();
        await expectExactlyOnceInOrder(backend, head);
        // Nobody's handler failed: a late commit by the stale member would have made the taker's
        // insert of the same event fail.
        for (const w of both) expect(w.stderr).toBe('');
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'a member joining mid-run takes its share at once; nothing lost or doubled',
      async () => {
        const { schema, backend } = await open();
        await appendEvents(backend.store, 400);
        const first = [start('a', schema, 1), start('b', schema, 1)];
        await until(() => settled(first), 'two balanced members', first);
        // Events keep coming until the newcomer has taken its share, and some more after.
        let writing = true;
        const writer = (async () => {
          while (writing) await appendEvents(backend.store, 20);
        })();
        const c = start('c', schema, 1);
        const three = [...first, c];
        try {
          await until(() => settled(three), 'three balanced members', three);
        } finally {
          writing = false;
          await writer;
        }
        expect(c.view?.assigned.length).toBeGreaterThanOrEqual(2);
        const before = c.written;
        await appendEvents(backend.store, 300);
        await until(() => c.written > before, 'the newcomer to handle its share', three);
        const head = await backend.store.headPosition();
        await until(async () => (await backend.count()) >= head, 'every event handled', three);
        for (const w of three) await w.stop();
        await expectExactlyOnceInOrder(backend, head);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'the same partitioned read model (keyed by customer, not stream) is byte-identical with 1 and 4 processes',
      async () => {
        const one = await open();
        const four = await open();
        const single = [start('solo', one.schema, 0, 'customer')];
        await until(() => settled(single), 'one member running', single);
        const many = ['p1', 'p2', 'p3', 'p4'].map((id) => start(id, four.schema, 0, 'customer'));
        await until(() => settled(many), 'four balanced members', many);
        const head = await appendEvents(one.backend.store, 900);
        expect(await appendEvents(four.backend.store, 900)).toBe(head);
        await until(async () => (await one.backend.count()) >= head, 'one process done', single);
        await until(async () => (await four.backend.count()) >= head, 'four processes done', many);
        for (const w of [...single, ...many]) await w.stop();
        const members = new Set((await four.backend.effects()).map((r) => r.member));
        expect(members.size).toBeGreaterThan(1);
        const model = await one.backend.readModel();
        expect(JSON.parse(model)).toHaveLength(11);
        expect(await four.backend.readModel()).toBe(model);
      },
      TEST_TIMEOUT_MS,
    );
  },
);
