import { formatCount } from '../lib/table.js';
import { measure, perSecond } from '../lib/timing.js';
import { loadPeers, type UnavailablePeer } from '../peers/index.js';
import type { StorePeer, StorePeerFactory, StoreTarget } from '../peers/store-peer.js';
import { causewayPeer } from './causeway-peer.js';
import { eventCount, type StorePlan } from './plan.js';
import type { RawBaseline } from './raw-baseline.js';
import { groupCommitWriters } from './raw-group-commit.js';
import { openRawPostgres } from './raw-postgres.js';
import { openRawSqlite } from './raw-sqlite.js';
import { RAW, Recorder, WORKLOADS, type MeasureId, type Measured } from './recorder.js';
import {
  postgresTargets,
  postgresUnreachable,
  redactUrl,
  sqliteTargets,
  type RunTargets,
} from './targets.js';
import * as w from './workloads.js';

/** How one engine is benchmarked. */
export interface EngineOptions {
  engine: StoreTarget['kind'];
  plan: StorePlan;
  runs: number;
  /** Whether to run the peers too. */
  peers: boolean;
  postgresUrl: string;
  /** Prints one progress line. */
  progress: (line: string) => void;
}

/** The outcome of one engine: its per-run measurements, or why it was skipped. */
export type EngineOutcome =
  | { engine: StoreTarget['kind']; status: 'skipped'; reason: string }
  | {
      engine: StoreTarget['kind'];
      status: 'ran';
      runs: number;
      /** Stores measured, Causeway first. */
      stores: string[];
      rawDriver: string;
      notes: string[];
      unavailablePeers: UnavailablePeer[];
      results: Record<string, Partial<Record<MeasureId, Measured>>>;
    };

/** Causeway's name in the results. */
export const CAUSEWAY = causewayPeer.name;

/**
 * Runs every workload `runs` times on one engine, each run on fresh databases: Causeway,
 * the raw-driver baseline and the peers, workload by workload, so that all of them see the
 * machine in the same state.
 */
export async function runEngine(options: EngineOptions): Promise<EngineOutcome> {
  const { engine, plan, runs, progress } = options;
  if (engine === 'postgres') {
    const reason = await postgresUnreachable(options.postgresUrl);
    if (reason !== undefined) {
      return {
        engine,
        status: 'skipped',
        reason: `PostgreSQL unreachable at ${redactUrl(options.postgresUrl)}: ${reason}`,
      };
    }
  }
  const { peers, unavailable } = options.peers
    ? await loadPeers(engine)
    : { peers: [], unavailable: [] };
  for (const u of unavailable) progress(`!! ${u.name} unavailable on ${engine}: ${u.reason}`);
  const recorder = new Recorder();
  let rawDriver = '';
  let rawNotes = '';
  let concurrentNote = '';
  for (let run = 1; run <= runs; run++) {
    const targets =
      engine === 'sqlite'
        ? await sqliteTargets()
        : await postgresTargets(options.postgresUrl, `causeway_bench_${process.pid}_r${run}`);
    try {
      const opened = await openAll(targets, peers, run, recorder);
      if (typeof opened === 'string') {
        if (run === 1) return { engine, status: 'skipped', reason: opened };
        throw new Error(opened);
      }
      rawDriver = opened.raw.driver;
      rawNotes = opened.raw.notes;
      concurrentNote = opened.raw.insertConcurrently
        ? `raw concurrent writers: ${plan.concurrent.length} writers, each on its own connection, one row per transaction (the server's group commit)`
        : `raw concurrent writers: ${plan.concurrent.length} writers on one connection with a hand-written group commit (rows waiting when a commit ends go in the next one, in one transaction)${engine === 'sqlite' ? '; SQLite serialises writers, so this is the raw way to share commits' : ''}`;
      try {
        await runOnce(opened, plan, run, recorder, (line) =>
          progress(`[${engine} run ${run}/${runs}] ${line}`),
        );
      } finally {
        for (const store of opened.stores) await store.peer.close().catch(() => undefined);
        await opened.raw.close().catch(() => undefined);
      }
    } finally {
      await targets.cleanup();
    }
  }
  return {
    engine,
    status: 'ran',
    runs,
    stores: [CAUSEWAY, ...peers.map((p) => p.name)],
    rawDriver,
    notes: [causewayPeer, ...peers]
      .map((p) => p.notes[engine] ?? '')
      .concat(rawNotes, concurrentNote),
    unavailablePeers: unavailable,
    results: recorder.snapshot(),
  };
}

interface OpenStores {
  stores: { name: string; peer: StorePeer }[];
  raw: RawBaseline;
}

/** Opens Causeway, the baseline and the peers; a string says why Causeway could not open. */
async function openAll(
  targets: RunTargets,
  peers: readonly StorePeerFactory[],
  run: number,
  recorder: Recorder,
): Promise<OpenStores | string> {
  const target = await targets.forStore(CAUSEWAY);
  let causeway: StorePeer;
  try {
    causeway = await causewayPeer.open(target);
  } catch (error) {
    return `Causeway's ${target.kind} adapter did not open: ${(error as Error).message}`;
  }
  const stores = [{ name: CAUSEWAY, peer: causeway }];
  let raw: RawBaseline;
  try {
    const rawTarget = await targets.forStore(RAW);
    raw =
      target.kind === 'sqlite' && rawTarget.kind === 'sqlite'
        ? openRawSqlite(rawTarget.file, target.file)
        : target.kind === 'postgres' && rawTarget.kind === 'postgres'
          ? await openRawPostgres(target.url, rawTarget.schema, target.schema)
          : unreachable();
  } catch (error) {
    await causeway.close();
    throw error;
  }
  for (const factory of peers) {
    try {
      stores.push({
        name: factory.name,
        peer: await factory.open(await targets.forStore(factory.name)),
      });
    } catch (error) {
      for (const m of WORKLOADS)
        recorder.fail(factory.name, m, run, new Error(`did not open: ${(error as Error).message}`));
    }
  }
  return { stores, raw };
}

/** One measured thing in an interleaved workload: a store's workload or a raw baseline. */
interface Part {
  store: string;
  measure: MeasureId;
  label: string;
  slices: number;
  run: (slice: number) => Promise<number>;
}

/**
 * Runs the parts slice by slice, every part's slice 1, then every part's slice 2..., with
 * the order rotated each slice, and records each part's total rate. A part that fails stops
 * there and is recorded as failed; the others go on.
 */
async function interleave(
  title: string,
  parts: readonly Part[],
  run: number,
  recorder: Recorder,
  progress: (line: string) => void,
): Promise<void> {
  const slices = Math.max(...parts.map((p) => p.slices));
  const totals = parts.map(() => ({ items: 0, ms: 0, error: undefined as Error | undefined }));
  for (let slice = 0; slice < slices; slice++) {
    for (let k = 0; k < parts.length; k++) {
      const i = (k + slice) % parts.length;
      const part = parts[i] as Part;
      const total = totals[i] as (typeof totals)[number];
      if (total.error || slice >= part.slices) continue;
      try {
        const sample = await measure(() => part.run(slice));
        total.items += sample.items;
        total.ms += sample.ms;
      } catch (error) {
        total.error = error instanceof Error ? error : new Error(String(error));
      }
    }
  }
  const shown = parts.map((part, i) => {
    const total = totals[i] as (typeof totals)[number];
    if (total.error) {
      recorder.fail(part.store, part.measure, run, total.error);
      return `${part.label} failed`;
    }
    const rate = perSecond(total);
    recorder.record(part.store, part.measure, run, rate);
    return `${part.label} ${formatCount(rate)}`;
  });
  progress(`${title}: ${shown.join(' | ')} events/s`);
}

/** Pause after the peers' turn, so work a peer left running in the background (closing a
 * connection, checkpointing) does not land in the next measurement. */
const SETTLE_MS = 250;

function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}

/** One run of the five workloads over every store and the baseline. */
async function runOnce(
  opened: OpenStores,
  plan: StorePlan,
  run: number,
  recorder: Recorder,
  progress: (line: string) => void,
): Promise<void> {
  const { stores, raw } = opened;
  // Causeway and the raw baseline are interleaved slice by slice; the peers then take their
  // turn, interleaved among themselves, so a peer's side effects never fall inside the
  // baseline comparison.
  const phase = async (title: string, parts: Part[]) => {
    const peerNames = new Set(stores.slice(1).map((st) => st.name));
    await interleave(
      title,
      parts.filter((p) => !peerNames.has(p.store)),
      run,
      recorder,
      progress,
    );
    const peerParts = parts.filter((p) => peerNames.has(p.store));
    if (peerParts.length > 0) {
      await interleave(`${title} (peers)`, peerParts, run, recorder, progress);
      await settle();
    }
  };
  const storeParts = (m: MeasureId, workload: w.SlicedWorkload): Part[] =>
    stores.map(({ name, peer }) => ({
      store: name,
      measure: m,
      label: name,
      slices: workload.slices,
      run: (slice) => workload.run(peer, slice),
    }));
  const rawPart = (
    m: MeasureId,
    slices: number,
    work: (slice: number) => Promise<number>,
  ): Part => ({
    store: RAW,
    measure: m,
    label: `raw ${rawLabel(m)}`,
    slices,
    run: work,
  });
  const rows = plan.rows;

  // The floors, where the baseline has them (informational, no bar).
  const withStoreWrites = raw.insertWithStoreWrites?.bind(raw);
  const withEncoding = raw.insertInTransactionsOfEncoding?.bind(raw);
  await phase('1 sequential appends', [
    ...storeParts('sequential', w.sequentialAppends(plan)),
    rawPart('onePerTransaction', w.SLICES, async (slice) => {
      const part = w.sliceOf(rows.sequential, slice, w.SLICES);
      await raw.insertOnePerTransaction(part);
      return part.length;
    }),
    ...(withStoreWrites
      ? [
          rawPart('storeWritesPerRow', w.SLICES, async (slice) => {
            const part = w.sliceOf(rows.sequential, slice, w.SLICES);
            await withStoreWrites(part);
            return part.length;
          }),
        ]
      : []),
  ]);

  const firstPositions = new Map<StorePeer, number>();
  await phase('2 appends of 100', [
    ...storeParts(
      'batched',
      w.batchedAppends(plan, (peer, position) => firstPositions.set(peer, position)),
    ),
    rawPart('transactionsOf100', w.SLICES, async (slice) => {
      const part = w.sliceOf(rows.batched, slice, w.SLICES);
      await raw.insertInTransactionsOf(part, 100);
      return part.length;
    }),
    ...(withEncoding
      ? [
          rawPart('transactionsOf100Encoding', w.SLICES, async (slice) => {
            const part = w.sliceOf(rows.batchedPlain, slice, w.SLICES);
            await withEncoding(part, 100);
            return part.length;
          }),
        ]
      : []),
    rawPart('allInOneTransaction', 1, async () => {
      await raw.insertAllInOneTransaction(rows.batched);
      return rows.batched.length;
    }),
  ]);

  await phase(`3 ${plan.concurrent.length} concurrent writers`, [
    ...storeParts('concurrent', w.concurrentAppends(plan)),
    rawPart('concurrentWriters', w.SLICES, async (slice) => {
      const shares = rows.concurrent.map((writer) => w.sliceOf(writer, slice, w.SLICES));
      await (raw.insertConcurrently
        ? raw.insertConcurrently(shares)
        : groupCommitWriters(raw, shares));
      return shares.reduce((sum, share) => sum + share.length, 0);
    }),
  ]);

  // Set-up for the reads: the long stream, and the raw mirror brought level with the stores.
  const noLongStream = new Map<string, Error>();
  for (const { peer, name } of stores) {
    await w.writeLongStream(peer, plan).catch((error: unknown) => {
      noLongStream.set(name, new Error(`long stream not written: ${(error as Error).message}`));
    });
  }
  await raw.insertInTransactionsOf(rows.rest, 1000);
  await settle();

  const total = eventCount(plan.batched);
  const rawFirst = rows.batched[0]?.position ?? 1;
  await phase(`4 readAll of ${formatCount(total)}`, [
    ...storeParts(
      'readAll',
      w.readAll(plan, (peer) => {
        const from = firstPositions.get(peer);
        if (from === undefined) throw new Error('nothing to read: workload 2 failed');
        return from;
      }),
    ),
    rawPart('selectAll', w.SLICES, (slice) => {
      const from = Math.floor((slice * total) / w.SLICES);
      const to = Math.floor(((slice + 1) * total) / w.SLICES);
      return raw.selectRange(rawFirst + from, to - from);
    }),
  ]);

  const streamRead = w.readLongStream(plan);
  await phase(`5 readStream of ${formatCount(eventCount(plan.longStream))}`, [
    ...storeParts('readStream', {
      slices: streamRead.slices,
      run: (peer, slice) => {
        const name = stores.find((s) => s.peer === peer)?.name ?? '';
        const missing = noLongStream.get(name);
        return missing ? Promise.reject(missing) : streamRead.run(peer, slice);
      },
    }),
    rawPart('selectStream', w.STREAM_READS, () => raw.selectStream(plan.longStreamName)),
  ]);
}

function rawLabel(m: MeasureId): string {
  switch (m) {
    case 'onePerTransaction':
      return '1 row/tx';
    case 'transactionsOf100':
      return '100 rows/tx';
    case 'allInOneTransaction':
      return 'all rows in 1 tx';
    case 'concurrentWriters':
      return 'concurrent writers';
    case 'selectAll':
      return 'full select';
    case 'selectStream':
      return 'stream select';
    case 'storeWritesPerRow':
      return "with the store's writes";
    case 'transactionsOf100Encoding':
      return '100 rows/tx with encoding';
    default:
      return m;
  }
}

function unreachable(): never {
  throw new Error('internal: store and baseline targets of different engines');
}
