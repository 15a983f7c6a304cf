/**
 * Work distribution over NATS JetStream: messages/s handled by a bus consumer group with an
 * inbox in PostgreSQL (one transaction per message: the effect row and the inbox record),
 * run by 1, 2 and 4 member processes, and the speed-up of 2 and 4 against 1 in the same run
 * (trials interleaved run by run, the order turned each run). Member processes live across
 * trials (start-up is never timed); each trial has its own schema and stream, filled before
 * the members join, and is timed from the joins to the last effect committed.
 * `npm run bench -- bus-scale [--quick] [--runs N] [--messages N]`
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { escapeIdentifier } from 'pg';
import { MemoryEventStore, OutboxRelay, memorySubscriptionStorage } from '@causewayjs/core';
import { NatsMessageBus } from '@causewayjs/nats';
import { PostgresEventStore, postgresSubscriptionStorage } from '@causewayjs/postgres';
import { barResult, formatBars, type BarSpec } from './lib/bars.js';
import { parseBenchArgs } from './lib/options.js';
import { DEFAULT_POSTGRES_URL, writeResults } from './lib/results.js';
import { formatCount, formatTable } from './lib/table.js';
import { median } from './lib/timing.js';
import {
  type Member,
  send,
  spawnMember as spawnScaleMember,
  until as untilMs,
} from './scale/members.js';

const pgUrl = process.env.CAUSEWAY_PG_URL ?? DEFAULT_POSTGRES_URL;
const natsUrl = process.env.CAUSEWAY_NATS_URL ?? 'nats://127.0.0.1:4222';
const worker = fileURLToPath(new URL('./bus-scale/worker.ts', import.meta.url));
const MEMBER_COUNTS = [1, 2, 4] as const;
const PREFETCH = 32;
const WAIT_MS = 120_000;

const spawnMember = (name: string): Member => spawnScaleMember(name, worker);

/** Resolves once `check` holds, polling every 5 ms; fails after `ms`. */
const until = (check: () => boolean | Promise<boolean>, ms: number, what: string) =>
  untilMs(check, { ms, what, everyMs: 5 });

/** One trial: `members` of the pool handle `messages` messages; returns seconds. */
async function trial(o: { pool: Member[]; members: number; messages: number }): Promise<number> {
  const id = randomBytes(5).toString('hex');
  const schema = `causeway_bench_bus_${id}`;
  const stream = `BUSSCALE${id}`;
  const prefix = `busscale${id}`;
  const db = await PostgresEventStore.open(pgUrl, { schema, maxConnections: 2 });
  const bus = await NatsMessageBus.connect(natsUrl, { stream, prefix });
  const effects = `${escapeIdentifier(schema)}.effects`;
  try {
    await postgresSubscriptionStorage(db);
    await db.pool.query(
      `CREATE TABLE ${effects} (seq bigserial PRIMARY KEY, event_id text NOT NULL, member text NOT NULL)`,
    );
    // The stream filled through the relay, as in production, before any member joins.
    const source = new MemoryEventStore();
    for (let i = 0; i < o.messages; i++)
      await source.append(`job-${i % 64}`, [{ type: 'job.queued', data: { i } }]);
    const relay = new OutboxRelay({ storage: memorySubscriptionStorage(source), bus });
    await relay.start();
    await relay.waitForPosition(o.messages, { timeoutMs: WAIT_MS });
    await relay.stop();
    const used = o.pool.slice(0, o.members);
    const seen = (m: Member, line: string) => m.lines.filter((l) => l === line).length;
    const before = used.map((m) => [seen(m, 'opened'), seen(m, 'joined'), seen(m, 'closed')]);
    for (const m of used)
      send(m, {
        cmd: 'open',
        pgUrl,
        schema,
        natsUrl,
        stream,
        prefix,
        member: m.name,
        prefetch: PREFETCH,
      });
    await until(() => used.every((m, i) => seen(m, 'opened') > before[i]![0]!), WAIT_MS, 'open');
    const count = async () =>
      (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${effects}`)).rows[0]
        ?.n ?? 0;
    const started = performance.now();
    for (const m of used) send(m, { cmd: 'go' });
    await until(async () => (await count()) >= o.messages, WAIT_MS, 'every effect');
    const seconds = (performance.now() - started) / 1000;
    for (const m of used) send(m, { cmd: 'close' });
    await until(() => used.every((m, i) => seen(m, 'closed') > before[i]![2]!), WAIT_MS, 'close');
    const { rows } = await db.pool.query<{ n: number; d: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS d FROM ${effects}`,
    );
    if (rows[0]?.n !== o.messages || rows[0]?.d !== o.messages)
      throw new Error(`expected ${o.messages} effects once each, got ${JSON.stringify(rows[0])}`);
    return seconds;
  } finally {
    await (await jetstreamManager(bus.connection)).streams.delete(stream).catch(() => undefined);
    await bus.close();
    await db.pool.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(schema)} CASCADE`);
    await db.close();
  }
}

export async function run(argv: readonly string[]): Promise<void> {
  const { quick, runs, values } = parseBenchArgs(argv, { messages: { type: 'string' } });
  const messages = Number(values.messages ?? (quick ? 600 : 3000));
  const pool = Array.from({ length: Math.max(...MEMBER_COUNTS) }, (_, i) =>
    spawnMember(`member-${i}`),
  );
  const raw: { run: number; members: number; seconds: number; messagesPerSecond: number }[] = [];
  try {
    await until(() => pool.every((m) => m.lines.includes('started')), WAIT_MS, 'members');
    for (let r = 0; r < runs; r++)
      for (const members of r % 2 === 0 ? MEMBER_COUNTS : [...MEMBER_COUNTS].reverse()) {
        const seconds = await trial({ pool, members, messages });
        raw.push({ run: r, members, seconds, messagesPerSecond: messages / seconds });
        process.stdout.write(
          `run ${r + 1}/${runs} ${members} member(s): ${formatCount(messages / seconds)} messages/s\n`,
        );
      }
  } finally {
    for (const m of pool) m.child.kill('SIGTERM');
  }
  const of = (members: number) => raw.filter((x) => x.members === members);
  console.log(
    formatTable(
      [{ header: 'members' }, { header: 'messages/s (median)', align: 'right' }],
      MEMBER_COUNTS.map((members) => [
        String(members),
        formatCount(median(of(members).map((x) => x.messagesPerSecond))),
      ]),
    ),
  );
  const bars = ([2, 4] as const).map((members) => {
    const spec: BarSpec = {
      id: `nats.bus-group.${members}-vs-1`,
      label: `bus consumer group with inbox, ${members} member processes vs 1 (${messages} messages)`,
      adapter: 'postgres',
      // Two cores: the bar asks that adding members does not slow the group down; the
      // speed-up beyond is what the cores and the database's round trips allow.
      bar: 1,
      comparator: '>=',
      unit: 'x',
    };
    const ratios = Array.from({ length: runs }, (_, r) => {
      const one = raw.find((x) => x.run === r && x.members === 1);
      const many = raw.find((x) => x.run === r && x.members === members);
      return one && many ? many.messagesPerSecond / one.messagesPerSecond : Number.NaN;
    });
    return barResult(spec, ratios);
  });
  console.log(formatBars(bars, runs));
  const file = await writeResults('bus-scale', { quick, runs, bars, messages, perRun: raw });
  console.log(`results: ${file}`);
}
