import type { DocTable } from './results.js';

/** A column of a text table. */
export interface Column {
  header: string;
  /** Numbers read best right-aligned. Default `'left'`. */
  align?: 'left' | 'right';
}

/**
 * Lays out rows as a plain-text table with a header rule, padding every cell to its
 * column's width.
 *
 * @example
 * ```ts
 * formatTable([{ header: 'name' }, { header: 'events/s', align: 'right' }], [['a', '1,000']]);
 * ```
 */
export function formatTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
): string {
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const width = widths[i] ?? 0;
        return c.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(columns.map((c) => c.header)), rule, ...rows.map(line)].join('\n');
}

/** An integer with thousands separators, or `-` for a missing value. */
export function formatCount(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  return Math.round(value).toLocaleString('en-US');
}

/** A ratio such as `0.84x`, or `-` for a missing value. */
export function formatRatio(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  return `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}x`;
}

/** Mebibytes with one decimal. */
export function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Lays out a docs table ({@link DocTable}: header, alignment, rows) for the console, as
 * {@link formatTable} does, so one table serves both the printout and the result file.
 */
export function formatDocTable(table: Pick<DocTable, 'header' | 'align' | 'rows'>): string {
  return formatTable(
    table.header.map((header, i) => ({ header, align: table.align?.[i] ?? 'left' })),
    table.rows,
  );
}
