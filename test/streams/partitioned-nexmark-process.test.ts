// Nexmark q5 (two keyed stages) and q11 (one) as partitioned stream jobs on PostgreSQL, run by
// member processes: with 1 member and with 4, with a member SIGKILLed mid-run, and with a
// member joining mid-run, the results appended to the store are byte for byte those of a
// single in-memory run (none lost, none twice).
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  END_OF_EVENT_TIME,
  StreamJob,
  arraySource,
  assignPartitions,
  collectSink,
  partitionCheckpoints,
} from '@causewayjs/core';
import { PostgresEventStore, postgresBackendOf, type PostgresBackend } from '@causewayjs/postgres';
import { NexmarkGenerator } from '../../examples/nexmark/generator.js';
import { PARTITIONED_TYPES, canonicalResults } from '../../examples/nexmark/partitioned.js';
import { q5Counts } from '../../examples/nexmark/queries.js';
import { runQuery } from '../../examples/nexmark/run-query.js';
import { spawnMemberProcess } from '../support/member-processes.js';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

const available = await pgAvailable();
const worker = fileURLToPath(new URL('./support/nexmark-member.ts', import.meta.url));

const CONFIG = { seed: 11, eventsPerSecond: 250 };
const COUNT = 4_000;
const PARTITIONS = 4;
const BATCH = 400;
/** Where held members stop reading until let go: the middle of the run. */
const HOLD = 2_000;
/** The partitioned jobs a member runs (see examples/nexmark/partitioned.ts). */
const FIRST_STAGES = ['nexmark-q11', 'nexmark-q5-counts'];
const ALL_STAGES = [...FIRST_STAGES, 'nexmark-q5'];

/** What a single in-memory run gives: q11's sessions, q5's results and q5's counts. */
async function singleRun(): Promise<Record<keyof typeof PARTITIONED_TYPES, string>> {
  const events = new NexmarkGenerator(CONFIG).events(0, COUNT);
  const counts = collectSink();
  const job = new StreamJob({
    name: 'counts',
    source: arraySource(events),
    timestamp: (e) => e.dateTime,
    maxFutureMs: Number.POSITIVE_INFINITY,
  });
  q5Counts(job.input).to(counts);
  await job.run();
  return {
    q11: canonicalResults((await runQuery('q11', events)).results),
    q5: canonicalResults((await runQuery('q5', events)).results),
    q5Counts: canonicalResults(counts.items),
  };
}

interface Member {
  name: string;
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startMember(schema: string, name: string, holdAt?: number): Member {
  const options = {
    url: pgUrl,
    schema,
    member: name,
    partitions: PARTITIONS,
    count: COUNT,
    config: CONFIG,
    holdAt,
    batchSize: BATCH,
  };
  const lines: string[] = [];
  const member = spawnMemberProcess({
    script: worker,
    args: [JSON.stringify(options)],
    onLine: (line) => lines.push(line),
  });
  return { name, child: member.child, lines, stderr: () => member.stderr, exit: member.exited };
}

/** The partitions a member last said it runs of `job`. */
function assigned(member: Member, job: string): number[] | undefined {
  const line = member.lines.filter((l) => l.startsWith(`assigned ${job} `)).at(-1);
  if (line === undefined) return undefined;
  const list = line.slice(`assigned ${job} `.length);
  return list === '' ? [] : list.split(',').map(Number);
}

// Each test starts member processes (each loads the sources through tsx: seconds on a busy
// machine) and waits for takeovers that follow real lease and membership timeouts.
const TEST_TIMEOUT = 120_000;

describe.skipIf(!available)('partitioned Nexmark jobs across processes (PostgreSQL)', () => {
  const members: Member[] = [];
  const schemas: string[] = [];
  const backends: PostgresBackend[] = [];
  let reference: Awaited<ReturnType<typeof singleRun>> | undefined;

  afterEach(async () => {
    for (const m of members.splice(0)) if (m.child.exitCode === null) m.child.kill('SIGKILL');
    for (const b of backends.splice(0)) await b.close();
    for (const s of schemas.splice(0)) await dropSchema(s);
  });

  /** A fresh schema with every table the members use made (not by four members at once). */
  async function openSchema(): Promise<{ schema: string; backend: PostgresBackend }> {
    const schema = randomSchemaName();
    schemas.push(schema);
    const backend = postgresBackendOf(
      await PostgresEventStore.open(pgUrl, { schema, maxConnections: 2 }),
    );
    backends.push(backend);
    await backend.streamStateStore();
    await backend.subscriptionStorage();
    await backend.groupMembership();
    return { schema, backend };
  }

  const start = (schema: string, name: string, holdAt?: number) => {
    const m = startMember(schema, name, holdAt);
    members.push(m);
    return m;
  };

  /** Each stage's partition checkpoints, as positions and watermarks. */
  async function progress(backend: PostgresBackend, stages: string[]) {
    const checkpoints = await backend.streamStateStore();
    const each = await Promise.all(
      stages.map(async (s) =>
        (await partitionCheckpoints(checkpoints, s, PARTITIONS)).map((c) => ({
          ...c,
          name: `${s}#${c.partition}`,
        })),
      ),
    );
    return each.flat();
  }

  /** Waits for every stage to reach the end of event time, stops the members, compares. */
  async function finishAndCompare(backend: PostgresBackend): Promise<void> {
    // The partitions not yet at the end of event time, with where they are (shown on failure).
    await expect
      .poll(
        async () =>
          (await progress(backend, ALL_STAGES))
            .filter((c) => c.watermark !== END_OF_EVENT_TIME)
            .map((c) => `${c.name} at ${String(c.position)}`),
        { timeout: 80_000, interval: 50 },
      )
      .toEqual([]);
    for (const m of members) if (m.child.exitCode === null) m.child.kill('SIGTERM');
    for (const m of members) {
      const { code, signal } = await m.exit;
      if (signal !== 'SIGKILL')
        expect({ member: m.name, code, err: m.stderr() }).toMatchObject({ code: 0 });
    }
    reference ??= await singleRun();
    for (const key of ['q11', 'q5', 'q5Counts'] as const) {
      const got: unknown[] = [];
      for await (const e of backend.store.readAll({
        filter: { types: [PARTITIONED_TYPES[key]] },
      }))
        got.push(e.data);
      expect(got.length, key).toBeGreaterThan(10);
      expect(canonicalResults(got), key).toBe(reference[key]);
    }
  }

  it(
    'one member running every partition gives the single run’s results',
    async () => {
      const { schema, backend } = await openSchema();
      const only = start(schema, 'only');
      await expect
        .poll(() => assigned(only, 'nexmark-q11')?.length, { timeout: 60_000 })
        .toBe(PARTITIONS);
      await finishAndCompare(backend);
    },
    TEST_TIMEOUT,
  );

  it(
    'four members sharing the partitions give the single run’s results',
    async () => {
      const { schema, backend } = await openSchema();
      const four = ['a', 'b', 'c', 'd'].map((n) => start(schema, n));
      await finishAndCompare(backend);
      // Each did a share of the work once all had joined.
      for (const m of four)
        expect(
          m.lines.some((l) => /^assigned nexmark-q11 \d+$/.test(l)),
          m.name,
        ).toBe(true);
    },
    TEST_TIMEOUT,
  );

  it(
    'a member SIGKILLed mid-run: the others take its partitions over, nothing lost or doubled',
    async () => {
      const { schema, backend } = await openSchema();
      const names = ['a', 'b', 'c'];
      const three = names.map((n) => start(schema, n, HOLD));
      const share = assignPartitions(names, PARTITIONS);
      // Settled: each member runs its share of each first stage, all held at the middle.
      await expect
        .poll(
          async () => [
            ...three.flatMap((m) =>
              FIRST_STAGES.map((s) => `${m.name} ${s} ${String(assigned(m, s))}`),
            ),
            ...(await progress(backend, FIRST_STAGES)).map(
              (c) => `${c.name} at ${String(c.position)}`,
            ),
          ],
          { timeout: 60_000, interval: 50 },
        )
        .toEqual([
          ...three.flatMap((m) =>
            FIRST_STAGES.map((s) => `${m.name} ${s} ${String(share.get(m.name))}`),
          ),
          ...FIRST_STAGES.flatMap((s) =>
            Array.from({ length: PARTITIONS }, (_, p) => `${s}#${p} at ${HOLD}`),
          ),
        ]);
      const victim = three[2] as Member;
      const theirs = FIRST_STAGES.flatMap((s) =>
        (assigned(victim, s) ?? []).map((p) => `${s}#${p}`),
      );
      for (const m of three) m.child.kill('SIGUSR2');
      // Killed while its partitions are on their way from the middle to the end.
      const its = async () =>
        (await progress(backend, FIRST_STAGES)).filter((c) => theirs.includes(c.name));
      await expect
        .poll(async () => (await its()).some((c) => Number(c.position) > HOLD), {
          timeout: 60_000,
          interval: 5,
        })
        .toBe(true);
      victim.child.kill('SIGKILL');
      expect((await victim.exit).signal).toBe('SIGKILL');
      expect((await its()).some((c) => Number(c.position) < COUNT)).toBe(true);
      await finishAndCompare(backend);
    },
    TEST_TIMEOUT,
  );

  it(
    'a member joining mid-run takes partitions over where they were',
    async () => {
      const { schema, backend } = await openSchema();
      const first = start(schema, 'first', HOLD);
      await expect
        .poll(
          async () =>
            FIRST_STAGES.every((s) => assigned(first, s)?.length === PARTITIONS) &&
            (await progress(backend, FIRST_STAGES)).every((c) => c.position === HOLD),
          { timeout: 60_000, interval: 50 },
        )
        .toBe(true);
      const second = start(schema, 'second');
      // The first member has seen it and given partitions up; then it is let go.
      await expect
        .poll(
          () =>
            FIRST_STAGES.every(
              (s) => (assigned(first, s)?.length ?? PARTITIONS) === PARTITIONS / 2,
            ),
          {
            timeout: 60_000,
            interval: 20,
          },
        )
        .toBe(true);
      first.child.kill('SIGUSR2');
      await finishAndCompare(backend);
      // It ran its share to the end.
      expect(FIRST_STAGES.map((s) => assigned(second, s)?.length)).toEqual([
        PARTITIONS / 2,
        PARTITIONS / 2,
      ]);
    },
    TEST_TIMEOUT,
  );
});
