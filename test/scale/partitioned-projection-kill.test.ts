// A partitioned projection in three processes on PostgreSQL, one SIGKILLed mid-run: the read
// model must come out as the log dictates (every event applied once, each customer's events
// in log order), its partitions taken over by the survivors.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type EventStore, partitionOf, Projector, type RecordedEvent } from '@causewayjs/core';
import {
  PostgresEventStore,
  type PostgresReadModel,
  postgresGroupMembership,
  postgresProjectionStore,
} from '@causewayjs/postgres';
import { LineMember, until as waitUntil } from '../support/member-processes.js';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';
import {
  KILL_PARTITIONS,
  KILL_PROJECTION,
  customerKey,
  customerTotals,
} from './partitioned-projection.js';

const workerScript = fileURLToPath(new URL('./partitioned-projection-worker.ts', import.meta.url));
const STREAMS = 40;
const CUSTOMERS = 23;
/** Allowance for each wait on a busy runner, where starting a tsx child takes many seconds. */
const WAIT_MS = 120_000;

/** A projector in a child process, and what it has printed so far. */
class Worker extends LineMember {
  running: number[] = [];
  applied = 0;

  constructor(
    readonly id: string,
    schema: string,
  ) {
    super(workerScript, [schema, id]);
  }

  protected onLine(line: string): void {
    const [what, rest = ''] = line.split(' ', 2);
    if (what === 'running') this.running = JSON.parse(rest) as number[];
    else if (what === 'applied') this.applied = Number(rest);
  }
}

/** Resolves once `check` holds, polling; fails after WAIT_MS naming `what`. */
const until = (
  check: () => boolean | Promise<boolean>,
  what: string,
  workers: Worker[],
): Promise<void> =>
  waitUntil(check, {
    what,
    timeoutMs: WAIT_MS,
    detail: () =>
      workers.map((w) => `${w.id}: ${JSON.stringify(w.running)} ${w.stderr}`).join('\n'),
  });

/** Every partition run once between `workers`. */
function covered(workers: Worker[]): boolean {
  const running = workers.flatMap((w) => w.running).sort((a, b) => a - b);
  return running.join() === Array.from({ length: KILL_PARTITIONS }, (_, i) => i).join();
}

async function appendEvents(store: EventStore, count: number): Promise<void> {
  const head = await store.headPosition();
  for (let i = head; i < head + count; i += 10) {
    await store.appendMany(
      Array.from({ length: 10 }, (_, j) => ({
        stream: `account-${(i + j) % STREAMS}`,
        events: [
          {
            type: 'money.moved',
            data: { customer: ((i + j) * 7) % CUSTOMERS, amount: ((i + j) % 11) + 1 },
          },
        ],
      })),
    );
  }
}

describe('partitioned projection in 3 processes, one SIGKILLed mid-run', () => {
  it(
    'PostgreSQL: every event applied once, each key in log order, partitions taken over',
    { timeout: 300_000 },
    async (ctx) => {
      if (!(await pgAvailable())) ctx.skip();
      const schema = randomSchemaName();
      const store = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 4 });
      const workers: Worker[] = [];
      try {
        // The parent's projector is never started: it reads status and the read model.
        const parent = new Projector({
          store: await postgresProjectionStore(store),
          projections: [customerTotals('parent', () => undefined, 0)],
          partitions: {
            count: KILL_PARTITIONS,
            membership: await postgresGroupMembership(store),
            partitionKey: customerKey,
          },
        });
        await appendEvents(store, 300);
        workers.push(...['w1', 'w2', 'w3'].map((id) => new Worker(id, schema)));
        await until(
          () => workers.every((w) => w.running.length === 2) && covered(workers),
          'three balanced members',
          workers,
        );
        const writing = appendEvents(store, 600);
        const [first, victim, third] = workers as [Worker, Worker, Worker];
        await until(() => victim.applied >= 30, 'the victim to be mid-way', workers);
        const victimPartitions = victim.running;
        victim.child.kill('SIGKILL');
        expect((await victim.exited).signal).toBe('SIGKILL');
        const survivors = [first, third];
        await until(
          () => survivors.every((w) => w.running.length === 3) && covered(survivors),
          'the survivors to take over',
          survivors,
        );
        await writing;
        const head = await store.headPosition();
        await parent.waitFor(KILL_PROJECTION, head, { timeoutMs: WAIT_MS });

        const status = await parent.status(KILL_PROJECTION);
        expect(status.position).toBe(head);
        expect(status.parked).toBe(0);
        expect(status.partitions).toHaveLength(KILL_PARTITIONS);
        const { data } = await parent.query(KILL_PROJECTION, async (rm: PostgresReadModel) => {
          const keys = await rm.client.query<{ key: string; total: string; positions: string[] }>(
            `SELECT key, total, positions FROM ${rm.table()} ORDER BY key`,
          );
          const applied = await rm.client.query<{ position: string; member: string }>(
            `SELECT position, member FROM ${rm.table('applied')} ORDER BY position`,
          );
          return { keys: keys.rows, applied: applied.rows };
        });
        for (const w of survivors) w.child.kill('SIGTERM');
        for (const w of survivors) expect(await w.exited).toEqual({ code: 0, signal: null });

        // What a single process would produce, from the log: each key's positions in order.
        const events: RecordedEvent[] = [];
        for await (const e of store.readAll({ from: 1 })) events.push(e);
        const expected = new Map<string, { total: number; positions: number[] }>();
        for (const e of events) {
          const row = expected.get(customerKey(e)) ?? { total: 0, positions: [] };
          row.total += (e.data as { amount: number }).amount;
          row.positions.push(e.position);
          expected.set(customerKey(e), row);
        }
        expect(
          new Map(
            data.keys.map((r) => [
              r.key,
              { total: Number(r.total), positions: r.positions.map(Number) },
            ]),
          ),
        ).toEqual(expected);
        // Every event once (the primary key refuses a second one, which would have parked).
        expect(data.applied.map((r) => Number(r.position))).toEqual(
          Array.from({ length: head }, (_, i) => i + 1),
        );
        // The victim's partitions: it applied some of their events, the survivors the rest.
        const byPosition = new Map(data.applied.map((r) => [Number(r.position), r.member]));
        const inVictims = events.filter((e) =>
          victimPartitions.includes(partitionOf(customerKey(e), KILL_PARTITIONS)),
        );
        expect(inVictims.some((e) => byPosition.get(e.position) === victim.id)).toBe(true);
        expect(inVictims.some((e) => byPosition.get(e.position) !== victim.id)).toBe(true);
      } finally {
        for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
        await Promise.all(workers.map((w) => w.exited));
        await store.close();
        await dropSchema(schema);
      }
    },
  );
});
