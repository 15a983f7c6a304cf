/**
 * What every benchmark module exports. `run` gets the arguments after the benchmark's name
 * (`npm run bench -- store --quick` gives `['--quick']`), prints its table and writes
 * `bench/results/<name>.json`.
 */
export interface BenchmarkModule {
  run(argv: readonly string[]): Promise<void>;
}

/** An entry of the benchmark table in `bench/run.ts`. */
export interface BenchmarkEntry {
  /** One line for `npm run bench` without a name. */
  summary: string;
  /** Loads the module only when chosen, so one benchmark's drivers never load for another. */
  load: () => Promise<BenchmarkModule>;
}
