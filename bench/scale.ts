/**
 * Scale-out of partitioned consumers on PostgreSQL, with 1, 2 and 4 member processes:
 *
 * - **projection catch-up**: a read model keyed by stream (one upserted row per stream, in the
 *   partition's transaction with its checkpoint) built by a partitioned consumer group over a
 *   log written beforehand; events/s from the moment every member holds its partitions to the
 *   moment every event's upsert has committed, and the events each member's reads returned
 *   (with the partition filter pushed into SQL, together the log once);
 * - **saga throughput**: the shop's order-fulfilment saga partitioned by order over the
 *   members (its outbox and timer loops single-leased, in one of them), orders placed by the
 *   benchmark once every member holds its partitions; completed orders/s.
 *
 * Speed-ups are against 1 member in the same run, the member counts interleaved run by run
 * (order turned each run). Member processes live across trials (start-up is never timed).
 * Every trial also records each member's CPU time, the CPU time of the server processes
 * serving the members, and how busy the machine's cores were, to tell what saturates first.
 * `npm run bench -- scale [--quick] [--runs N] [--events N] [--orders N] [--partitions N]`
 */
import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import { assignPartitions, newId, type CommandEnvelope } from '@causewayjs/core';
import { PostgresEventStore, postgresBackendOf, type PostgresBackend } from '@causewayjs/postgres';
import { createShopDispatcher } from '../examples/shop/fulfilment-saga.js';
import { barResult, formatBars, type BarResult } from './lib/bars.js';
import { loadAverage } from './lib/environment.js';
import { parseBenchArgs } from './lib/options.js';
import { DEFAULT_POSTGRES_URL, writeResults } from './lib/results.js';
import { formatCount, formatRatio, formatTable } from './lib/table.js';
import { median } from './lib/timing.js';
import { busyShare, machineTicks, serverDelta, serverSeconds } from './scale/cpu.js';
import { marks, send, settled, spawnMember, stopAll, until, type Member } from './scale/members.js';

const url = process.env.CAUSEWAY_PG_URL ?? DEFAULT_POSTGRES_URL;
const MEMBER_COUNTS = [1, 2, 4] as const;
const STREAMS = 1_000;
const SKUS = Array.from({ length: 20 }, (_, i) => `sku-${i}`);
/** Orders placed side by side by the benchmark. */
const PLACING = 16;

type Workload = 'projection' | 'saga';

/** One trial's figures. */
interface Trial {
  run: number;
  workload: Workload;
  members: number;
  seconds: number;
  /** Events/s (projection) or completed orders/s (saga). */
  rate: number;
  /** CPU seconds of each member during the trial. */
  memberCpuSeconds: number[];
  /** Events each member's reads returned (projection only). */
  eventsRead?: number[];
  /** CPU seconds of the server processes serving the members. */
  serverCpuSeconds: number;
  /** Share of all the machine's cores busy during the trial (any process). */
  machineBusy: number;
  /** The member holding the saga's outbox lease (saga only). */
  outboxMember?: string;
  loadavg: [number, number, number];
}

async function admin(): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

const schemaName = (what: string) =>
  `causeway_bench_scale_${what}_${randomBytes(4).toString('hex')}`;

async function openStore(schema: string): Promise<PostgresBackend> {
  return postgresBackendOf(await PostgresEventStore.open(url, { schema, maxConnections: 4 }));
}

/** Writes `events` events over {@link STREAMS} streams, ten per append, streams interleaved. */
async function fill(backend: PostgresBackend, events: number): Promise<void> {
  for (let n = 0; n < events; n += 1000) {
    const size = Math.min(1000, events - n);
    await backend.store.appendMany(
      Array.from({ length: Math.ceil(size / 10) }, (_, i) => ({
        stream: `account-${(n / 10 + i) % STREAMS}`,
        events: Array.from({ length: Math.min(10, size - i * 10) }, (_, j) => ({
          type: 'account.credited',
          data: { amount: 1 + ((n + i * 10 + j) % 97), note: 'scale benchmark' },
        })),
      })),
    );
  }
}

/** Measures around `work`: member and server CPU, machine busy share, seconds. */
async function accounted(
  o: { used: Member[]; db: Client },
  work: () => Promise<void>,
): Promise<
  Pick<Trial, 'seconds' | 'memberCpuSeconds' | 'serverCpuSeconds' | 'machineBusy'> & {
    read: number[];
  }
> {
  const m0 = await marks(o.used);
  const s0 = await serverSeconds(o.db);
  const c0 = machineTicks();
  const t0 = performance.now();
  await work();
  const seconds = (performance.now() - t0) / 1000;
  const c1 = machineTicks();
  const s1 = await serverSeconds(o.db);
  const m1 = await marks(o.used);
  return {
    seconds,
    memberCpuSeconds: m1.map((m, i) => (m.cpuMicros - (m0[i]?.cpuMicros ?? 0)) / 1e6),
    read: m1.map((m, i) => m.read - (m0[i]?.read ?? 0)),
    serverCpuSeconds: serverDelta(s0, s1),
    machineBusy: busyShare(c0, c1),
  };
}

/** One projection catch-up over the log of `schema` by a new group and a new table. */
async function projectionTrial(o: {
  used: Member[];
  db: Client;
  schema: string;
  events: number;
  partitions: number;
}): Promise<Omit<Trial, 'run' | 'members' | 'loadavg'>> {
  const suffix = randomBytes(4).toString('hex');
  const table = `read_model_${suffix}`;
  const qualified = `${escapeIdentifier(o.schema)}.${escapeIdentifier(table)}`;
  await o.db.query(
    `CREATE TABLE ${qualified} (stream text PRIMARY KEY, events bigint NOT NULL, last_position bigint NOT NULL)`,
  );
  try {
    for (const m of o.used) m.lines.length = 0;
    for (const m of o.used)
      send(m, {
        cmd: 'projection',
        url,
        schema: o.schema,
        member: m.name,
        partitions: o.partitions,
        group: `scale-${suffix}`,
        table,
      });
    await settled(
      o.used,
      assignPartitions(
        o.used.map((m) => m.name),
        o.partitions,
      ),
    );
    const figures = await accounted(o, async () => {
      for (const m of o.used) send(m, { cmd: 'go' });
      // Every upsert commits with its partition's checkpoint: all rows counted, all handled.
      await until(
        async () => {
          const { rows } = await o.db.query<{ n: string }>(
            `SELECT coalesce(sum(events), 0) AS n FROM ${qualified}`,
          );
          return Number(rows[0]?.n) >= o.events;
        },
        { ms: 600_000, what: 'the projection to catch up', everyMs: 20 },
      );
    });
    await stopAll(o.used);
    const { read, ...rest } = figures;
    return { workload: 'projection', rate: o.events / rest.seconds, eventsRead: read, ...rest };
  } finally {
    await o.db.query(`DROP TABLE IF EXISTS ${qualified}`);
  }
}

const command = (type: string, data: unknown): CommandEnvelope => ({
  id: newId(),
  type,
  data,
  metadata: {},
});

/** One saga trial on a fresh schema: `orders` orders placed and fulfilled. */
async function sagaTrial(o: {
  used: Member[];
  db: Client;
  orders: number;
  partitions: number;
}): Promise<Omit<Trial, 'run' | 'members' | 'loadavg'>> {
  const schema = schemaName('saga');
  const backend = await openStore(schema);
  try {
    await backend.sagaStore();
    await backend.subscriptionStorage();
    await backend.groupMembership();
    const shop = createShopDispatcher(backend.store);
    for (const sku of SKUS)
      await shop.dispatch(command('inventory.restock', { sku, quantity: o.orders * 4 }));
    for (const m of o.used) m.lines.length = 0;
    for (const m of o.used)
      send(m, { cmd: 'saga', url, schema, member: m.name, partitions: o.partitions });
    await settled(
      o.used,
      assignPartitions(
        o.used.map((m) => m.name),
        o.partitions,
      ),
    );
    const instances = `${escapeIdentifier(schema)}.causeway_saga_instances`;
    const figures = await accounted(o, async () => {
      let next = 0;
      const place = async () => {
        for (let i = next++; i < o.orders; i = next++) {
          const lines = [
            { sku: SKUS[i % SKUS.length], quantity: 1, unitPrice: 450 },
            { sku: SKUS[(i * 7 + 3) % SKUS.length], quantity: 2, unitPrice: 1200 },
          ];
          const reply = await shop.dispatch(
            command('order.place', { orderId: `o${i}`, customerId: `c${i}`, lines }),
          );
          if (reply.status !== 'accepted') throw new Error(`order o${i}: ${reply.status}`);
        }
      };
      await Promise.all(Array.from({ length: PLACING }, place));
      await until(
        async () => {
          const { rows } = await o.db.query<{ done: string; other: string }>(
            `SELECT count(*) FILTER (WHERE status = 'completed') AS done,
                    count(*) FILTER (WHERE status NOT IN ('completed', 'running')) AS other
               FROM ${instances}`,
          );
          if (Number(rows[0]?.other) > 0) throw new Error('an order did not complete');
          return Number(rows[0]?.done) >= o.orders;
        },
        { ms: 600_000, what: 'the orders to complete', everyMs: 50 },
      );
    });
    const { rows } = await o.db.query<{ owner: string }>(
      `SELECT owner FROM ${escapeIdentifier(schema)}.causeway_leases WHERE name LIKE 'causeway:saga-outbox:%'`,
    );
    await stopAll(o.used);
    const { read: _read, ...rest } = figures;
    return {
      workload: 'saga',
      rate: o.orders / rest.seconds,
      ...(rows[0] ? { outboxMember: rows[0].owner } : {}),
      ...rest,
    };
  } finally {
    await backend.close();
    await o.db.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(schema)} CASCADE`);
  }
}

export async function run(argv: readonly string[]): Promise<void> {
  const { quick, runs, values } = parseBenchArgs(argv, {
    events: { type: 'string' },
    orders: { type: 'string' },
    partitions: { type: 'string' },
  });
  const events = Number(values.events ?? (quick ? 6_000 : 30_000));
  const orders = Number(values.orders ?? (quick ? 15 : 60));
  const partitions = Number(values.partitions ?? 8);
  const db = await admin();
  const logSchema = schemaName('log');
  const log = await openStore(logSchema);
  const pool = Array.from({ length: Math.max(...MEMBER_COUNTS) }, (_, i) =>
    spawnMember(`member-${i}`),
  );
  const trials: Trial[] = [];
  try {
    await log.subscriptionStorage();
    await log.groupMembership();
    await fill(log, events);
    for (let r = 0; r < runs; r++)
      for (const workload of ['projection', 'saga'] as const)
        // Interleaved, and the order turned each run, so load drift spreads over all counts.
        for (const members of r % 2 === 0 ? MEMBER_COUNTS : [...MEMBER_COUNTS].reverse()) {
          const used = pool.slice(0, members);
          const figures =
            workload === 'projection'
              ? await projectionTrial({ used, db, schema: logSchema, events, partitions })
              : await sagaTrial({ used, db, orders, partitions });
          trials.push({ run: r, members, loadavg: loadAverage(), ...figures });
          process.stdout.write(
            `run ${r + 1}/${runs} ${workload} ${members} member(s): ${formatCount(figures.rate)} ${workload === 'saga' ? 'orders' : 'events'}/s\n`,
          );
        }
  } finally {
    for (const m of pool) m.child.kill('SIGTERM');
    await log.close();
    await db.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(logSchema)} CASCADE`);
    await db.end();
  }
  await report({ quick, runs, events, orders, partitions, trials });
}

/** Per-unit CPU: member and server milliseconds per event (or per order). */
function profile(t: Trial, units: number) {
  const member = t.memberCpuSeconds.reduce((a, b) => a + b, 0);
  return {
    memberMs: (member * 1000) / units,
    serverMs: (t.serverCpuSeconds * 1000) / units,
  };
}

async function report(o: {
  quick: boolean;
  runs: number;
  events: number;
  orders: number;
  partitions: number;
  trials: Trial[];
}): Promise<void> {
  const { trials, runs } = o;
  const units = (w: Workload) => (w === 'saga' ? o.orders : o.events);
  const of = (w: Workload, members: number) =>
    trials.filter((t) => t.workload === w && t.members === members);
  const speedUp = (w: Workload, members: number) =>
    median(
      Array.from({ length: runs }, (_, r) => {
        const one = trials.find((t) => t.run === r && t.workload === w && t.members === 1);
        const many = trials.find((t) => t.run === r && t.workload === w && t.members === members);
        return one && many ? many.rate / one.rate : Number.NaN;
      }).filter(Number.isFinite),
    );
  const rows: string[][] = [];
  const summary: Record<string, unknown>[] = [];
  for (const w of ['projection', 'saga'] as const)
    for (const members of MEMBER_COUNTS) {
      const ts = of(w, members);
      const p = ts.map((t) => profile(t, units(w)));
      const row = {
        workload: w,
        members,
        rate: median(ts.map((t) => t.rate)),
        speedUp: speedUp(w, members),
        memberCpuMsPerUnit: median(p.map((x) => x.memberMs)),
        serverCpuMsPerUnit: median(p.map((x) => x.serverMs)),
        machineBusy: median(ts.map((t) => t.machineBusy)),
        eventsReadPerMember:
          w === 'projection' ? ts.map((t) => t.eventsRead ?? []).at(-1) : undefined,
      };
      summary.push(row);
      rows.push([
        w,
        String(members),
        formatCount(row.rate),
        ts.map((t) => formatCount(t.rate)).join(' / '),
        formatRatio(row.speedUp),
        row.memberCpuMsPerUnit.toFixed(3),
        row.serverCpuMsPerUnit.toFixed(3),
        `${Math.round(row.machineBusy * 100)}%`,
        row.eventsReadPerMember?.map((n) => formatCount(n)).join(' / ') ?? '',
      ]);
    }
  console.log(
    `\nscale: ${formatCount(o.events)} events, ${o.orders} orders, ${o.partitions} partitions, ${runs} runs${o.quick ? ' (quick)' : ''}\n`,
  );
  console.log(
    formatTable(
      [
        { header: 'workload' },
        { header: 'members' },
        { header: 'per s (median)', align: 'right' },
        { header: 'runs', align: 'right' },
        { header: 'vs 1', align: 'right' },
        { header: 'member CPU ms/unit', align: 'right' },
        { header: 'server CPU ms/unit', align: 'right' },
        { header: 'cores busy', align: 'right' },
        { header: 'events read per member (last run)', align: 'right' },
      ],
      rows,
    ),
  );
  const bars: BarResult[] = [];
  for (const w of ['projection', 'saga'] as const)
    for (const members of [2, 4] as const) {
      const ratios = Array.from({ length: runs }, (_, r) => {
        const one = trials.find((t) => t.run === r && t.workload === w && t.members === 1);
        const many = trials.find((t) => t.run === r && t.workload === w && t.members === members);
        return one && many ? many.rate / one.rate : Number.NaN;
      });
      bars.push(
        barResult(
          {
            id: `postgres.${w}.${members}-vs-1`,
            label:
              w === 'projection'
                ? `projection catch-up (consumer group, ${formatCount(o.events)} events, ${o.partitions} partitions), ${members} members vs 1`
                : `partitioned fulfilment saga (${o.orders} orders, ${o.partitions} partitions), ${members} members vs 1`,
            adapter: 'postgres',
            // Two shared cores: more processes can at best use both. The bar asks that adding
            // members does not slow the work down; what lies beyond is what the cores allow.
            bar: 1,
            comparator: '>=',
            unit: 'x',
          },
          ratios,
        ),
      );
    }
  // Reading less: with the partition filter in SQL, the members' reads return the log once
  // between them, however many members share it.
  bars.push(
    barResult(
      {
        id: 'postgres.projection.events-read-vs-log',
        label: 'events the members read together vs events in the log, 4 members',
        adapter: 'postgres',
        bar: 1,
        comparator: '<=',
        unit: 'x',
      },
      Array.from({ length: runs }, (_, r) => {
        const t = trials.find((x) => x.run === r && x.workload === 'projection' && x.members === 4);
        return t?.eventsRead ? t.eventsRead.reduce((a, b) => a + b, 0) / o.events : Number.NaN;
      }),
    ),
  );
  console.log(`\n${formatBars(bars, runs)}`);
  const file = await writeResults('scale', {
    quick: o.quick,
    runs,
    bars,
    options: { events: o.events, orders: o.orders, partitions: o.partitions, streams: STREAMS },
    summary,
    perRun: trials,
    docTables: [
      {
        title: 'Throughput and CPU per unit (event or completed order), medians',
        header: ['workload', 'members', 'per s', 'member CPU ms/unit', 'server CPU ms/unit'],
        align: ['left', 'right', 'right', 'right', 'right'],
        rows: rows.map((r) => [r[0]!, r[1]!, r[2]!, r[5]!, r[6]!]),
      },
    ],
  });
  console.log(`results: ${file}`);
}
