import { formatCount, formatMiB, formatRatio, formatTable, type Column } from '../lib/table.js';
import { barResult, type BarResult } from '../lib/bars.js';
import type { DocTable } from '../lib/results.js';
import { median } from '../lib/timing.js';
import { eventCount, type StorePlan } from './plan.js';
import type { ReadMemoryResult } from './read-memory.js';
import { RAW, type MeasureId, type Measured } from './recorder.js';
import { CAUSEWAY, type EngineOutcome } from './run-engine.js';

/** Causeway must be at least this many times faster than the best peer, on every workload. */
export const PEER_BAR = 2;

/** A bar a ratio must clear. */
interface Bar {
  min: number;
  /** Whether the ratio must be strictly above `min`. */
  strict: boolean;
}

/** One workload's numbers across stores, medians of the runs. */
export interface WorkloadSummary {
  workload: string;
  title: string;
  events: number;
  causeway: Stat;
  baseline: Stat & { measure: MeasureId; label: string };
  /** Causeway's rate over the baseline's (the median of `vsBaselineRuns`). */
  vsBaseline: number | undefined;
  /** Causeway's rate over the baseline's in each run (NaN where either failed). */
  vsBaselineRuns: number[];
  baselineBar: (Bar & { met: boolean | undefined }) | undefined;
  peers: (Stat & { name: string; causewayRatio: number | undefined })[];
  /** Causeway's rate over the best peer's (the fastest that completed). */
  vsBestPeer: number | undefined;
  /** The best peer's name and Causeway's ratio over it in each run. */
  bestPeer: { name: string; runs: number[] } | undefined;
  peerBar: (Bar & { met: boolean | undefined }) | undefined;
  /** The floor measured beside this workload, if it has one (informational, no bar). */
  floor?: FloorSummary;
}

/** A floor's median events/s, with Causeway's ratio to it. */
export interface FloorSummary extends Stat {
  measure: MeasureId;
  label: string;
  /** Causeway's rate over the floor's (the median of `vsFloorRuns`). */
  vsFloor: number | undefined;
  /** Causeway's rate over the floor's in each run (NaN where either failed). */
  vsFloorRuns: number[];
}

/** Median events/s of one store on one measurement, with the runs behind it. */
export interface Stat {
  median: number | undefined;
  runs: number[];
  errors: string[];
}

/** An engine's summary: the workload rows and the baseline-only measurement. */
export interface EngineSummary {
  engine: string;
  workloads: WorkloadSummary[];
  allInOneTransaction: Stat;
}

interface RowSpec {
  workload: 'sequential' | 'batched' | 'concurrent' | 'readAll' | 'readStream';
  title: string;
  events: number;
  baseline: MeasureId;
  label: string;
  bar?: Bar;
}

/**
 * The bars against the raw driver, by engine and workload (the figures of issue 15:
 * batched appends on SQLite ≥ 0.8× raw transactions of 100 rows, sequential appends on
 * PostgreSQL ≥ 0.9× raw one-row transactions).
 */
const RAW_BARS: Record<string, Partial<Record<RowSpec['workload'], Bar>>> = {
  sqlite: { batched: { min: 0.8, strict: false } },
  postgres: { sequential: { min: 0.9, strict: false }, batched: { min: 0.7, strict: false } },
};

/** A floor: the raw driver doing work an append cannot skip, measured like the baselines. */
interface FloorSpec {
  measure: MeasureId;
  label: string;
}

/**
 * The floors, by engine and workload: informational figures beside two missed bars, to show
 * what bounds them. PostgreSQL sequential appends: raw one-row statements that also advance
 * the position counter and upsert the stream row, as an append must. SQLite appends of 100:
 * raw transactions of 100 rows that also encode each row (JSON, id) in the loop.
 */
const FLOORS: Record<string, Partial<Record<RowSpec['workload'], FloorSpec>>> = {
  sqlite: {
    batched: { measure: 'transactionsOf100Encoding', label: '100 rows/tx + encoding (JSON, ids)' },
  },
  postgres: {
    sequential: { measure: 'storeWritesPerRow', label: '1 row/tx + counter + stream upsert' },
  },
};

function rowSpecs(plan: StorePlan, engine: string): RowSpec[] {
  const c = (n: number) => formatCount(n);
  const batch = plan.batched[0]?.events.length ?? 0;
  const specs: RowSpec[] = [
    {
      workload: 'sequential',
      title: `1 ${c(plan.sequential.length)} sequential appends`,
      events: plan.sequential.length,
      baseline: 'onePerTransaction',
      label: '1 row/tx',
    },
    {
      workload: 'batched',
      title: `2 ${c(plan.batched.length)} appends of ${batch}`,
      events: eventCount(plan.batched),
      baseline: 'transactionsOf100',
      label: '100 rows/tx',
    },
    {
      workload: 'concurrent',
      title: `3 ${plan.concurrent.length} writers, ${c(plan.concurrent.flat().length)} appends`,
      events: plan.concurrent.flat().length,
      baseline: 'concurrentWriters',
      label: `${plan.concurrent.length} writers, group commit`,
    },
    {
      workload: 'readAll',
      title: `4 readAll of ${c(eventCount(plan.batched))}`,
      events: eventCount(plan.batched),
      baseline: 'selectAll',
      label: 'full select',
    },
    {
      workload: 'readStream',
      title: `5 readStream of ${c(eventCount(plan.longStream))}`,
      events: eventCount(plan.longStream),
      baseline: 'selectStream',
      label: 'stream select',
    },
  ];
  return specs.map((spec) => {
    const bar = RAW_BARS[engine]?.[spec.workload];
    return bar ? { ...spec, bar } : spec;
  });
}

function stat(m: Measured | undefined): Stat {
  const rates = Object.values(m?.rates ?? {});
  return {
    median: rates.length > 0 ? median(rates) : undefined,
    runs: rates,
    errors: Object.values(m?.errors ?? {}),
  };
}

/**
 * The median over runs of a's rate divided by b's in the same run. Pairing by run cancels
 * most of the drift between runs on a shared machine, which a ratio of medians would not.
 */
function pairedRatio(a: Measured | undefined, b: Measured | undefined): number | undefined {
  const ratios = pairedRatios(a, b).filter((r) => Number.isFinite(r));
  return ratios.length > 0 ? median(ratios) : undefined;
}

/** a's rate over b's, run by run (NaN for a run where either failed). */
function pairedRatios(a: Measured | undefined, b: Measured | undefined): number[] {
  const runs = new Set([...Object.keys(a?.rates ?? {}), ...Object.keys(b?.rates ?? {})]);
  return [...runs]
    .map(Number)
    .sort((x, y) => x - y)
    .map((run) => {
      const mine = a?.rates[run];
      const other = b?.rates[run];
      return mine !== undefined && other !== undefined && other > 0 ? mine / other : Number.NaN;
    });
}

function check(value: number | undefined, bar: Bar | undefined) {
  if (!bar) return undefined;
  return {
    ...bar,
    met: value === undefined ? undefined : bar.strict ? value > bar.min : value >= bar.min,
  };
}

/** Medians and ratios of an engine that ran. */
export function summarize(
  outcome: EngineOutcome & { status: 'ran' },
  plan: StorePlan,
): EngineSummary {
  const measured = (store: string, m: MeasureId) => outcome.results[store]?.[m];
  const of = (store: string, m: MeasureId) => stat(measured(store, m));
  const peerNames = outcome.stores.filter((s) => s !== CAUSEWAY);
  const workloads = rowSpecs(plan, outcome.engine).map((spec): WorkloadSummary => {
    const causeway = of(CAUSEWAY, spec.workload);
    const baseline = of(RAW, spec.baseline);
    const vsBaseline = pairedRatio(measured(CAUSEWAY, spec.workload), measured(RAW, spec.baseline));
    const peers = peerNames.map((name) => ({
      name,
      ...of(name, spec.workload),
      causewayRatio: pairedRatio(measured(CAUSEWAY, spec.workload), measured(name, spec.workload)),
    }));
    // The best peer is the fastest one (by median of the runs it completed).
    const best = peers
      .filter((p) => p.median !== undefined && p.causewayRatio !== undefined)
      .sort((a, b) => (b.median as number) - (a.median as number))[0];
    const vsBestPeer = best?.causewayRatio;
    const floorSpec = FLOORS[outcome.engine]?.[spec.workload];
    const floorMeasured = floorSpec && measured(RAW, floorSpec.measure);
    const floor: FloorSummary | undefined =
      floorSpec && floorMeasured
        ? {
            ...stat(floorMeasured),
            measure: floorSpec.measure,
            label: floorSpec.label,
            vsFloor: pairedRatio(measured(CAUSEWAY, spec.workload), floorMeasured),
            vsFloorRuns: pairedRatios(measured(CAUSEWAY, spec.workload), floorMeasured),
          }
        : undefined;
    return {
      workload: spec.workload,
      title: spec.title,
      events: spec.events,
      causeway,
      baseline: { ...baseline, measure: spec.baseline, label: spec.label },
      vsBaseline,
      vsBaselineRuns: pairedRatios(measured(CAUSEWAY, spec.workload), measured(RAW, spec.baseline)),
      baselineBar: check(vsBaseline, spec.bar),
      peers,
      vsBestPeer,
      bestPeer: best
        ? {
            name: best.name,
            runs: pairedRatios(
              measured(CAUSEWAY, spec.workload),
              measured(best.name, spec.workload),
            ),
          }
        : undefined,
      peerBar:
        vsBestPeer === undefined ? undefined : check(vsBestPeer, { min: PEER_BAR, strict: false }),
      ...(floor ? { floor } : {}),
    };
  });
  return { engine: outcome.engine, workloads, allInOneTransaction: of(RAW, 'allInOneTransaction') };
}

/**
 * The bars of one engine for the result file: each workload's ratio to the raw driver
 * where it has a bar, and its ratio to the best peer (when peers ran) against
 * {@link PEER_BAR}. `measured` is the median of the per-run ratios.
 */
export function storeBars(summary: EngineSummary): BarResult[] {
  const adapter = summary.engine;
  return summary.workloads.flatMap((wl): BarResult[] => {
    const bars: BarResult[] = [];
    const bar = wl.baselineBar;
    if (bar) {
      bars.push(
        barResult(
          {
            id: `${adapter}.${wl.workload}-vs-raw`,
            label: `${wl.title.replace(/^\d+ /, '')} vs raw ${wl.baseline.label}`,
            adapter,
            bar: bar.min,
            comparator: '>=',
            unit: 'x',
          },
          wl.vsBaselineRuns,
        ),
      );
    }
    if (wl.bestPeer) {
      bars.push(
        barResult(
          {
            id: `${adapter}.${wl.workload}-vs-best-peer`,
            label: `${wl.title.replace(/^\d+ /, '')} vs ${wl.bestPeer.name}`,
            adapter,
            bar: PEER_BAR,
            comparator: '>=',
            unit: 'x',
          },
          wl.bestPeer.runs,
        ),
      );
    }
    return bars;
  });
}

/**
 * A floor as the result file records it (`floors`, beside `bars`): Causeway's rate over a
 * raw measurement that does work the store cannot skip, run by run and as the median of the
 * per-run ratios. Informational: it has no bar, it shows what bounds one.
 */
export interface FloorResult {
  /** Unique within the result file, e.g. `postgres.sequential-vs-floor`. */
  id: string;
  /** What is compared, in words. */
  label: string;
  adapter: string;
  /** The workload's key (e.g. `sequential`). */
  workload: string;
  /** The workload in words (e.g. `10,000 sequential appends`). */
  title: string;
  /** What the floor does. */
  floor: string;
  /** The floor's median events/s over runs (`null` when every run failed). */
  floorRate: number | null;
  /** The floor's events/s in each run that completed. */
  floorRuns: number[];
  /** Causeway's median events/s on the workload. */
  rate: number | null;
  /** The median of the per-run ratios (`null` when none). */
  measured: number | null;
  /** Causeway's rate over the floor's in each run (NaN, written as null, where either failed). */
  runs: number[];
  unit: 'x';
}

/** The floors of one engine for the result file (see {@link FloorResult}). */
export function storeFloors(summary: EngineSummary): FloorResult[] {
  return summary.workloads.flatMap((wl): FloorResult[] => {
    const floor = wl.floor;
    if (!floor) return [];
    return [
      {
        id: `${summary.engine}.${wl.workload}-vs-floor`,
        label: `${wl.title.replace(/^\d+ /, '')} vs raw ${floor.label}`,
        adapter: summary.engine,
        workload: wl.workload,
        title: wl.title.replace(/^\d+ /, ''),
        floor: floor.label,
        floorRate: floor.median ?? null,
        floorRuns: floor.runs,
        rate: wl.causeway.median ?? null,
        measured: floor.vsFloor ?? null,
        runs: floor.vsFloorRuns,
        unit: 'x',
      },
    ];
  });
}

/** An engine's workloads as a table for `docs/benchmarks.md` (medians, events/s). */
export function storeDocTable(
  summary: EngineSummary,
  outcome: EngineOutcome & { status: 'ran' },
): DocTable {
  const title = ENGINE_TITLES[summary.engine] ?? summary.engine;
  const peerNames = outcome.stores.filter((s) => s !== CAUSEWAY);
  const value = (st: Stat) =>
    st.median === undefined ? (st.errors.length > 0 ? 'failed' : '-') : formatCount(st.median);
  return {
    title: `${title}, events/s (medians of ${outcome.runs} runs; ratios are medians of each run's ratio)`,
    header: [
      'workload',
      'Causeway',
      `raw ${outcome.rawDriver}`,
      'vs raw',
      ...peerNames.flatMap((n) => [n, `vs ${n}`]),
    ],
    align: [
      'left',
      'right',
      'right',
      'right',
      ...peerNames.flatMap((): 'right'[] => ['right', 'right']),
    ],
    rows: summary.workloads.map((wl) => [
      wl.title.replace(/^(\d) /, '$1. '),
      value(wl.causeway),
      `${value(wl.baseline)} (${wl.baseline.label})`,
      formatRatio(wl.vsBaseline),
      ...wl.peers.flatMap((p) => [value(p), formatRatio(p.causewayRatio)]),
    ]),
  };
}

const ENGINE_TITLES: Record<string, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

/** The printed report of one engine. */
export function formatEngine(outcome: EngineOutcome, plan: StorePlan): string {
  const title = ENGINE_TITLES[outcome.engine] ?? outcome.engine;
  if (outcome.status === 'skipped') {
    return `${title}: SKIPPED (${outcome.reason})`;
  }
  const summary = summarize(outcome, plan);
  const peerNames = outcome.stores.filter((s) => s !== CAUSEWAY);
  const columns: Column[] = [
    { header: 'workload' },
    { header: 'Causeway', align: 'right' },
    { header: `raw ${outcome.rawDriver}`, align: 'right' },
    { header: '', align: 'left' },
    { header: 'vs raw', align: 'right' },
    { header: 'bar' },
    ...peerNames.flatMap((n): Column[] => [
      { header: n, align: 'right' },
      { header: `vs ${n}`, align: 'right' },
    ]),
  ];
  const rows = summary.workloads.flatMap((wl) => [
    [
      wl.title,
      cell(wl.causeway),
      cell(wl.baseline),
      wl.baseline.label,
      formatRatio(wl.vsBaseline),
      barCell(wl.baselineBar),
      ...wl.peers.flatMap((p) => [
        cell(p),
        p.causewayRatio === undefined
          ? '-'
          : `${formatRatio(p.causewayRatio)}${p.errors.length > 0 ? '*' : ''}${p.causewayRatio >= PEER_BAR ? '' : ' <2x'}`,
      ]),
    ],
    // The floor, if any, on a row of its own under its workload: its rate in the raw column.
    ...(wl.floor
      ? [['  floor', '', cell(wl.floor), wl.floor.label, formatRatio(wl.floor.vsFloor), FLOOR_CELL]]
      : []),
  ]);
  const floors = summary.workloads.some((wl) => wl.floor !== undefined);
  const partial = summary.workloads.some((wl) =>
    [wl.causeway, wl.baseline, ...(wl.floor ? [wl.floor] : []), ...wl.peers].some(
      (st) => st.errors.length > 0 && st.median !== undefined,
    ),
  );
  const lines = [
    `${title}: events/s, median of ${outcome.runs} run${outcome.runs === 1 ? '' : 's'}, each on a fresh database; ratios are medians of per-run ratios`,
    '',
    formatTable(columns, rows),
    ...(partial ? ['* median of the runs that completed (failures listed below)'] : []),
    ...(floors
      ? [
          `floor: the raw driver also doing work an append cannot skip, interleaved like the other raw figures; "vs raw" on its row is Causeway over the floor (${FLOOR_CELL})`,
        ]
      : []),
    '',
    `raw, all ${formatCount(eventCount(plan.batched))} rows of workload 2 in one transaction: ${cell(summary.allInOneTransaction)} events/s`,
  ];
  for (const note of outcome.notes) lines.push(`note: ${note}`);
  for (const u of outcome.unavailablePeers) lines.push(`!! ${u.name} not run: ${u.reason}`);
  for (const wl of summary.workloads) {
    for (const s of [
      { name: CAUSEWAY, ...wl.causeway },
      { name: 'raw', ...wl.baseline },
      ...(wl.floor ? [{ ...wl.floor, name: 'raw floor' }] : []),
      ...wl.peers,
    ]) {
      if (s.errors.length > 0) {
        const distinct = [...new Set(s.errors)];
        lines.push(
          `!! ${s.name}, workload ${wl.title}: failed in ${s.errors.length} of ${outcome.runs} runs: ${distinct.join(' / ')}`,
        );
      }
    }
  }
  const missed = summary.workloads.flatMap((wl) => [
    ...(wl.baselineBar?.met === false
      ? [
          `workload ${wl.title}: ${formatRatio(wl.vsBaseline)} of raw, bar ${barText(wl.baselineBar)}`,
        ]
      : []),
    ...(wl.peerBar?.met === false
      ? [`workload ${wl.title}: ${formatRatio(wl.vsBestPeer)} of the best peer, bar >=${PEER_BAR}x`]
      : []),
  ]);
  lines.push(missed.length === 0 ? 'bars: all met' : `bars MISSED:\n  ${missed.join('\n  ')}`);
  return lines.join('\n');
}

/** The printed report of the bounded-memory read. */
export function formatMemory(result: ReadMemoryResult): string {
  return [
    `SQLite bounded-memory read: readAll of ${formatCount(result.events)} events in a fresh process`,
    `  database ${formatMiB(result.databaseBytes)}; RSS before ${formatMiB(result.rssBeforeBytes)}, ` +
      `peak ${formatMiB(result.rssPeakBytes)}, growth ${formatMiB(result.rssGrowthBytes)}; ` +
      `${formatCount(result.readEventsPerSecond)} events/s (generated in ${(result.generateMs / 1000).toFixed(1)} s)`,
    `  RSS after each tenth of the read (MiB): ${mibList(result.rssByTenthBytes)}`,
    `  live heap after a full GC at each tenth, second read (MiB): ${mibList(result.liveHeapByTenthBytes)}`,
  ].join('\n');
}

function mibList(bytes: readonly number[]): string {
  return bytes.map((b) => (b / 1024 / 1024).toFixed(0)).join(', ');
}

/** The bar column of a floor's row: it has none. */
const FLOOR_CELL = 'informational, no bar';

function cell(s: Stat): string {
  if (s.median === undefined) return s.errors.length > 0 ? 'failed' : '-';
  return `${formatCount(s.median)}${s.errors.length > 0 ? '*' : ''}`;
}

function barText(bar: Bar): string {
  return `${bar.strict ? '>' : '>='}${bar.min}x`;
}

function barCell(bar: (Bar & { met: boolean | undefined }) | undefined): string {
  if (!bar) return '';
  return `${barText(bar)} ${bar.met === undefined ? '?' : bar.met ? 'ok' : 'MISSED'}`;
}
