/**
 * Benchmark runner: `npm run bench -- <name> [options]`. Each benchmark prints a table and
 * writes `bench/results/<name>.json` (see docs on the performance method in DESIGN §6).
 */
import type { BenchmarkEntry } from './lib/benchmark.js';

/**
 * Every benchmark, by the name given on the command line. To add one, write
 * `bench/<name>.ts` exporting `run(argv)` (see `lib/benchmark.ts`) and add an entry here.
 * Still to come: `saga`, `nexmark`.
 */
const benchmarks: Record<string, BenchmarkEntry> = {
  store: {
    summary:
      'event store: appends, group commit and reads, vs the raw driver and Emmett (--quick, --adapter sqlite|postgres, --no-peers, --no-memory)',
    load: () => import('./store.js'),
  },
  commands: {
    summary:
      'command handling: aggregate loads with and without snapshots, contention (--adapter sqlite|postgres, --runs N)',
    load: () => import('./commands.js'),
  },
  projections: {
    summary:
      'projections: catch-up of an async SQL projection vs a raw read, live append-to-handler latency at 1,000 events/s (--adapter sqlite|postgres, --runs N, --events N, --latency-seconds S)',
    load: () => import('./projections.js'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(benchmarks).map((n) => n.length));
  const lines = Object.entries(benchmarks).map(
    ([name, b]) => `  ${name.padEnd(width)}  ${b.summary}`,
  );
  return ['usage: npm run bench -- <name> [options]', '', 'benchmarks:', ...lines].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(usage());
    return name === undefined ? 1 : 0;
  }
  const entry = benchmarks[name];
  if (!entry) {
    console.error(`unknown benchmark "${name}"\n\n${usage()}`);
    return 1;
  }
  const module = await entry.load();
  await module.run(rest);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
