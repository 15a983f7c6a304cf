/**
 * A member process of the stream-scale benchmark, kept alive across trials so that process
 * start-up is never timed. Commands come as JSON lines on stdin:
 * - `{ "cmd": "start", ... }`: opens the trial's schema and starts this member's partitioned
 *   jobs of the queries, each first-stage partition held before its first batch; prints
 *   `assigned <job> <partitions>` and `running <n>` as they change;
 * - `{ "cmd": "go" }`: lets the held partitions read;
 * - `{ "cmd": "stop" }`: stops the jobs, closes the backend, prints `stopped`.
 */
import { createInterface } from 'node:readline';
import type { StreamSource } from '@causewayjs/core';
import { PostgresEventStore, postgresBackendOf, type PostgresBackend } from '@causewayjs/postgres';
import type { NexmarkEvent } from '../../examples/nexmark/model.js';
import { nexmarkSource } from '../../examples/nexmark/nexmark-source.js';
import { partitionedQuery, type PartitionedMember } from '../../examples/nexmark/partitioned.js';
import { changedLinePrinter } from '../../test/support/group-member-output.js';

interface StartCommand {
  cmd: 'start';
  url: string;
  schema: string;
  member: string;
  partitions: number;
  count: number;
  config: { seed: number; eventsPerSecond: number };
  batchSize: number;
  queries: ('q5' | 'q11')[];
}

let backend: PostgresBackend | undefined;
let jobs: PartitionedMember[] = [];
let timer: ReturnType<typeof setInterval> | undefined;
let release: () => void = () => undefined;

function held(command: StartCommand, gate: Promise<void>): () => StreamSource<NexmarkEvent> {
  return () => {
    const inner = nexmarkSource(command.config, command.count);
    return {
      ...inner,
      async *read(options) {
        const aborted = new Promise<void>((resolve) =>
          options.signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        await Promise.race([gate, aborted]);
        if (options.signal.aborted) return;
        yield* inner.read(options);
      },
    };
  };
}

async function start(command: StartCommand): Promise<void> {
  const gate = new Promise<void>((resolve) => (release = resolve));
  const store = await PostgresEventStore.open(command.url, {
    schema: command.schema,
    maxConnections: 8,
  });
  backend = postgresBackendOf(store);
  const options = {
    store: backend.store,
    checkpoints: await backend.streamStateStore(),
    leases: (await backend.subscriptionStorage()).leases,
    membership: await backend.groupMembership(),
    member: command.member,
    partitions: command.partitions,
    source: held(command, gate),
    batchSize: command.batchSize,
    heartbeatIntervalMs: 250,
    memberTtlMs: 10_000,
    leaseTtlMs: 10_000,
  };
  jobs = command.queries.flatMap((q) => partitionedQuery(q, options));
  for (const job of jobs) await job.start();
  const say = changedLinePrinter();
  timer = setInterval(() => {
    let running = 0;
    for (const job of jobs) {
      const s = job.status();
      say(job.name, `assigned ${job.name} ${s.assigned.join(',')}`);
      running += s.jobs.filter(
        (j) => s.assigned.includes(j.partition) && j.status.state === 'running',
      ).length;
    }
    say('running', `running ${running}`);
  }, 20);
}

async function stop(): Promise<void> {
  if (timer) clearInterval(timer);
  for (const job of jobs) await job.stop();
  jobs = [];
  await backend?.close();
  backend = undefined;
  process.stdout.write('stopped\n');
}

let queue = Promise.resolve();
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as StartCommand | { cmd: 'go' | 'stop' };
  if (command.cmd === 'go') release();
  else queue = queue.then(() => (command.cmd === 'start' ? start(command) : stop()));
}
await queue;
