/**
 * A member process of the scale benchmark, kept alive across trials so that process start-up
 * is never timed. Commands come as JSON lines on stdin:
 * - `{ "cmd": "projection", ... }`: opens the trial's schema and joins a partitioned consumer
 *   group whose handler upserts one read-model row per stream; its reads are held (empty, the
 *   head reported as 0) until `go`, so partitions settle before any event is read;
 * - `{ "cmd": "saga", ... }`: opens the trial's schema and starts the shop's order-fulfilment
 *   saga partitioned over the members (the outbox and timer loops single-leased);
 * - `{ "cmd": "go" }`: lets the held reads through;
 * - `{ "cmd": "mark" }`: prints `mark <cpu µs> <events read>` (CPU time of this process since
 *   it started, events the projection's reads returned since it was started);
 * - `{ "cmd": "stop" }`: stops, closes the backend, prints `stopped`.
 * While running it prints `assigned <partitions>` and `held <n>` (partitions it runs with
 * their lease taken) as they change.
 */
import { createInterface } from 'node:readline';
import { escapeIdentifier } from 'pg';
import {
  ConsumerGroup,
  SagaRuntime,
  type EventStore,
  type ReadAllOptions,
  type RecordedEvent,
} from '@causewayjs/core';
import {
  PostgresEventStore,
  postgresBackendOf,
  type PostgresBackend,
  type PostgresTransaction,
} from '@causewayjs/postgres';
import { createFulfilmentSaga, createShopDispatcher } from '../../examples/shop/fulfilment-saga.js';
import { changedLinePrinter } from '../../test/support/group-member-output.js';

interface Common {
  url: string;
  schema: string;
  member: string;
  partitions: number;
}
interface ProjectionCommand extends Common {
  cmd: 'projection';
  group: string;
  table: string;
}
interface SagaCommand extends Common {
  cmd: 'saga';
}
type Command = ProjectionCommand | SagaCommand | { cmd: 'go' | 'mark' | 'stop' };

/** Lease and heartbeat timings of both groups: short, so settling takes little time. */
const GROUP_TIMINGS = { leaseTtlMs: 10_000, heartbeatIntervalMs: 200 };
const HELD = new Set(['catching-up', 'live']);

let backend: PostgresBackend | undefined;
let group: ConsumerGroup<PostgresTransaction> | undefined;
let saga: SagaRuntime<PostgresTransaction> | undefined;
let timer: ReturnType<typeof setInterval> | undefined;
let open = false;
let read = 0;
const wakeUps = new Set<(head: number) => void>();

/**
 * The store as the group's partitions see it: until `go`, the log looks empty (head 0,
 * reads return nothing), so members settle without reading; afterwards it is the store, and
 * every event a read returns is counted (what this member decoded).
 */
function held(store: EventStore): EventStore {
  async function* readAll(options: ReadAllOptions): AsyncIterable<RecordedEvent> {
    if (!open) return;
    for await (const event of store.readAll(options)) {
      read += 1;
      yield event;
    }
  }
  return new Proxy(store, {
    get(target, property) {
      if (property === 'readAll') return readAll;
      if (property === 'headPosition')
        return async () => (open ? target.headPosition() : Promise.resolve(0));
      if (property === 'watch')
        return (listener: (committed: number) => void) => {
          // On `go` the partitions are woken as if the whole log had just been committed.
          wakeUps.add(listener);
          const unwatch = target.watch?.(listener);
          return () => {
            wakeUps.delete(listener);
            unwatch?.();
          };
        };
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => method.apply(target, args);
    },
  });
}

async function openSchema(command: Common): Promise<PostgresBackend> {
  const url = new URL(command.url);
  // Each member's connections are named, so the benchmark can find their server processes.
  url.searchParams.set('application_name', `causeway-bench-scale-${command.member}`);
  return postgresBackendOf(
    await PostgresEventStore.open(url.toString(), { schema: command.schema, maxConnections: 8 }),
  );
}

async function startProjection(command: ProjectionCommand): Promise<void> {
  open = false;
  read = 0;
  backend = await openSchema(command);
  const table = `${escapeIdentifier(command.schema)}.${escapeIdentifier(command.table)}`;
  const sql = `INSERT INTO ${table} AS t (stream, events, last_position) VALUES ($1, 1, $2)
    ON CONFLICT (stream) DO UPDATE SET events = t.events + 1, last_position = EXCLUDED.last_position`;
  group = new ConsumerGroup<PostgresTransaction>({
    name: command.group,
    partitions: command.partitions,
    storage: await backend.subscriptionStorage(),
    membership: await backend.groupMembership(),
    memberId: command.member,
    source: held(backend.store),
    ...GROUP_TIMINGS,
    handler: async (event, { tx }) => {
      await tx.client.query(sql, [event.stream, event.position]);
    },
  });
  await group.start();
  report(() => {
    const s = group?.status;
    if (!s) return [];
    const running = s.partitions.filter((p) => s.assigned.includes(p.partition));
    return [s.assigned, running.filter((p) => HELD.has(p.state)).length];
  });
}

async function startSaga(command: SagaCommand): Promise<void> {
  backend = await openSchema(command);
  const runtime = new SagaRuntime<PostgresTransaction>({
    storage: await backend.subscriptionStorage(),
    sagaStore: await backend.sagaStore(),
    sagas: [createFulfilmentSaga()],
    dispatcher: createShopDispatcher(backend.store),
    owner: command.member,
    lease: { ttlMs: GROUP_TIMINGS.leaseTtlMs, retryIntervalMs: 50 },
    outbox: { concurrency: 16, pollIntervalMs: 50 },
    partitions: {
      count: command.partitions,
      membership: await backend.groupMembership(),
      memberId: command.member,
      ...GROUP_TIMINGS,
    },
  });
  saga = runtime;
  await runtime.start();
  report(() => {
    const s = saga?.status;
    const g = s?.groups[0];
    if (!s || !g) return [];
    const mine = new Set(g.assigned.map((p) => `${g.name}#${p}`));
    const running = s.subscriptions.filter((x) => mine.has(x.name) && HELD.has(x.state));
    return [g.assigned, running.length];
  });
}

/** Prints `assigned` and `held` lines whenever they change. */
function report(view: () => [number[], number] | []): void {
  const say = changedLinePrinter();
  timer = setInterval(() => {
    const [assigned, running] = view();
    if (!assigned) return;
    say('assigned', `assigned ${assigned.join(',')}`);
    say('held', `held ${running}`);
  }, 20);
}

async function go(): Promise<void> {
  open = true;
  const head = backend ? await backend.store.headPosition() : 0;
  for (const wake of wakeUps) wake(head);
}

async function stop(): Promise<void> {
  if (timer) clearInterval(timer);
  timer = undefined;
  await group?.stop();
  await saga?.stop();
  group = undefined;
  saga = undefined;
  wakeUps.clear();
  await backend?.close();
  backend = undefined;
  process.stdout.write('stopped\n');
}

function mark(): void {
  const cpu = process.cpuUsage();
  process.stdout.write(`mark ${cpu.user + cpu.system} ${read}\n`);
}

let queue = Promise.resolve();
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as Command;
  queue = queue.then(() => {
    switch (command.cmd) {
      case 'projection':
        return startProjection(command);
      case 'saga':
        return startSaga(command);
      case 'go':
        return go();
      case 'mark':
        return mark();
      case 'stop':
        return stop();
    }
  });
}
await queue;
