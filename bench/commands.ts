/**
 * The command-handling benchmark, on SQLite and PostgreSQL:
 *
 * - **loads**: the state of an aggregate with 1,000 prior events, folded from all of them or
 *   from a snapshot plus the events after it, against the raw driver reading the same rows
 *   (the floor either way);
 * - **commands**: sequential commands on such aggregates without snapshots and with
 *   snapshots every 100 events, in alternating blocks; the speed-up snapshots give is the
 *   figure;
 * - **contention**: 16 concurrent callers on one aggregate, retries counted, against one
 *   caller sending the same commands in turn.
 *
 * `npm run bench -- commands [--quick] [--adapter sqlite|postgres] [--runs N]`; PostgreSQL comes from
 * `CAUSEWAY_PG_URL`. Each run uses fresh databases; the table shows medians of the runs.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { PostgresEventStore, PostgresSnapshotStore } from '@causewayjs/postgres';
import { SqliteEventStore, SqliteSnapshotStore } from '@causewayjs/sqlite';
import {
  CommandHandler,
  everyNEvents,
  type Command,
  type Decider,
  type DomainEvent,
  type EventStore,
  type SnapshotStore,
} from '@causewayjs/core';
import { formatBars } from './lib/bars.js';
import { parseBenchArgs } from './lib/options.js';
import { DEFAULT_POSTGRES_URL, machineInfo, writeResults, type DocTable } from './lib/results.js';
import { formatCount, formatRatio, formatTable } from './lib/table.js';
import { measure, median, perSecond } from './lib/timing.js';
import { EVENT_COLUMNS, benchEvent } from './store/event-data.js';
import { postgresTargets, postgresUnreachable, redactUrl, sqliteTargets } from './store/targets.js';

const ENGINES = ['sqlite', 'postgres'] as const;
type Engine = (typeof ENGINES)[number];

/** The sizes of one run (`--quick` swaps in {@link QUICK_SIZES} before anything runs). */
const SIZES = {
  /** Events each measured aggregate holds before the commands. */
  priorEvents: 1000,
  /** Aggregates per mode; commands go round-robin, so each grows by commands / aggregates. */
  aggregates: 10,
  /** Sequential commands per mode. */
  commands: 300,
  /** Snapshot interval of the "with snapshots" mode. */
  snapshotEvery: 100,
  /** Timed loads per measurement. */
  loads: 100,
  /** Concurrent callers of the contention workload, and commands each sends. */
  callers: 16,
  commandsPerCaller: 16,
};

/** `--quick`: fewer commands and loads, for trying changes (not for quoting). */
const QUICK_SIZES: Partial<typeof SIZES> = { commands: 100, loads: 30, commandsPerCaller: 8 };

const STATE_VERSION = 'cart@1';

// A shopping cart: each command adds an item (about 200 bytes of JSON), the state keeps
// running totals, so folding costs what parsing and visiting each event costs.
type Item = ReturnType<typeof benchEvent>['data'];
type AddItem = Command<'cart.add-item', Item>;
type ItemAdded = DomainEvent<'cart.item-added', Item>;
interface CartState {
  items: number;
  totalCents: number;
  byWarehouse: Record<string, number>;
  lastSku: string | null;
}

const cart: Decider<AddItem, ItemAdded, CartState> = {
  initialState: () => ({ items: 0, totalCents: 0, byWarehouse: {}, lastSku: null }),
  decide: (command) => [{ type: 'cart.item-added', data: command.data }],
  evolve(state, event) {
    const { quantity, unitPriceCents, warehouse, sku } = event.data as {
      quantity: number;
      unitPriceCents: number;
      warehouse: string;
      sku: string;
    };
    return {
      items: state.items + quantity,
      totalCents: state.totalCents + quantity * unitPriceCents,
      byWarehouse: {
        ...state.byWarehouse,
        [warehouse]: (state.byWarehouse[warehouse] ?? 0) + quantity,
      },
      lastSku: sku,
    };
  },
};

const addItem = (n: number): AddItem => ({
  type: 'cart.add-item',
  data: benchEvent(n).data,
});

/** The same rows read with the driver alone: what a load cannot go below. */
interface RawReader {
  /** Reads every event of `stream` and parses its data and metadata; returns the count. */
  readStream(stream: string): Promise<number>;
  /** Reads the snapshot of `stream`, then the events after it; returns the events read. */
  readSnapshotAndTail(stream: string): Promise<number>;
  close(): Promise<void>;
}

/** One engine's stores for a run. */
interface Opened {
  store: EventStore;
  snapshots: SnapshotStore;
  raw: RawReader;
  close(): Promise<void>;
}

function openSqlite(file: string): Opened {
  const store = SqliteEventStore.open(file);
  const snapshots = SqliteSnapshotStore.open(store);
  const db = new Database(file, { readonly: true });
  const events = db.prepare<[string, number], unknown[]>(
    `SELECT ${EVENT_COLUMNS} FROM causeway_events WHERE stream = ? AND revision >= ? ORDER BY revision`,
  );
  events.raw(true);
  const snapshot = db.prepare<[string, string], { revision: number; state: string }>(
    'SELECT revision, state FROM causeway_snapshots WHERE stream = ? AND state_version = ?',
  );
  const parse = (rows: unknown[][]): number => {
    for (const row of rows) {
      JSON.parse(row[5] as string);
      JSON.parse(row[6] as string);
    }
    return rows.length;
  };
  return {
    store,
    snapshots,
    raw: {
      readStream: (stream) => Promise.resolve(parse(events.all(stream, 0))),
      readSnapshotAndTail(stream) {
        const row = snapshot.get(stream, STATE_VERSION);
        if (row) JSON.parse(row.state);
        return Promise.resolve(parse(events.all(stream, row ? row.revision + 1 : 0)));
      },
      close: () => Promise.resolve(void db.close()),
    },
    close: () => store.close(),
  };
}

async function openPostgres(url: string, schema: string): Promise<Opened> {
  const store = await PostgresEventStore.open(url, { schema });
  const snapshots = await PostgresSnapshotStore.open(url, { schema });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const s = pg.escapeIdentifier(schema);
  // Named statements, as the adapter uses; the driver parses json columns by itself.
  const events = {
    name: 'raw_events',
    text: `SELECT ${EVENT_COLUMNS} FROM ${s}.causeway_events WHERE stream = $1 AND revision >= $2 ORDER BY revision`,
    rowMode: 'array' as const,
  };
  const snapshot = {
    name: 'raw_snapshot',
    text: `SELECT revision, state FROM ${s}.causeway_snapshots WHERE stream = $1 AND state_version = $2`,
    rowMode: 'array' as const,
  };
  return {
    store,
    snapshots,
    raw: {
      readStream: async (stream) =>
        (await client.query({ ...events, values: [stream, 0] })).rowCount ?? 0,
      async readSnapshotAndTail(stream) {
        const found = await client.query<[string, unknown]>({
          ...snapshot,
          values: [stream, STATE_VERSION],
        });
        const from = found.rows[0] ? Number(found.rows[0][0]) + 1 : 0;
        return (await client.query({ ...events, values: [stream, from] })).rowCount ?? 0;
      },
      close: () => client.end(),
    },
    async close() {
      await snapshots.close();
      await store.close();
    },
  };
}

/** What one run measured on one engine. */
interface RunResult {
  /** ms per load. */
  rawFullLoadMs: number;
  rawSnapshotLoadMs: number;
  fullLoadMs: number;
  snapshotLoadMs: number;
  /** Events a snapshot load read after its snapshot, on average. */
  snapshotTailEvents: number;
  /** Commands per second. */
  withoutSnapshots: number;
  withSnapshots: number;
  contended: number;
  sequential: number;
  /** Retries (tries after the first) per contended command. */
  retriesPerCommand: number;
  maxAttempts: number;
  failed: number;
}

const handlerFor = (store: EventStore, snapshots?: SnapshotStore, attempts = 10) =>
  new CommandHandler({
    store,
    decider: cart,
    retry: { attempts },
    ...(snapshots && {
      snapshots: {
        store: snapshots,
        stateVersion: STATE_VERSION,
        policy: everyNEvents(SIZES.snapshotEvery),
      },
    }),
  });

/**
 * Fills `aggregates` streams with the prior events, in appends of 100. With `snapshotAt`,
 * takes a snapshot of stream i at revision `snapshotAt(i)` on the way, as the every-100
 * policy would have left it at some point of its cycle.
 */
async function seed(
  opened: Opened,
  streams: string[],
  snapshotAt?: (i: number) => number,
): Promise<void> {
  const handler = handlerFor(opened.store, opened.snapshots);
  let n = 0;
  for (const [i, stream] of streams.entries()) {
    const at = snapshotAt?.(i);
    for (let from = 0; from < SIZES.priorEvents;) {
      // Stop a batch right after the snapshot's revision, to take the snapshot there.
      const to =
        at !== undefined && from <= at && at < from + 100
          ? at + 1
          : Math.min(from + 100, SIZES.priorEvents);
      const events = Array.from({ length: to - from }, () => ({
        type: 'cart.item-added',
        data: benchEvent(n++).data,
      }));
      await opened.store.append(stream, events, {
        expectedRevision: from === 0 ? 'no_stream' : from - 1,
      });
      if (at !== undefined && to === at + 1) await handler.snapshot(stream);
      from = to;
    }
  }
}

async function timedLoads(load: (stream: string) => Promise<unknown>, streams: string[]) {
  const sample = await measure(async () => {
    for (let i = 0; i < SIZES.loads; i++) await load(streams[i % streams.length] as string);
    return SIZES.loads;
  });
  return sample.ms / sample.items;
}

type Handler = CommandHandler<AddItem, ItemAdded, CartState>;

/**
 * Sends the same number of sequential commands through each handler, in alternating blocks
 * (a block of one, then of the other...), so that both see the machine in the same states;
 * returns each one's commands per second.
 */
async function timedCommands(modes: [Handler, string[]][]): Promise<number[]> {
  const block = 25;
  const ms = modes.map(() => 0);
  for (let from = 0; from < SIZES.commands; from += block) {
    for (const [m, [handler, streams]] of modes.entries()) {
      const sample = await measure(async () => {
        const to = Math.min(from + block, SIZES.commands);
        for (let i = from; i < to; i++) {
          await handler.handle(streams[i % streams.length] as string, addItem(1_000_000 + i));
        }
        return to - from;
      });
      ms[m] = (ms[m] ?? 0) + sample.ms;
    }
  }
  return ms.map((total) => perSecond({ items: SIZES.commands, ms: total }));
}

async function runOnce(opened: Opened, progress: (line: string) => void): Promise<RunResult> {
  const names = (prefix: string) =>
    Array.from({ length: SIZES.aggregates }, (_, i) => `${prefix}-${i}`);
  const plain = names('cart-plain');
  const snapped = names('cart-snap');
  progress(`seeding ${formatCount(2 * SIZES.aggregates * SIZES.priorEvents)} events`);
  await seed(opened, plain);
  // Snapshots 0, 10, ..., 90 events behind the head: the spread of tails an every-100
  // policy leaves across aggregates.
  await seed(opened, snapped, (i) => SIZES.priorEvents - 1 - ((i * 10) % SIZES.snapshotEvery));

  const bare = handlerFor(opened.store);
  const withSnapshots = handlerFor(opened.store, opened.snapshots);
  progress('loads');
  let tail = 0;
  const rawFullLoadMs = await timedLoads((s) => opened.raw.readStream(s), plain);
  const rawSnapshotLoadMs = await timedLoads((s) => opened.raw.readSnapshotAndTail(s), snapped);
  const fullLoadMs = await timedLoads((s) => bare.load(s), plain);
  const snapshotLoadMs = await timedLoads(async (s) => {
    tail += (await withSnapshots.load(s)).eventsRead;
  }, snapped);

  progress('commands without and with snapshots');
  const [without = 0, withSnaps = 0] = await timedCommands([
    [bare, plain],
    [withSnapshots, snapped],
  ]);

  progress(`contention: ${SIZES.callers} callers`);
  const total = SIZES.callers * SIZES.commandsPerCaller;
  const sequentialHandler = handlerFor(opened.store);
  const sequential = perSecond(
    await measure(async () => {
      for (let i = 0; i < total; i++) await sequentialHandler.handle('cart-sequential', addItem(i));
      return total;
    }),
  );
  const contendedHandler = handlerFor(opened.store, undefined, 30);
  let retries = 0;
  let maxAttempts = 0;
  let failed = 0;
  const contended = perSecond(
    await measure(async () => {
      await Promise.all(
        Array.from({ length: SIZES.callers }, async (_, caller) => {
          for (let i = 0; i < SIZES.commandsPerCaller; i++) {
            try {
              const { attempts } = await contendedHandler.handle(
                'cart-contended',
                addItem(caller * 1000 + i),
              );
              retries += attempts - 1;
              maxAttempts = Math.max(maxAttempts, attempts);
            } catch {
              failed++;
            }
          }
        }),
      );
      return total - failed;
    }),
  );
  return {
    rawFullLoadMs,
    rawSnapshotLoadMs,
    fullLoadMs,
    snapshotLoadMs,
    snapshotTailEvents: tail / SIZES.loads,
    withoutSnapshots: without,
    withSnapshots: withSnaps,
    contended,
    sequential,
    retriesPerCommand: retries / total,
    maxAttempts,
    failed,
  };
}

type EngineOutcome =
  | { engine: Engine; status: 'skipped'; reason: string }
  | {
      engine: Engine;
      status: 'ran';
      runs: RunResult[];
      /** Each measurement's median over the runs. */
      median: RunResult;
      /** Each ratio's median over the runs, both sides of a ratio coming from one run. */
      ratios: Ratios;
    };

async function runEngine(
  engine: Engine,
  runs: number,
  postgresUrl: string,
  progress: (line: string) => void,
): Promise<EngineOutcome> {
  if (engine === 'postgres') {
    const reason = await postgresUnreachable(postgresUrl);
    if (reason !== undefined) {
      return {
        engine,
        status: 'skipped',
        reason: `PostgreSQL unreachable at ${redactUrl(postgresUrl)}: ${reason}`,
      };
    }
  }
  const results: RunResult[] = [];
  for (let run = 1; run <= runs; run++) {
    const say = (line: string) => progress(`[${engine} ${run}/${runs}] ${line}`);
    const targets =
      engine === 'sqlite'
        ? await sqliteTargets()
        : await postgresTargets(postgresUrl, `causeway_bench_commands_${process.pid}_r${run}`);
    try {
      const target = await targets.forStore('causeway');
      const opened =
        target.kind === 'sqlite'
          ? openSqlite(target.file)
          : await openPostgres(target.url, target.schema);
      try {
        results.push(await runOnce(opened, say));
      } finally {
        await opened.raw.close();
        await opened.close();
      }
    } finally {
      await targets.cleanup();
    }
  }
  const med = (pick: (r: RunResult) => number) => median(results.map(pick));
  const perRun = results.map(ratiosOf);
  const ratios = Object.fromEntries(
    Object.keys(perRun[0] as Ratios).map((key) => [
      key,
      median(perRun.map((r) => r[key as keyof Ratios])),
    ]),
  ) as Ratios;
  return {
    engine,
    status: 'ran',
    runs: results,
    ratios,
    median: {
      rawFullLoadMs: med((r) => r.rawFullLoadMs),
      rawSnapshotLoadMs: med((r) => r.rawSnapshotLoadMs),
      fullLoadMs: med((r) => r.fullLoadMs),
      snapshotLoadMs: med((r) => r.snapshotLoadMs),
      snapshotTailEvents: med((r) => r.snapshotTailEvents),
      withoutSnapshots: med((r) => r.withoutSnapshots),
      withSnapshots: med((r) => r.withSnapshots),
      contended: med((r) => r.contended),
      sequential: med((r) => r.sequential),
      retriesPerCommand: med((r) => r.retriesPerCommand),
      maxAttempts: Math.max(...results.map((r) => r.maxAttempts)),
      failed: results.reduce((sum, r) => sum + r.failed, 0),
    },
  };
}

type Ratios = ReturnType<typeof ratiosOf>;

/** The ratios the table reports, for one run. */
function ratiosOf(m: RunResult) {
  return {
    snapshotSpeedup: m.withSnapshots / m.withoutSnapshots,
    loadSpeedup: m.fullLoadMs / m.snapshotLoadMs,
    rawLoadSpeedup: m.rawFullLoadMs / m.rawSnapshotLoadMs,
    fullLoadVsRaw: m.fullLoadMs / m.rawFullLoadMs,
    snapshotLoadVsRaw: m.snapshotLoadMs / m.rawSnapshotLoadMs,
    contendedVsSequential: m.contended / m.sequential,
  };
}

/** The rows of the report, each a label and how to read it off an engine's medians. */
function reportRows(): [string, (o: Extract<EngineOutcome, { status: 'ran' }>) => string][] {
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  const perS = (v: number) => `${formatCount(v)}/s`;
  type Ran = Extract<EngineOutcome, { status: 'ran' }>;
  const of =
    (format: (m: RunResult) => string) =>
    (o: Ran): string =>
      format(o.median);
  const ratio =
    (key: keyof Ratios) =>
    (o: Ran): string =>
      formatRatio(o.ratios[key]);
  return [
    [`load ${formatCount(SIZES.priorEvents)} events: raw driver`, of((m) => ms(m.rawFullLoadMs))],
    ['load snapshot + tail: raw driver', of((m) => ms(m.rawSnapshotLoadMs))],
    ['  raw speed-up (the ceiling)', ratio('rawLoadSpeedup')],
    [`load ${formatCount(SIZES.priorEvents)} events: Causeway`, of((m) => ms(m.fullLoadMs))],
    ['  time vs raw driver', ratio('fullLoadVsRaw')],
    ['load snapshot + tail: Causeway', of((m) => ms(m.snapshotLoadMs))],
    ['  time vs raw driver', ratio('snapshotLoadVsRaw')],
    ['  load speed-up', ratio('loadSpeedup')],
    ['  events read after the snapshot', of((m) => m.snapshotTailEvents.toFixed(1))],
    ['commands, no snapshots', of((m) => perS(m.withoutSnapshots))],
    [`commands, snapshots every ${SIZES.snapshotEvery}`, of((m) => perS(m.withSnapshots))],
    ['  SNAPSHOT SPEED-UP', ratio('snapshotSpeedup')],
    ['commands, 1 caller, new aggregate', of((m) => perS(m.sequential))],
    [`commands, ${SIZES.callers} callers, one aggregate`, of((m) => perS(m.contended))],
    ['  throughput vs 1 caller', ratio('contendedVsSequential')],
    ['  retries per command', of((m) => m.retriesPerCommand.toFixed(2))],
    ['  most tries of one command (max)', of((m) => String(m.maxAttempts))],
    ['  failed, retries exhausted (sum)', of((m) => String(m.failed))],
  ];
}

function formatReport(outcomes: EngineOutcome[]): string {
  const ran = ranOf(outcomes);
  const rows = reportRows();
  const table = formatTable(
    [
      { header: 'measure (median of runs)' },
      ...ran.map((o) => ({ header: o.engine, align: 'right' as const })),
    ],
    rows.map(([label, cell]) => [label, ...ran.map((o) => cell(o))]),
  );
  const skipped = outcomes
    .filter((o) => o.status === 'skipped')
    .map((o) => `!! ${o.engine} SKIPPED: ${o.reason}`);
  return [table, ...skipped].join('\n');
}

function ranOf(outcomes: EngineOutcome[]) {
  return outcomes.filter((o): o is Extract<EngineOutcome, { status: 'ran' }> => o.status === 'ran');
}

/** The report's medians as a table for `docs/benchmarks.md`. */
function docTable(outcomes: EngineOutcome[]): DocTable {
  const ran = ranOf(outcomes);
  return {
    title: `Medians of ${ran[0]?.runs.length ?? 0} runs`,
    header: ['measure', ...ran.map((o) => (o.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'))],
    align: ['left', ...ran.map((): 'right' => 'right')],
    rows: reportRows().map(([label, cell]) => [
      label.replace(/^ {2}/, '· '),
      ...ran.map((o) => cell(o)),
    ]),
  };
}

/** Runs the commands benchmark with command-line arguments (after the name). */
export async function run(argv: readonly string[]): Promise<void> {
  const { quick, runs, values } = parseBenchArgs(argv, { adapter: { type: 'string' } });
  const engines = values.adapter === undefined ? [...ENGINES] : [values.adapter];
  for (const e of engines) {
    if (!(ENGINES as readonly string[]).includes(e))
      throw new Error(`--adapter must be one of ${ENGINES.join(', ')}, not "${e}"`);
  }
  // The sizes are module constants the workloads read; a quick run shrinks them up front.
  if (quick) Object.assign(SIZES, QUICK_SIZES);
  const postgresUrl = process.env.CAUSEWAY_PG_URL ?? DEFAULT_POSTGRES_URL;
  const progress = (line: string) => process.stderr.write(`${line}\n`);

  const machine = machineInfo();
  console.log(
    `commands benchmark on ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; ` +
      `aggregates of ${formatCount(SIZES.priorEvents)} events, ${runs} run${runs === 1 ? '' : 's'}`,
  );
  const started = performance.now();
  const outcomes: EngineOutcome[] = [];
  for (const engine of engines as Engine[]) {
    const outcome = await runEngine(engine, runs, postgresUrl, progress);
    if (outcome.status === 'skipped') progress(`!! ${engine} SKIPPED: ${outcome.reason}`);
    outcomes.push(outcome);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`\n${formatReport(outcomes)}\n`);
  console.log(`${formatBars([], runs)}\n`);
  const path = await writeResults('commands', {
    quick,
    runs,
    // No bar of its own yet: the figures go to the doc as a table.
    bars: [],
    docTables: [docTable(outcomes)],
    options: { engines },
    sizes: SIZES,
    engines: outcomes.map((o) =>
      o.status === 'skipped'
        ? o
        : {
            engine: o.engine,
            status: o.status,
            median: o.median,
            ratios: o.ratios,
            runs: o.runs,
          },
    ),
    durationSeconds: seconds,
  });
  console.log(`results written to ${path} (${seconds.toFixed(0)} s)`);
}
