// Child process for the partitioned Nexmark test: one member of the partitioned q5 (two
// stages) and q11 jobs over a PostgreSQL schema. Prints "assigned <job> <partitions>" each
// time its share changes. With a hold position, its first-stage partitions stop reading there
// until the process gets SIGUSR2 (how the test puts a run in a known middle); SIGTERM stops
// it cleanly. Usage: nexmark-member '<json options>'
import { PostgresEventStore, postgresBackendOf } from '@causewayjs/postgres';
import type { StreamSource } from '@causewayjs/core';
import type { NexmarkEvent } from '../../../examples/nexmark/model.js';
import { nexmarkSource } from '../../../examples/nexmark/nexmark-source.js';
import { partitionedQuery } from '../../../examples/nexmark/partitioned.js';

interface MemberOptions {
  url: string;
  schema: string;
  member: string;
  partitions: number;
  count: number;
  config: { seed: number; eventsPerSecond: number };
  holdAt?: number;
  batchSize: number;
}

const o = JSON.parse(process.argv[2] ?? '') as MemberOptions;

let release!: () => void;
const released = new Promise<void>((resolve) => (release = resolve));
process.on('SIGUSR2', () => release());

/** The Nexmark source, holding before any batch past `holdAt` until released (or stopped). */
function heldSource(): StreamSource<NexmarkEvent> {
  const inner = nexmarkSource(o.config, o.count);
  return {
    ...inner,
    async *read(options) {
      for await (const batch of inner.read(options)) {
        if (
          o.holdAt !== undefined &&
          typeof batch.position === 'number' &&
          batch.position > o.holdAt
        ) {
          const aborted = new Promise<void>((resolve) =>
            options.signal.addEventListener('abort', () => resolve(), { once: true }),
          );
          await Promise.race([released, aborted]);
          if (options.signal.aborted) return;
        }
        yield batch;
      }
    },
  };
}

const store = await PostgresEventStore.open(o.url, { schema: o.schema, maxConnections: 6 });
const backend = postgresBackendOf(store);
const ports = {
  store: backend.store,
  checkpoints: await backend.streamStateStore(),
  leases: (await backend.subscriptionStorage()).leases,
  membership: await backend.groupMembership(),
};
const common = {
  ...ports,
  member: o.member,
  partitions: o.partitions,
  source: heldSource,
  batchSize: o.batchSize,
  heartbeatIntervalMs: 250,
  // Long enough for a member starved of CPU on a loaded machine not to drop out.
  memberTtlMs: 5_000,
  leaseTtlMs: 5_000,
};
const jobs = [...partitionedQuery('q11', common), ...partitionedQuery('q5', common)];
const shown = new Map<string, string>();
const report = () => {
  for (const job of jobs) {
    // A partition fails when it is taken over mid-handover; it restarts on its own. Shown for
    // whoever reads the test's output.
    for (const { partition, status } of job.status().jobs) {
      const line = status.error ? `${job.name}#${partition}: ${status.error.message}` : '';
      if (line && shown.get(`${job.name}#${partition}`) !== line) {
        shown.set(`${job.name}#${partition}`, line);
        process.stderr.write(`${line}\n`);
      }
    }
    const assigned = job.status().assigned.join(',');
    if (shown.get(job.name) === assigned) continue;
    shown.set(job.name, assigned);
    process.stdout.write(`assigned ${job.name} ${assigned}\n`);
  }
};
for (const job of jobs) await job.start();
report();
const timer = setInterval(report, 20);
process.on('SIGTERM', () => {
  clearInterval(timer);
  void (async () => {
    for (const job of jobs) await job.stop();
    await backend.close();
    process.stdout.write('stopped\n');
    process.exit(0);
  })();
});
