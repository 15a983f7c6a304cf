/**
 * The security benchmark, on SQLite and PostgreSQL: what encrypting personal fields and
 * hash-chaining streams cost.
 *
 * Four modes on the same data, each on a fresh database, in turn within every run:
 * - **plain**: the store as is (the baseline);
 * - **encrypted**: `encryptedEventStore` (two personal fields per event, AES-256-GCM, a data
 *   key per customer from the key store in the same database);
 * - **chained**: `integrityEventStore` (a SHA-256 hash chain per stream);
 * - **anchored**: the same, each stream's head anchored in the append's transaction (what
 *   `stackBackend` sets up); unsigned like `chained`, so the two differ by the anchor only;
 * - **both**: encryption over hash chains, as recommended.
 *
 * Workloads, in events/s: sequential single-event appends round-robin over 50 streams (what a
 * command handler does; each costs a commit, so disk flushes dominate), sequential appends of
 * 50-event batches (where the CPU cost of hashing and encrypting shows), then reading the
 * whole log through the mode's store (decrypting in the encrypted modes, and touching both
 * personal fields of every event, as a consumer would) 10 times (20 with `--quick`), after one untimed read
 * (so what is timed is the cost per event, not compiling the read path). Each
 * chained append reads its stream's head once, then hits the in-process head cache. The
 * order of the modes rotates from run to run, so drift does not favour one.
 *
 * Beside the plain reads, every run times the bare `node:crypto` work of opening each event's
 * seal alone (`createDecipheriv`, `setAAD`, `setAuthTag`, `update`, `final`: the version 2
 * format, AES-256-GCM, on the same two fields of the same events, sealed beforehand with a
 * key made here), and reports it per event beside the plain read's time per event. No read
 * that opens one AES-GCM seal per event through `node:crypto` can do better than
 * `plain / (plain + decipher)`: that ratio is printed as the ceiling of the bar, and what
 * the encrypted read spends beyond plain read plus decipher as the decorator's own work.
 *
 * `npm run bench -- security [--adapter sqlite|postgres] [--runs N] [--events N] [--quick]`;
 * PostgreSQL comes from `CAUSEWAY_PG_URL`. The table shows medians of the runs and each mode's
 * rate as a ratio of plain's in the same run. The bar (issue 15): reads with two encrypted
 * fields per event at >= 0.6x of plain reads, per engine, the median of the per-run ratios.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import {
  PostgresEventStore,
  postgresChainAnchorStore,
  PostgresKeyStore,
} from '@causewayjs/postgres';
import { sqliteChainAnchorStore, SqliteEventStore, SqliteKeyStore } from '@causewayjs/sqlite';
import {
  encryptedEventStore,
  generateMasterKey,
  integrityEventStore,
  type ChainAnchorStore,
  type DataKeyStore,
  type EventInput,
  type EventStore,
  type TransactionalEventStore,
} from '@causewayjs/core';
import { barResult, formatBars, type BarResult } from './lib/bars.js';
import { parseBenchArgs } from './lib/options.js';
import { machineInfo, writeResults, type DocTable } from './lib/results.js';
import { formatCount, formatDocTable, formatRatio, formatTable } from './lib/table.js';
import { measure, median, perSecond } from './lib/timing.js';
import { benchEvent } from './store/event-data.js';
import { postgresTargets, postgresUnreachable, redactUrl, sqliteTargets } from './store/targets.js';

const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
const ENGINES = ['sqlite', 'postgres'] as const;
type Engine = (typeof ENGINES)[number];
const MODES = ['plain', 'encrypted', 'chained', 'anchored', 'both'] as const;
type Mode = (typeof MODES)[number];
/** What `--quick` measures: the bar's two modes only. */
const QUICK_MODES: readonly Mode[] = ['plain', 'encrypted'];

const STREAMS = 50;
const BATCH = 50;
const CUSTOMERS = 200;
/**
 * Full reads of the log timed per run (and bare decipher passes): enough that the read phase
 * lasts a good fraction of a second even in a quick run, so one scheduling hiccup on a shared
 * machine does not decide a run's ratio.
 */
const READ_PASSES = { quick: 20, full: 10 } as const;

const masterKey = generateMasterKey('bench-1');
const personal = {
  // Every benchmark event type carries the customer's delivery note and warehouse as personal.
  ...Object.fromEntries(
    ['order.placed', 'order.item-added', 'order.paid', 'order.shipped'].map((type) => [
      type,
      { subject: '$.customerId', fields: ['$.note', '$.warehouse'] },
    ]),
  ),
};

/** The `n`-th event: about 200 bytes, one of {@link CUSTOMERS} customers. */
function event(n: number): EventInput {
  const base = benchEvent(n);
  return {
    type: base.type,
    data: { ...(base.data as object), customerId: `customer-${n % CUSTOMERS}` },
  };
}

interface Opened {
  raw: TransactionalEventStore;
  keys: DataKeyStore;
  anchors(): Promise<ChainAnchorStore>;
  close(): Promise<void>;
}

interface Rates {
  /** Plain mode only: µs per event of the bare decipher ({@link decipherAlone}), timed right after the reads. */
  decipherUs?: number;
  /** Events/s appended one per append. */
  singlePerSecond: number;
  /** Events/s appended {@link BATCH} per append. */
  batchPerSecond: number;
  /** Events/s read. */
  readsPerSecond: number;
}

const RATE_KEYS = ['singlePerSecond', 'batchPerSecond', 'readsPerSecond'] as const;
type RateKey = (typeof RATE_KEYS)[number];

/** One event's version 2 seal, sealed beforehand, as the decipher-alone timing opens it. */
interface Sealed {
  iv: Buffer;
  tag: Buffer;
  body: Buffer;
  aad: Buffer;
}

/**
 * Seals the two personal fields of every event in `store` as the encrypting store's version 2
 * format does (a JSON array of the values, AES-256-GCM, bound to the event id and field
 * list), with a key made here: what {@link decipherAlone} opens. Not timed.
 */
async function sealAll(
  store: EventStore,
): Promise<{ key: ReturnType<typeof createSecretKey>; sealed: Sealed[] }> {
  const key = createSecretKey(randomBytes(32));
  const sealed: Sealed[] = [];
  for await (const e of store.readAll()) {
    const data = e.data as { note?: string; warehouse?: string };
    const iv = randomBytes(12);
    const aad = Buffer.from(`cw2\n${e.id}\n$.note\n$.warehouse`, 'utf8');
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(aad);
    const plaintext = Buffer.from(JSON.stringify([data.note, data.warehouse]), 'utf8');
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    sealed.push({ iv, tag: cipher.getAuthTag(), body, aad });
  }
  return { key, sealed };
}

/**
 * Microseconds per event of the bare `node:crypto` work of opening the seals of
 * {@link sealAll}, `passes` times over (as the reads): nothing else, no base64,
 * no JSON, no event. The floor of any read decrypting one AES-GCM seal per event.
 */
function decipherAlone(
  key: ReturnType<typeof createSecretKey>,
  sealed: readonly Sealed[],
  passes: number,
): number {
  let bytes = 0;
  const start = performance.now();
  for (let pass = 0; pass < passes; pass++)
    for (const { iv, tag, body, aad } of sealed) {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      bytes += decipher.update(body).length;
      decipher.final();
    }
  const ms = performance.now() - start;
  if (bytes === 0) throw new Error('decipher alone: nothing opened');
  return (ms * 1000) / (sealed.length * passes);
}

/** Per event, in µs, of one run: what bounds the encrypted reads' ratio. */
interface Ceiling {
  /** A plain read, per event. */
  plainReadUs: number;
  /** The bare decipher of one event's seal ({@link decipherAlone}). */
  decipherUs: number;
  /** An encrypted read, per event (when the run had the encrypted mode). */
  encryptedReadUs?: number;
  /** What the encrypted read spent beyond the plain read and the bare decipher. */
  restUs?: number;
  /** The best encrypted-reads ratio a read deciphering every event can reach: plain / (plain + decipher). */
  ceiling: number;
}

async function wrap(mode: Mode, opened: Opened): Promise<EventStore> {
  if (mode === 'plain') return opened.raw;
  if (mode === 'chained') return integrityEventStore(opened.raw);
  if (mode === 'anchored')
    return integrityEventStore(opened.raw, { anchors: await opened.anchors() });
  const inner = mode === 'both' ? integrityEventStore(opened.raw) : opened.raw;
  return encryptedEventStore(inner, { keyStore: opened.keys, masterKey, personal });
}

async function runMode(mode: Mode, opened: Opened, events: number, passes: number): Promise<Rates> {
  const store = await wrap(mode, opened);
  const singles = Math.max(STREAMS, Math.floor(events / 4));
  const single = await measure(async () => {
    for (let n = 0; n < singles; n++) await store.append(`order-${n % STREAMS}`, [event(n)]);
    return singles;
  });
  const batch = await measure(async () => {
    let n = singles;
    for (let b = 0; n < singles + events; b++) {
      const batchEvents = Array.from({ length: BATCH }, (_, i) => event(n + i));
      await store.append(`order-${b % STREAMS}`, batchEvents);
      n += BATCH;
    }
    return n - singles;
  });
  const total = singles + batch.items;
  let touched = 0;
  // One read first, not timed, in every mode alike: the timed reads measure what each event
  // costs, not the compiling of the read (and decrypt) paths the first events pay, which in
  // a short run would otherwise count against whichever mode meets it first.
  let warmed = 0;
  for await (const e of store.readAll()) if ((e.data as { note?: string }).note) warmed++;
  if (warmed === 0) throw new Error(`${mode}: nothing read`);
  const reads = await measure(async () => {
    let read = 0;
    for (let pass = 0; pass < passes; pass++)
      for await (const e of store.readAll()) {
        // Use the personal fields, as a consumer would: a read that never looks at them must
        // not be what is measured.
        const data = e.data as { note?: string; warehouse?: string };
        touched += (data.note?.length ?? 0) + (data.warehouse?.length ?? 0);
        read++;
      }
    return read;
  });
  if (touched === 0) throw new Error(`${mode}: no personal field read`);
  if (reads.items !== total * passes)
    throw new Error(`${mode}: read ${reads.items} events, expected ${total * passes}`);
  let decipherUs: number | undefined;
  if (mode === 'plain') {
    const { key, sealed } = await sealAll(store);
    decipherUs = decipherAlone(key, sealed, passes);
  }
  return {
    singlePerSecond: perSecond(single),
    batchPerSecond: perSecond(batch),
    readsPerSecond: perSecond(reads),
    ...(decipherUs !== undefined ? { decipherUs } : {}),
  };
}

/** A run's {@link Ceiling}, from its plain (and encrypted) rates. */
function ceilingOf(run: Partial<Record<Mode, Rates>>): Ceiling | undefined {
  const decipherUs = run.plain?.decipherUs;
  if (run.plain === undefined || decipherUs === undefined) return undefined;
  const plainReadUs = 1e6 / run.plain.readsPerSecond;
  return {
    plainReadUs,
    decipherUs,
    ...(run.encrypted
      ? {
          encryptedReadUs: 1e6 / run.encrypted.readsPerSecond,
          restUs: 1e6 / run.encrypted.readsPerSecond - plainReadUs - decipherUs,
        }
      : {}),
    ceiling: plainReadUs / (plainReadUs + decipherUs),
  };
}

type EngineOutcome =
  | { engine: Engine; status: 'skipped'; reason: string }
  | {
      engine: Engine;
      status: 'measured';
      runs: Record<Mode, Rates>[];
      median: Record<Mode, Rates>;
      /** Median over runs of each mode's rate divided by plain's in the same run. */
      ratios: Record<Mode, Rates>;
      /** Each run's {@link Ceiling}, and the median of each figure. */
      ceilings: Ceiling[];
      ceiling: Ceiling;
    };

async function runEngine(
  engine: Engine,
  settings: { runs: number; events: number; modes: readonly Mode[]; passes: number },
  postgresUrl: string,
  progress: (line: string) => void,
): Promise<EngineOutcome> {
  const { runs, events, modes, passes } = settings;
  if (engine === 'postgres') {
    const reason = await postgresUnreachable(postgresUrl);
    if (reason !== undefined)
      return { engine, status: 'skipped', reason: `${redactUrl(postgresUrl)}: ${reason}` };
  }
  const results: Record<Mode, Rates>[] = [];
  for (let run = 1; run <= runs; run++) {
    const targets =
      engine === 'sqlite'
        ? await sqliteTargets()
        : await postgresTargets(postgresUrl, `causeway_bench_security_${run}`);
    try {
      const perMode = {} as Record<Mode, Rates>;
      // Rotate the order of the modes from run to run.
      const order = modes.map((_, i) => modes[(i + run - 1) % modes.length] as Mode);
      for (const mode of order) {
        const target = await targets.forStore(mode);
        let opened: Opened;
        if (target.kind === 'sqlite') {
          const raw = SqliteEventStore.open(target.file);
          opened = {
            raw,
            keys: SqliteKeyStore.open(raw),
            anchors: () => sqliteChainAnchorStore(raw),
            close: () => raw.close(),
          };
        } else {
          const raw = await PostgresEventStore.open(target.url, { schema: target.schema });
          const keys = await PostgresKeyStore.open(raw);
          opened = {
            raw,
            keys,
            anchors: () => postgresChainAnchorStore(raw),
            close: async () => {
              await keys.close();
              await raw.close();
            },
          };
        }
        try {
          perMode[mode] = await runMode(mode, opened, events, passes);
        } finally {
          await opened.close();
        }
        progress(
          `${engine} run ${run}/${runs} ${mode}: ${formatCount(perMode[mode].singlePerSecond)} single, ${formatCount(perMode[mode].batchPerSecond)} batched appended/s, ${formatCount(perMode[mode].readsPerSecond)} read/s`,
        );
      }
      results.push(perMode);
    } finally {
      await targets.cleanup();
    }
  }
  const rates = (value: (key: RateKey) => number): Rates => ({
    singlePerSecond: value('singlePerSecond'),
    batchPerSecond: value('batchPerSecond'),
    readsPerSecond: value('readsPerSecond'),
  });
  const summarise = (value: (r: Record<Mode, Rates>, mode: Mode, key: RateKey) => number) =>
    Object.fromEntries(
      modes.map((m) => [m, rates((k) => median(results.map((r) => value(r, m, k))))]),
    ) as Record<Mode, Rates>;
  const ceilings = results.map(ceilingOf).filter((c): c is Ceiling => c !== undefined);
  const mid = (value: (c: Ceiling) => number | undefined) =>
    median(ceilings.map(value).filter((v): v is number => v !== undefined));
  return {
    engine,
    status: 'measured',
    runs: results,
    median: summarise((r, m, k) => r[m][k]),
    ratios: summarise((r, m, k) => r[m][k] / r.plain[k]),
    ceilings,
    ceiling: {
      plainReadUs: mid((c) => c.plainReadUs),
      decipherUs: mid((c) => c.decipherUs),
      encryptedReadUs: mid((c) => c.encryptedReadUs),
      restUs: mid((c) => c.restUs),
      ceiling: mid((c) => c.ceiling),
    },
  };
}

function formatReport(outcomes: readonly EngineOutcome[]): string {
  const rows: string[][] = [];
  for (const o of outcomes) {
    if (o.status === 'skipped') {
      rows.push([o.engine, 'SKIPPED', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    for (const mode of MODES.filter((m) => m in o.median))
      rows.push([
        o.engine,
        mode,
        ...RATE_KEYS.flatMap((k) => [
          formatCount(o.median[mode][k]),
          formatRatio(o.ratios[mode][k]),
        ]),
      ]);
  }
  return formatTable(
    [
      { header: 'engine' },
      { header: 'mode' },
      { header: 'single appends ev/s', align: 'right' },
      { header: 'vs plain', align: 'right' },
      { header: `batch-${BATCH} appends ev/s`, align: 'right' },
      { header: 'vs plain', align: 'right' },
      { header: 'reads ev/s', align: 'right' },
      { header: 'vs plain', align: 'right' },
    ],
    rows,
  );
}

/** The ceiling of the encrypted-reads bar per engine (see the module comment), as a table. */
function ceilingTable(outcomes: readonly EngineOutcome[]): DocTable {
  const us = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(2));
  const rows: string[][] = [];
  for (const o of outcomes) {
    if (o.status !== 'measured') continue;
    const { plainReadUs, decipherUs, encryptedReadUs, restUs, ceiling } = o.ceiling;
    rows.push([
      o.engine,
      us(plainReadUs),
      us(decipherUs),
      us(encryptedReadUs),
      us(restUs),
      formatRatio(ceiling),
      formatRatio(o.ratios.encrypted?.readsPerSecond ?? Number.NaN),
    ]);
  }
  return {
    title:
      'What bounds encrypted reads, in µs per event (medians of the runs): the bare node:crypto AES-256-GCM decipher of one seal per event, and the best ratio any read deciphering every event could reach, plain / (plain + decipher)',
    header: [
      'engine',
      'plain read',
      'decipher alone',
      'encrypted read',
      'rest of decrypting',
      'ceiling',
      'encrypted reads measured',
    ],
    align: ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows,
  };
}

/** Runs the benchmark (see the module comment). */
export async function run(argv: readonly string[]): Promise<void> {
  const { quick, runs, values } = parseBenchArgs(argv, {
    adapter: { type: 'string' },
    events: { type: 'string' },
  });
  const engines = values.adapter === undefined ? [...ENGINES] : [values.adapter];
  for (const e of engines)
    if (!(ENGINES as readonly string[]).includes(e))
      throw new Error(`--adapter must be one of ${ENGINES.join(', ')}, not "${e}"`);
  const events = Number(values.events ?? (quick ? 600 : 2000));
  if (!Number.isSafeInteger(events) || events < STREAMS)
    throw new Error(`--events must be an integer >= ${STREAMS}`);
  const postgresUrl = process.env.CAUSEWAY_PG_URL ?? DEFAULT_POSTGRES_URL;
  const progress = (line: string) => process.stderr.write(`${line}\n`);

  const machine = machineInfo();
  console.log(
    `security benchmark on ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; ` +
      `${formatCount(Math.max(STREAMS, Math.floor(events / 4)))} single-event appends and ${formatCount(events)} events in batches of ${BATCH} over ${STREAMS} streams, ${quick ? READ_PASSES.quick : READ_PASSES.full} full reads, ${runs} run${runs === 1 ? '' : 's'}`,
  );
  const started = performance.now();
  const outcomes: EngineOutcome[] = [];
  for (const engine of engines as Engine[]) {
    const outcome = await runEngine(
      engine,
      {
        runs,
        events,
        modes: quick ? QUICK_MODES : MODES,
        passes: quick ? READ_PASSES.quick : READ_PASSES.full,
      },
      postgresUrl,
      progress,
    );
    if (outcome.status === 'skipped') progress(`!! ${engine} SKIPPED: ${outcome.reason}`);
    outcomes.push(outcome);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`\n${formatReport(outcomes)}\n`);
  const bars: BarResult[] = outcomes.map((o) =>
    barResult(
      {
        id: `${o.engine}.encrypted-reads-vs-plain`,
        label: 'reads with two encrypted fields per event vs plain reads',
        adapter: o.engine,
        bar: 0.6,
        comparator: '>=',
        unit: 'x',
      },
      o.status === 'measured'
        ? o.runs.map((r) => r.encrypted.readsPerSecond / r.plain.readsPerSecond)
        : [],
      o.status === 'skipped' ? o.reason : undefined,
    ),
  );
  console.log(`${formatBars(bars, runs)}\n`);
  const ceilings = ceilingTable(outcomes);
  console.log(`${ceilings.title}:\n${formatDocTable(ceilings)}\n`);
  const path = await writeResults('security', {
    quick,
    runs,
    bars,
    docTables: [ceilings],
    options: {
      runs,
      events,
      engines,
      streams: STREAMS,
      batch: BATCH,
      customers: CUSTOMERS,
      readPasses: quick ? READ_PASSES.quick : READ_PASSES.full,
      modes: quick ? QUICK_MODES : MODES,
    },
    engines: outcomes,
    durationSeconds: seconds,
  });
  console.log(`results written to ${path} (${seconds.toFixed(0)} s)`);
}
