import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BarResult } from './bars.js';
import {
  gitInfo,
  loadAverage,
  machineInfo,
  packageVersions,
  postgresVersion,
  RECORDED_PACKAGES,
  sqliteVersion,
  type GitInfo,
  type MachineInfo,
} from './environment.js';

export { machineInfo, type MachineInfo } from './environment.js';

/** The repository root (the folder holding `bench/`). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The PostgreSQL the benchmarks use, as in the tests. */
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** When this module loaded: the start of the benchmark, as far as the result file knows. */
const started = { date: new Date().toISOString(), loadavg: loadAverage() };

/**
 * A table a result file asks `docs/benchmarks.md` to show under its bars (figures such as
 * rates that have no bar of their own). Cells are text, formatted by the benchmark.
 */
export interface DocTable {
  title: string;
  header: string[];
  /** Per column; default left. */
  align?: ('left' | 'right')[];
  rows: string[][];
}

/**
 * The result contract every benchmark's payload follows, so `npm run bench:docs` can render
 * `docs/benchmarks.md` from the files. Anything else the benchmark wants to keep (every
 * run's raw figures, sizes, notes) goes alongside.
 */
export interface ResultPayload {
  /** Whether the run was `--quick` (then it goes to `<name>.quick.json`, never committed). */
  quick: boolean;
  /** Runs per measurement (each run's own figures are kept in the payload). */
  runs: number;
  bars: BarResult[];
  /** Optional tables rendered under the bars in `docs/benchmarks.md`. */
  docTables?: DocTable[];
  [key: string]: unknown;
}

/** What `writeResults` adds to every result file, before the payload. */
export interface ResultEnvironment {
  benchmark: string;
  machine: MachineInfo;
  /** Load averages (1, 5, 15 min) when the benchmark started and ended: figures taken on a
   * loaded machine say so. */
  load: { start: [number, number, number]; end: [number, number, number] };
  startedAt: string;
  finishedAt: string;
  git: GitInfo;
  /** The arguments after the benchmark's name. */
  arguments: string[];
  versions: {
    node: string;
    sqlite: string;
    postgresServer: string;
    packages: Record<string, string>;
  };
}

/** Options of {@link writeResults}. */
export interface WriteResultsOptions {
  /** More packages whose versions to record (e.g. `fastify`, `autocannon`). */
  packages?: readonly string[];
}

/**
 * The file a result goes to: `bench/results/<name>.json` for a full run (committed, the
 * source of `docs/benchmarks.md`), `<name>.quick.json` for a `--quick` one (ignored by git),
 * so a quick try never overwrites the figures of record.
 */
export function resultFile(name: string, quick: boolean): string {
  return join(repoRoot, 'bench', 'results', `${name}${quick ? '.quick' : ''}.json`);
}

/**
 * A payload from before the result contract: written, with a warning, and never rendered
 * into `docs/benchmarks.md` (the generator reads `bars` only).
 */
export type LegacyPayload = object & { bars?: undefined };

/**
 * Writes the result file of benchmark `name`: the environment (machine, load, versions,
 * git commit, arguments, dates) first, then the payload. Returns the path relative to the
 * repository root (for printing: no absolute paths in output). Throws when a payload with
 * `bars` breaks the contract.
 *
 * @example
 * ```ts
 * await writeResults('store', { quick, runs, bars: [barResult(spec, ratios)], perRun });
 * ```
 */
export async function writeResults(
  name: string,
  payload: ResultPayload | LegacyPayload,
  options: WriteResultsOptions = {},
): Promise<string> {
  let quick: boolean;
  if (isContract(payload)) {
    const problems = contractProblems(payload);
    if (problems.length > 0) {
      throw new Error(`results of "${name}" break the result contract: ${problems.join('; ')}`);
    }
    quick = payload.quick;
  } else {
    process.stderr.write(
      `!! results of "${name}" carry no bars (quick, runs, bars): see bench/lib/results.ts\n`,
    );
    quick = process.argv.includes('--quick');
  }
  const file = resultFile(name, quick);
  await mkdir(dirname(file), { recursive: true });
  const environment: ResultEnvironment = {
    benchmark: name,
    machine: machineInfo(),
    load: { start: started.loadavg, end: loadAverage() },
    startedAt: started.date,
    finishedAt: new Date().toISOString(),
    git: gitInfo(repoRoot),
    arguments: process.argv.slice(3),
    versions: {
      node: process.version,
      sqlite: await sqliteVersion(),
      postgresServer: await postgresVersion(process.env.CAUSEWAY_PG_URL ?? DEFAULT_POSTGRES_URL),
      packages: packageVersions(repoRoot, [...RECORDED_PACKAGES, ...(options.packages ?? [])]),
    },
  };
  await writeFile(file, `${JSON.stringify({ ...environment, ...payload }, null, 2)}\n`);
  return relative(repoRoot, file);
}

function isContract(payload: ResultPayload | LegacyPayload): payload is ResultPayload {
  return 'bars' in payload && payload.bars !== undefined;
}

/** What is wrong with a payload against the contract (empty when nothing is). */
export function contractProblems(payload: ResultPayload): string[] {
  const problems: string[] = [];
  if (typeof payload.quick !== 'boolean') problems.push('`quick` must be a boolean');
  if (!Number.isSafeInteger(payload.runs) || payload.runs < 1)
    problems.push('`runs` must be an integer >= 1');
  if (!Array.isArray(payload.bars)) problems.push('`bars` must be an array');
  else {
    for (const b of payload.bars) {
      if (typeof b.id !== 'string' || b.id === '') problems.push('a bar has no `id`');
      else if (b.measured !== null && !Number.isFinite(b.measured))
        problems.push(`bar ${b.id}: \`measured\` must be a number or null`);
    }
    const ids = payload.bars.map((b) => b.id);
    const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
    if (duplicate !== undefined) problems.push(`bar id "${duplicate}" appears twice`);
  }
  return problems;
}
