/**
 * Stream-job scale-out: Nexmark q5 (two partitioned stages) and q11 as partitioned jobs on
 * PostgreSQL, run by 1, 2 and 4 member processes; events/s from the moment every member holds
 * its partitions to the moment every partition has committed the end of event time, and the
 * speed-up of 2 and 4 members against 1 in the same run (trials interleaved run by run).
 * Member processes live across trials (start-up is never timed); each trial has its own
 * schema. `npm run bench -- stream-scale [--quick] [--runs N] [--events N] [--partitions N]`
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, escapeIdentifier } from 'pg';
import { END_OF_EVENT_TIME, assignPartitions, partitionCheckpoints } from '@causewayjs/core';
import { PostgresEventStore, postgresBackendOf } from '@causewayjs/postgres';
import { barResult, formatBars, type BarSpec } from './lib/bars.js';
import { parseBenchArgs } from './lib/options.js';
import { DEFAULT_POSTGRES_URL, writeResults } from './lib/results.js';
import { formatCount, formatTable } from './lib/table.js';
import { median } from './lib/timing.js';
import {
  last,
  type Member,
  send,
  spawnMember as spawnScaleMember,
  until as untilMs,
} from './scale/members.js';

const url = process.env.CAUSEWAY_PG_URL ?? DEFAULT_POSTGRES_URL;
const worker = fileURLToPath(new URL('./stream-scale/worker.ts', import.meta.url));
const MEMBER_COUNTS = [1, 2, 4] as const;
const CONFIG = { seed: 3, eventsPerSecond: 1000 };
/** The partitioned jobs the members run, by query. */
const STAGES = { q11: ['nexmark-q11'], q5: ['nexmark-q5-counts', 'nexmark-q5'] } as const;
type Query = keyof typeof STAGES;

const spawnMember = (name: string): Member => spawnScaleMember(name, worker);

/** Resolves once `check` holds, polling every 10 ms; fails after `ms`. */
const until = (check: () => boolean | Promise<boolean>, ms: number, what: string) =>
  untilMs(check, { ms, what });

async function pg(text: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** One trial: `members` of the pool run `query` over `events` events; returns seconds. */
async function trial(o: {
  pool: Member[];
  members: number;
  query: Query;
  events: number;
  partitions: number;
}): Promise<number> {
  const schema = `causeway_bench_scale_${randomBytes(5).toString('hex')}`;
  const backend = postgresBackendOf(
    await PostgresEventStore.open(url, { schema, maxConnections: 2 }),
  );
  try {
    const checkpoints = await backend.streamStateStore();
    await backend.subscriptionStorage();
    await backend.groupMembership();
    const used = o.pool.slice(0, o.members);
    for (const m of used) m.lines.length = 0;
    for (const m of used)
      send(m, {
        cmd: 'start',
        url,
        schema,
        member: m.name,
        partitions: o.partitions,
        count: o.events,
        config: CONFIG,
        batchSize: 500,
        queries: [o.query],
      });
    // Ready: every member runs exactly its share of every stage, every partition held.
    const share = assignPartitions(
      used.map((m) => m.name),
      o.partitions,
    );
    const stages = STAGES[o.query];
    await until(
      () =>
        used.every((m) => {
          const mine = share.get(m.name) ?? [];
          return (
            stages.every((s) => last(m, `assigned ${s} `) === `assigned ${s} ${mine.join(',')}`) &&
            last(m, 'running ') === `running ${mine.length * stages.length}`
          );
        }),
      120_000,
      'the members to settle',
    );
    const t0 = performance.now();
    for (const m of used) send(m, { cmd: 'go' });
    await until(
      async () => {
        for (const s of stages)
          for (const c of await partitionCheckpoints(checkpoints, s, o.partitions))
            if (c.watermark !== END_OF_EVENT_TIME) return false;
        return true;
      },
      600_000,
      'the end of event time',
    );
    const seconds = (performance.now() - t0) / 1000;
    for (const m of used) send(m, { cmd: 'stop' });
    await until(
      () => used.every((m) => m.lines.includes('stopped')),
      60_000,
      'the members to stop',
    );
    return seconds;
  } finally {
    await backend.close();
    await pg(`DROP SCHEMA IF EXISTS ${escapeIdentifier(schema)} CASCADE`);
  }
}

export async function run(argv: readonly string[]): Promise<void> {
  const { quick, runs, values } = parseBenchArgs(argv, {
    events: { type: 'string' },
    partitions: { type: 'string' },
  });
  const events = Number(values.events ?? (quick ? 3_000 : 20_000));
  const partitions = Number(values.partitions ?? 8);
  const pool = Array.from({ length: Math.max(...MEMBER_COUNTS) }, (_, i) =>
    spawnMember(`member-${i}`),
  );
  const raw: {
    run: number;
    query: Query;
    members: number;
    seconds: number;
    eventsPerSecond: number;
  }[] = [];
  try {
    for (let r = 0; r < runs; r++)
      for (const query of Object.keys(STAGES) as Query[])
        // Interleaved, and the order turned each run, so load drift spreads over all counts.
        for (const members of r % 2 === 0 ? MEMBER_COUNTS : [...MEMBER_COUNTS].reverse()) {
          const seconds = await trial({ pool, members, query, events, partitions });
          raw.push({ run: r, query, members, seconds, eventsPerSecond: events / seconds });
          process.stdout.write(
            `run ${r + 1}/${runs} ${query} ${members} member(s): ${formatCount(events / seconds)} events/s\n`,
          );
        }
  } finally {
    for (const m of pool) m.child.kill('SIGTERM');
  }
  const rate = (query: Query, members: number) =>
    raw.filter((x) => x.query === query && x.members === members);
  const rows = (Object.keys(STAGES) as Query[]).flatMap((query) =>
    MEMBER_COUNTS.map((members) => [
      query,
      String(members),
      formatCount(median(rate(query, members).map((x) => x.eventsPerSecond))),
    ]),
  );
  console.log(
    formatTable(
      [{ header: 'query' }, { header: 'members' }, { header: 'events/s (median)', align: 'right' }],
      rows,
    ),
  );
  const bars = (Object.keys(STAGES) as Query[]).flatMap((query) =>
    ([2, 4] as const).map((members) => {
      const spec: BarSpec = {
        id: `postgres.${query}.${members}-vs-1`,
        label: `${query}, ${members} members vs 1 (${partitions} partitions, ${events} events)`,
        adapter: 'postgres',
        // Two cores: more than one process can at best use both. The bar asks that adding
        // members does not slow the job down; the speed-up beyond is what the cores allow.
        bar: 1,
        comparator: '>=',
        unit: 'x',
      };
      const ratios = Array.from({ length: runs }, (_, r) => {
        const one = raw.find((x) => x.run === r && x.query === query && x.members === 1);
        const many = raw.find((x) => x.run === r && x.query === query && x.members === members);
        return one && many ? many.eventsPerSecond / one.eventsPerSecond : Number.NaN;
      });
      return barResult(spec, ratios);
    }),
  );
  console.log(formatBars(bars, runs));
  const file = await writeResults('stream-scale', {
    quick,
    runs,
    bars,
    events,
    partitions,
    perRun: raw,
  });
  console.log(`results: ${file}`);
}
