/**
 * Benchmark runner: `npm run bench -- <name> [options]`. Each benchmark prints a table and
 * writes `bench/results/<name>.json` (`<name>.quick.json` with `--quick`; see bench/README.md).
 */
import type { BenchmarkEntry } from './lib/benchmark.js';

/**
 * Every benchmark, by the name given on the command line. To add one, write
 * `bench/<name>.ts` exporting `run(argv)` (see `lib/benchmark.ts`) and add an entry here.
 */
const benchmarks: Record<string, BenchmarkEntry> = {
  store: {
    summary:
      'event store: appends, group commit and reads, vs the raw driver and Emmett (--quick, --runs N, --adapter sqlite|postgres, --no-peers, --no-memory)',
    load: () => import('./store.js'),
  },
  commands: {
    summary:
      'command handling: aggregate loads with and without snapshots, contention (--quick, --adapter sqlite|postgres, --runs N)',
    load: () => import('./commands.js'),
  },
  saga: {
    summary:
      'sagas: completed order-fulfilment sagas/s end to end (in process and over NATS) vs the same commands handled directly, plus relay throughput and CPU per order (--adapter sqlite|postgres|all, --orders N, --runs N, --no-nats, --synchronous FULL|NORMAL|OFF)',
    load: () => import('./saga.js'),
  },
  relay: {
    summary:
      'outbox relay: store → NATS JetStream events/s beside a raw JetStream publish (--quick, --events N, --runs N, --adapter sqlite|memory, --in-flight N)',
    load: () => import('./relay.js'),
  },
  nexmark: {
    summary:
      'stream processing: Nexmark q0-q11 events/s on one core vs a plain loop and published Flink figures (--quick, --events N, --runs N, --queries q0,q5)',
    load: () => import('./nexmark.js'),
  },
  'stream-scale': {
    summary:
      'partitioned stream jobs: Nexmark q5 and q11 events/s with 1, 2 and 4 member processes on PostgreSQL, speed-up vs 1 (--quick, --runs N, --events N, --partitions N)',
    load: () => import('./stream-scale.js'),
  },
  'bus-scale': {
    summary:
      'work distribution over NATS JetStream: messages/s of a bus consumer group with an inbox in PostgreSQL with 1, 2 and 4 member processes, speed-up vs 1 (--quick, --runs N, --messages N)',
    load: () => import('./bus-scale.js'),
  },
  scale: {
    summary:
      'scale-out on PostgreSQL: partitioned projection catch-up (events/s, events read per member) and partitioned fulfilment saga (orders/s) with 1, 2 and 4 member processes, speed-up vs 1, CPU per event (--quick, --runs N, --events N, --orders N, --partitions N)',
    load: () => import('./scale.js'),
  },
  projections: {
    summary:
      'projections: catch-up of SQL and documents projections vs raw pipelines (same reads and upserts, transactions of 1,000), live append-to-handler latency at 1,000 events/s (--quick, --adapter sqlite|postgres, --runs N, --events N, --latency-seconds S)',
    load: () => import('./projections.js'),
  },
  subscriptions: {
    summary:
      'subscriptions: catch-up of a bare subscription with default options vs a raw SELECT of the same rows (--quick, --adapter sqlite|postgres, --runs N, --events N)',
    load: () => import('./subscriptions.js'),
  },
  'sqlite-live': {
    summary:
      'SQLite live delivery: append in another process to a watching reader, p50/p99 at 1,000 events/s, file watch vs the 100 ms poll, and idle CPU of the watch (--quick, --runs N, --seconds S, --idle-seconds S)',
    load: () => import('./sqlite-live.js'),
  },
  'sqlite-flush': {
    summary:
      'SQLite at synchronous FULL: commits flushed in the background vs inside each commit, appends/s, transactions/s and event-loop delay (--quick, --runs N, --seconds S)',
    load: () => import('./sqlite-flush.js'),
  },
  http: {
    summary:
      'HTTP server: appends/s and p99 latency with 64 concurrent clients (autocannon) vs in-process appends on the same store (--adapter sqlite|postgres|all, --seconds S, --runs N)',
    load: () => import('./http.js'),
  },
  security: {
    summary:
      'security: append and read rates with field encryption and hash chains on vs off (--adapter sqlite|postgres, --runs N, --events N)',
    load: () => import('./security.js'),
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
