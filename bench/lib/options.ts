import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A `parseArgs` options config (the type `node:util` does not export by name). */
export type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Runs of every benchmark unless `--runs` says otherwise (the result contract asks ≥ 3). */
export const DEFAULT_RUNS = 3;

/** The options every benchmark shares, with the benchmark's own `values`. */
export interface BenchArgs<V> {
  /** `--quick`: smaller sizes, under two minutes; results go to `<name>.quick.json`. */
  quick: boolean;
  /** `--runs N` (default {@link DEFAULT_RUNS}). */
  runs: number;
  /** The benchmark's own options, parsed as `node:util` `parseArgs` does. */
  values: V;
}

/** The values `parseArgs` gives for an options config. */
export type ParsedValues<T extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: T; strict: true; allowPositionals: false }>
>['values'];

/**
 * Parses a benchmark's arguments: `--quick` and `--runs N` for every benchmark, plus the
 * benchmark's own `options` (a `node:util` `parseArgs` config; unknown options throw).
 *
 * @example
 * ```ts
 * const { quick, runs, values } = parseBenchArgs(argv, { adapter: { type: 'string' } });
 * ```
 */
export function parseBenchArgs<T extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: T,
  defaults: { runs?: number } = {},
): BenchArgs<ParsedValues<T>> {
  for (const shared of ['quick', 'runs']) {
    if (shared in options) throw new Error(`--${shared} is a shared option; do not redeclare it`);
  }
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...options,
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const { quick, runs: runsText, ...own } = values as Record<string, unknown>;
  const runs = runsText === undefined ? (defaults.runs ?? DEFAULT_RUNS) : Number(runsText);
  if (!Number.isSafeInteger(runs) || runs < 1) {
    throw new Error(`--runs must be an integer >= 1, not "${String(runsText)}"`);
  }
  return { quick: quick === true, runs, values: own as ParsedValues<T> };
}
