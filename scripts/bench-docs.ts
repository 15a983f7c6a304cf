/**
 * Renders the generated blocks of docs/benchmarks.md from the committed result files
 * (bench/results/<name>.json), so no figure in the doc can drift from a measurement.
 *
 *   npm run bench:docs            rewrite the blocks
 *   npm run bench:docs -- --check exit 1 when the doc differs from what the committed
 *                                 result files give
 *
 * Only result files git tracks are read: `git add bench/results/<name>.json` before running it.
 * A block sits between `<!-- bench:<name> -->` and `<!-- /bench:<name> -->`; everything
 * outside the blocks is hand-written and kept as it is. A benchmark without a result file
 * (or whose file carries no bars, or is a --quick run) renders as not yet measured.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { formatBar, formatValue, type BarResult } from '../bench/lib/bars.js';
import { repoRoot, type DocTable, type ResultEnvironment } from '../bench/lib/results.js';
import { formatCount } from '../bench/lib/table.js';
import type { FloorResult } from '../bench/store/report.js';

/** The parts of a result file the doc is generated from. */
export interface RenderedResult extends Partial<ResultEnvironment> {
  quick?: boolean;
  runs?: number;
  bars?: BarResult[];
  /** Informational floors (no bar): Causeway over raw work it cannot skip, when measured. */
  floors?: FloorResult[];
  docTables?: DocTable[];
}

const BLOCK = /<!-- bench:([a-z0-9-]+) -->\n[\s\S]*?<!-- \/bench:\1 -->/g;

/** The text of one generated block (without its markers). */
export function renderBlock(name: string, result: RenderedResult | undefined): string {
  const command = `npm run bench -- ${name}`;
  if (!result || !Array.isArray(result.bars) || result.quick !== false) {
    return `_Not yet measured with the committed method: \`${command}\` writes \`bench/results/${name}.json\`, and \`npm run bench:docs\` renders it here._`;
  }
  const lines = [provenance(name, result), ''];
  if (result.bars.length > 0) {
    lines.push(
      '| bar | adapter | median | runs | target | |',
      '| --- | --- | ---: | ---: | ---: | --- |',
      ...result.bars.map((b) =>
        row([
          b.label,
          b.adapter ?? '',
          formatValue(b.measured, b.unit),
          b.runs.map((v) => formatValue(v, b.unit)).join(', '),
          formatBar(b).replace('>=', '≥').replace('<=', '≤'),
          b.met ? 'met' : '**missed**',
        ]),
      ),
      '',
    );
  }
  const floors = Array.isArray(result.floors) ? result.floors : [];
  if (floors.length > 0) {
    lines.push(
      'Floors (informational, not bars): the raw driver doing work an append cannot skip, measured in the same runs and interleaved like the raw baselines; Causeway over the floor is the median of the per-run ratios:',
      '',
      '| workload | adapter | floor | floor, events/s | Causeway, events/s | Causeway / floor | runs |',
      '| --- | --- | --- | ---: | ---: | ---: | ---: |',
      ...floors.map((f) =>
        row([
          f.title,
          f.adapter,
          `raw ${f.floor}`,
          formatCount(f.floorRate ?? undefined),
          formatCount(f.rate ?? undefined),
          formatValue(f.measured, f.unit),
          f.runs.map((v) => formatValue(v, f.unit)).join(', '),
        ]),
      ),
      '',
    );
  }
  for (const table of result.docTables ?? []) {
    lines.push(
      `${table.title}:`,
      '',
      row(table.header),
      row(table.header.map((_, i) => (table.align?.[i] === 'right' ? '---:' : '---'))),
      ...table.rows.map(row),
      '',
    );
  }
  const notes = result.bars.filter((b) => b.note !== undefined);
  for (const b of notes)
    lines.push(`- ${b.label}${b.adapter === undefined ? '' : ` (${b.adapter})`}: ${b.note}`);
  return lines.join('\n').trimEnd();
}

function provenance(name: string, r: RenderedResult): string {
  const m = r.machine;
  const v = r.versions;
  const commit = r.git?.commit ? r.git.commit.slice(0, 10) : 'unknown';
  const date = (r.finishedAt ?? m?.date ?? '').slice(0, 10) || 'unknown date';
  const runs = r.runs ?? 0;
  const parts = [
    `Measured ${date} at commit \`${commit}\`${r.git?.dirty ? ' (with uncommitted changes)' : ''}${
      m ? ` on ${m.cpuModel}, ${m.cores} cores, ${m.platform}` : ''
    }`,
    v ? `Node ${v.node}, SQLite ${v.sqlite}, PostgreSQL ${v.postgresServer}` : undefined,
    r.load
      ? `load average ${r.load.start[0]} at the start, ${r.load.end[0]} at the end`
      : undefined,
    `medians of ${runs} run${runs === 1 ? '' : 's'}`,
  ].filter((p) => p !== undefined);
  const args = (r.arguments ?? []).join(' ');
  return `_${parts.join('; ')}. Command: \`npm run bench -- ${name}${args ? ` ${args}` : ''}\`; every run is in \`bench/results/${name}.json\`._`;
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
}

/** Reads `bench/results/<name>.json` from `dir`, or undefined when there is none. */
export function readResult(dir: string, name: string): RenderedResult | undefined {
  const file = join(dir, `${name}.json`);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as RenderedResult;
}

/**
 * The names of the result files git tracks under `bench/results/` (the committed figures),
 * or undefined outside a git checkout. The script and the drift test read only these, so a
 * result file left untracked in a working tree never passes for a committed one.
 */
export function committedResultNames(root: string): Set<string> | undefined {
  try {
    const listed = execFileSync('git', ['ls-files', '--', 'bench/results/*.json'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return new Set(
      listed
        .split('\n')
        .map((line) => /^bench\/results\/([^/]+)\.json$/.exec(line.trim())?.[1])
        .filter((name): name is string => name !== undefined && !name.endsWith('.quick')),
    );
  } catch {
    return undefined;
  }
}

/** The doc with every generated block rendered from `results` (by benchmark name). */
export async function renderDoc(
  doc: string,
  results: (name: string) => RenderedResult | undefined,
  docPath: string,
): Promise<string> {
  const rendered = doc.replace(
    BLOCK,
    (_block, name: string) =>
      `<!-- bench:${name} -->\n\n${renderBlock(name, results(name))}\n\n<!-- /bench:${name} -->`,
  );
  const config = (await resolveConfig(docPath)) ?? {};
  return format(rendered, { ...config, parser: 'markdown' });
}

/** The names of the generated blocks in a doc, in order. */
export function blockNames(doc: string): string[] {
  return [...doc.matchAll(BLOCK)].map((m) => m[1] as string);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      check: { type: 'boolean', default: false },
      doc: { type: 'string', default: join(repoRoot, 'docs', 'benchmarks.md') },
      results: { type: 'string', default: join(repoRoot, 'bench', 'results') },
    },
    strict: true,
  });
  const docPath = values.doc;
  const resultsDir = values.results;
  const current = readFileSync(docPath, 'utf8');
  // Only result files git tracks count (`git add` a new one first): a run left untracked in
  // a working tree is never rendered as a figure of record.
  const committed = committedResultNames(repoRoot);
  const expected = await renderDoc(
    current,
    (name) => (committed && !committed.has(name) ? undefined : readResult(resultsDir, name)),
    docPath,
  );
  const shown = relative(process.cwd(), docPath);
  if (values.check) {
    if (current === expected) return 0;
    process.stderr.write(
      `${shown} differs from what bench/results/*.json give: run npm run bench:docs (and commit the result files)\n`,
    );
    return 1;
  }
  if (current !== expected) writeFileSync(docPath, expected);
  process.stdout.write(
    `${shown}: ${current === expected ? 'up to date' : 'regenerated'} (${blockNames(expected).join(', ')})\n`,
  );
  return 0;
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(
        `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
