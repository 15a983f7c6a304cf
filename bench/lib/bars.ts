import { formatCount, formatTable, type Column } from './table.js';
import { median } from './timing.js';

/** How a measured value is compared with its bar. */
export type Comparator = '>=' | '<=';

/** The unit of a bar: a ratio to a baseline, a latency, or a rate. */
export type BarUnit = 'x' | 'ms' | 'per s';

/**
 * One bar of a benchmark as written to its result file: what was measured (the median over
 * runs), the figure it must reach, and whether it did. `docs/benchmarks.md` is generated
 * from these entries (`npm run bench:docs`), so their shape is a contract.
 */
export interface BarResult {
  /** Stable identifier, unique within the benchmark (e.g. `sqlite.batched-vs-raw`). */
  id: string;
  /** What is measured, in words (e.g. `1,000 appends of 100 vs raw, 100 rows/tx`). */
  label: string;
  /** The store adapter it was measured on, when it depends on one. */
  adapter?: string;
  /** The median over runs; `null` when no run produced a value (every run failed). */
  measured: number | null;
  bar: number;
  comparator: Comparator;
  unit: BarUnit;
  /** Whether `measured` meets the bar; false when nothing was measured. */
  met: boolean;
  /** The value of each run, in run order (`measured` is their median). */
  runs: number[];
  /** Why there is no value, or what to keep in mind when reading it. */
  note?: string;
}

/** What a benchmark knows about a bar before measuring it. */
export interface BarSpec {
  id: string;
  label: string;
  adapter?: string;
  bar: number;
  comparator: Comparator;
  unit: BarUnit;
}

/**
 * Turns per-run values into a bar entry: the median of the runs is `measured`, and `met`
 * compares it with the bar. Non-finite values (a failed run) are left out of the median.
 *
 * @example
 * ```ts
 * const entry = barResult(
 *   { id: 'sqlite.batched-vs-raw', label: 'appends of 100 vs raw', adapter: 'sqlite', bar: 0.8, comparator: '>=', unit: 'x' },
 *   [0.81, 0.79, 0.84],
 * ); // measured 0.81, met true
 * ```
 */
export function barResult(spec: BarSpec, runs: readonly number[], note?: string): BarResult {
  const values = runs.filter((v) => Number.isFinite(v));
  const measured = values.length > 0 ? median(values) : null;
  return {
    ...spec,
    measured,
    met: measured !== null && meets(measured, spec),
    runs: [...runs],
    ...(note === undefined ? {} : { note }),
  };
}

/** Whether a value meets a bar. */
export function meets(value: number, spec: Pick<BarSpec, 'bar' | 'comparator'>): boolean {
  return spec.comparator === '>=' ? value >= spec.bar : value <= spec.bar;
}

/** A value in its unit: `0.84x`, `3.2 ms`, `12,400/s`; `-` when missing. */
export function formatValue(value: number | null | undefined, unit: BarUnit): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  switch (unit) {
    case 'x':
      return `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}x`;
    case 'ms':
      return `${value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2)} ms`;
    case 'per s':
      return `${formatCount(value)}/s`;
  }
}

/** A bar as text: `>= 0.8x`, `<= 5 ms`. */
export function formatBar(spec: Pick<BarSpec, 'bar' | 'comparator' | 'unit'>): string {
  const value =
    spec.unit === 'x'
      ? `${spec.bar}x`
      : spec.unit === 'ms'
        ? `${spec.bar} ms`
        : `${formatCount(spec.bar)}/s`;
  return `${spec.comparator} ${value}`;
}

/**
 * The bars as a printed table with a met/missed column, and one line per bar that was
 * missed. `runs` is how many runs each median is over.
 */
export function formatBars(bars: readonly BarResult[], runs: number): string {
  if (bars.length === 0) return 'bars: none set for this benchmark';
  const columns: Column[] = [
    { header: 'bar' },
    { header: 'adapter' },
    { header: `measured (median of ${runs})`, align: 'right' },
    { header: 'runs', align: 'right' },
    { header: 'bar', align: 'right' },
    { header: 'met' },
  ];
  const rows = bars.map((b) => [
    b.label,
    b.adapter ?? '',
    formatValue(b.measured, b.unit),
    b.runs.map((v) => formatValue(v, b.unit)).join(' '),
    formatBar(b),
    b.met ? 'met' : b.measured === null ? 'MISSED (not measured)' : 'MISSED',
  ]);
  const missed = bars.filter((b) => !b.met).length;
  const notes = bars.filter((b) => b.note !== undefined).map((b) => `note (${b.id}): ${b.note}`);
  return [
    formatTable(columns, rows),
    ...notes,
    missed === 0 ? `bars: all ${bars.length} met` : `bars: ${missed} of ${bars.length} MISSED`,
  ].join('\n');
}
