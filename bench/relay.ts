/**
 * The relay benchmark: outbox relay throughput, store → NATS JetStream, in events per second,
 * beside a raw JetStream publish of the same messages (same encoded envelopes, same
 * `Nats-Msg-Id`, the same number in flight) in the same run: the floor of any relay, since the
 * relay does that publish plus reading the store and saving its checkpoint. A third row runs
 * the relay on a view of the bus without `tail`, so it pipelines without the order chain
 * (`Nats-Expected-Last-Sequence` / `-Msg-Id`): what the exact order costs, in the same run.
 *
 * Each run appends `--events` events to a fresh SQLite file store (or memory store), then
 * measures a raw publish into a fresh stream and the relay into another fresh stream, in
 * alternating order after a warm-up. Streams are file-backed and deleted after each run.
 * Medians of `--runs` runs.
 *
 * `npm run bench -- relay [--events N] [--runs N] [--adapter sqlite|memory] [--in-flight N]`;
 * NATS comes from `CAUSEWAY_NATS_URL` (default `nats://127.0.0.1:4222`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsMessageBus } from '@causewayjs/nats';
import {
  OutboxRelay,
  encodeBusMessage,
  subjectFor,
  type MessageBus,
  type RecordedEvent,
  newId,
  openBackend,
  type StoreTransaction,
  type SubscriptionStorage,
} from '@causewayjs/core';
import { formatBars } from './lib/bars.js';
import { parseBenchArgs } from './lib/options.js';
import { writeResults, type DocTable } from './lib/results.js';
import { formatCount, formatDocTable, formatRatio } from './lib/table.js';
import { measure, perSecond, summarizeRates, type RateSummary } from './lib/timing.js';
import { benchEvent } from './store/event-data.js';

/** Options of {@link measureRelay}. */
export interface MeasureRelayOptions {
  /** Events per run (default 20,000). */
  events?: number;
  /** Runs; medians are reported (default 3). */
  runs?: number;
  /** The outbox store (default `'sqlite'`, a file in a temp directory). */
  adapter?: 'sqlite' | 'memory';
  /** Publishes awaiting acknowledgement at once, relay and raw alike (default 256). */
  inFlight?: number;
  /** NATS server (default `CAUSEWAY_NATS_URL` or `nats://127.0.0.1:4222`). */
  natsUrl?: string;
  /** Also measure the relay without the order chain (default false; `npm run bench -- relay` sets it). */
  unordered?: boolean;
}

/** One row of the relay benchmark. */
export interface RelayRow {
  /**
   * `'raw JetStream publish'` (the baseline), `'outbox relay <adapter> → NATS'`, or the same
   * with `', no order chain'` (the relay on a bus view without `tail`).
   */
  name: string;
  eventsPerSecond: RateSummary;
  /** Median rate over the baseline's median (1 for the baseline). */
  ratio: number;
}

/**
 * Measures relay throughput store → NATS beside a raw JetStream publish of the same messages,
 * and returns the rows (the saga benchmark includes them in its table).
 */
export async function measureRelay(options: MeasureRelayOptions = {}): Promise<RelayRow[]> {
  const events = options.events ?? 20_000;
  const runs = options.runs ?? 3;
  const adapter = options.adapter ?? 'sqlite';
  const inFlight = options.inFlight ?? 256;
  const url = options.natsUrl ?? process.env.CAUSEWAY_NATS_URL ?? 'nats://127.0.0.1:4222';
  const nc = await connect({ servers: url, timeout: 5000 });
  const dir = mkdtempSync(join(tmpdir(), 'causeway-bench-relay-'));
  const raw: number[] = [];
  const relayed: number[] = [];
  const unordered: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const outbox = await openOutbox(adapter, join(dir, `outbox-${run}.db`));
      try {
        for (let i = 0; i < events; i += 500)
          await outbox.storage.store.appendMany(
            Array.from({ length: Math.min(500, events - i) }, (_, j) => ({
              stream: `order-${(i + j) % 1000}`,
              events: [benchEvent(i + j)],
            })),
          );
        const stored: RecordedEvent[] = [];
        for await (const e of outbox.storage.store.readAll()) stored.push(e);
        // Warm the connection and JIT once, then alternate which goes first.
        if (run === 0) await rawPublish(nc, stored.slice(0, 2000), inFlight);
        const steps = [
          async () => raw.push(perSecond(await rawPublish(nc, stored, inFlight))),
          async () => relayed.push(perSecond(await relay(nc, outbox.storage, events, inFlight))),
          ...(options.unordered
            ? [
                async () =>
                  unordered.push(
                    perSecond(
                      await relay(nc, outbox.storage, events, inFlight, { ordered: false }),
                    ),
                  ),
              ]
            : []),
        ];
        for (let i = 0; i < steps.length; i++) await steps[(run + i) % steps.length]?.();
      } finally {
        await outbox.storage.store.close();
      }
    }
  } finally {
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const base = summarizeRates(raw);
  const measured = summarizeRates(relayed);
  const rows: RelayRow[] = [
    { name: 'raw JetStream publish', eventsPerSecond: base, ratio: 1 },
    {
      name: `outbox relay ${adapter} → NATS`,
      eventsPerSecond: measured,
      ratio: measured.median / base.median,
    },
  ];
  if (unordered.length > 0) {
    const loose = summarizeRates(unordered);
    rows.push({
      name: `outbox relay ${adapter} → NATS, no order chain`,
      eventsPerSecond: loose,
      ratio: loose.median / base.median,
    });
  }
  return rows;
}

async function openOutbox(
  adapter: 'sqlite' | 'memory',
  file: string,
): Promise<{ storage: SubscriptionStorage<StoreTransaction> }> {
  const backend = await openBackend(adapter === 'memory' ? 'memory:' : `sqlite:${file}`);
  return { storage: await backend.subscriptionStorage() };
}

/** A fresh file-backed stream for one measurement, deleted by the caller. */
async function freshStream(nc: NatsConnection): Promise<{ stream: string; prefix: string }> {
  const stream = `BENCH${newId().replace(/-/g, '').slice(-12).toUpperCase()}`;
  const prefix = stream.toLowerCase();
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], duplicate_window: 120e9 });
  return { stream, prefix };
}

async function dropStream(nc: NatsConnection, stream: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(stream).catch(() => undefined);
}

/** The baseline: the same envelopes published straight to JetStream, `inFlight` at a time. */
async function rawPublish(nc: NatsConnection, stored: readonly RecordedEvent[], inFlight: number) {
  const { stream, prefix } = await freshStream(nc);
  const js = jetstream(nc);
  try {
    return await measure(async () => {
      for (let start = 0; start < stored.length; start += inFlight) {
        await Promise.all(
          stored
            .slice(start, start + inFlight)
            .map((e) => js.publish(subjectFor(prefix, e), encodeBusMessage(e), { msgID: e.id })),
        );
      }
      return stored.length;
    });
  } finally {
    await dropStream(nc, stream);
  }
}

/** The relay from its first start to its checkpoint at the head. */
async function relay(
  nc: NatsConnection,
  storage: SubscriptionStorage<StoreTransaction>,
  events: number,
  inFlight: number,
  options: { ordered?: boolean } = {},
) {
  const { stream, prefix } = await freshStream(nc);
  const bus = await NatsMessageBus.open({ connection: nc, stream, prefix });
  // Without `tail` the relay cannot chain expectations: pipelined as before exact order.
  const view: MessageBus =
    options.ordered === false
      ? {
          prefix: bus.prefix,
          publish: (event) => bus.publish(event),
          subscribe: (o) => bus.subscribe(o),
          close: () => bus.close(),
        }
      : bus;
  const relayer = new OutboxRelay({
    name: `bench-${stream}`,
    storage,
    bus: view,
    batchSize: 1000,
    maxInFlight: inFlight,
  });
  try {
    return await measure(async () => {
      await relayer.start();
      await relayer.waitForPosition(events, { timeoutMs: 600_000 });
      return events;
    });
  } finally {
    await relayer.stop();
    await bus.close();
    await dropStream(nc, stream);
  }
}

/** `npm run bench -- relay`: prints the table and writes `bench/results/relay.json`. */
export async function run(argv: readonly string[]): Promise<void> {
  const { quick, runs, values } = parseBenchArgs(argv, {
    events: { type: 'string' },
    adapter: { type: 'string' },
    'in-flight': { type: 'string' },
  });
  const adapter = values.adapter ?? 'sqlite';
  if (adapter !== 'sqlite' && adapter !== 'memory')
    throw new Error('--adapter must be sqlite or memory');
  const options: MeasureRelayOptions = {
    events: values.events === undefined ? (quick ? 5_000 : 20_000) : Number(values.events),
    runs,
    adapter,
    inFlight: values['in-flight'] === undefined ? 256 : Number(values['in-flight']),
    unordered: true,
  };
  const rows = await measureRelay(options);
  console.log(
    `relay: ${formatCount(options.events)} events per run, ${options.runs} runs, ${options.inFlight} in flight\n`,
  );
  const table: DocTable = {
    title: `${adapter === 'sqlite' ? 'SQLite' : 'Memory'} outbox → NATS JetStream, ${formatCount(options.events)} events per run, ${options.inFlight} in flight, events/s`,
    header: ['target', 'median', 'runs', 'vs raw'],
    align: ['left', 'right', 'right', 'right'],
    rows: rows.map((r) => [
      r.name,
      formatCount(r.eventsPerSecond.median),
      r.eventsPerSecond.runs.map((x) => formatCount(x)).join(' / '),
      formatRatio(r.ratio),
    ]),
  };
  console.log(formatDocTable(table));
  console.log(`\n${formatBars([], runs)}`);
  // No bar of its own yet: the figures go to the doc as a table.
  const file = await writeResults('relay', {
    quick,
    runs,
    bars: [],
    docTables: [table],
    options,
    rows,
  });
  console.log(`\nwrote ${file}`);
}
