import { RuntimeRegistry, checkpointSource } from '@causewayjs/core/internals';
import { type CliIo, printJson, printLine, printTable } from './cli-io.js';
import { startProgress } from './progress.js';
import { redactUrl } from './redact-url.js';
import type { StoreContext } from './store-context.js';

/** What `causeway stats` reports. */
export interface StoreStats {
  store: string;
  headPosition: number;
  events: number;
  streams: number;
  /** Events per type, most frequent first. */
  types: { type: string; events: number }[];
  /** Streams and events per category (the part of a stream name before its first `-`). */
  categories: { category: string; streams: number; events: number }[];
  /** Every checkpointed subscription: where it is, how far behind, what it parked. */
  subscriptions: { name: string; position: number; lag: number; parked: number }[];
}

/**
 * Counts the store's events by type and category (one pass over the log, with a progress bar
 * on a terminal) and lists the subscriptions' checkpoints with their lag and parked events.
 */
export async function storeStats(
  context: StoreContext,
  io: CliIo,
  options: { json?: boolean } = {},
): Promise<StoreStats> {
  // The checkpoints first, then the head, then the scan up to that head: what is reported is
  // one consistent cut, with no subscription (nor event) beyond the head reported with it.
  const storage = await context.subscriptionStorage();
  let head = 0;
  const registry = new RuntimeRegistry(async () => (head = await context.store.headPosition()));
  registry.add(checkpointSource(storage));
  const components = (await registry.snapshot()).components;
  const types = new Map<string, number>();
  const categories = new Map<string, { streams: Set<string>; events: number }>();
  const progress = startProgress(io, { total: head, label: 'events', enabled: !options.json });
  let events = 0;
  try {
    for await (const event of context.store.readAll()) {
      if (event.position > head || io.signal.aborted) break;
      events++;
      types.set(event.type, (types.get(event.type) ?? 0) + 1);
      const dash = event.stream.indexOf('-');
      const category = dash > 0 ? event.stream.slice(0, dash) : event.stream;
      const entry = categories.get(category) ?? { streams: new Set<string>(), events: 0 };
      entry.streams.add(event.stream);
      entry.events++;
      categories.set(category, entry);
      if (events % 1000 === 0) progress.update(event.position);
    }
  } finally {
    progress.stop();
  }
  // The same registry as the server's `/metrics` and `/stats`, fed from the stored checkpoints
  // (this process runs nothing), measured against the head read with them.
  const subscriptions = components.map((c) => ({
    name: c.name,
    position: c.position ?? 0,
    lag: c.lag ?? 0,
    parked: c.parked ?? 0,
  }));
  const stats: StoreStats = {
    store: redactUrl(context.url),
    headPosition: head,
    events,
    streams: [...categories.values()].reduce((n, c) => n + c.streams.size, 0),
    types: [...types]
      .map(([type, n]) => ({ type, events: n }))
      .sort((a, b) => b.events - a.events || a.type.localeCompare(b.type)),
    categories: [...categories]
      .map(([category, c]) => ({ category, streams: c.streams.size, events: c.events }))
      .sort((a, b) => b.events - a.events || a.category.localeCompare(b.category)),
    subscriptions: subscriptions.sort((a, b) => a.name.localeCompare(b.name)),
  };
  if (options.json) {
    printJson(io, stats);
    return stats;
  }
  printLine(io, `store ${stats.store}`);
  printLine(io, `head position ${head}, ${events} events in ${stats.streams} streams\n`);
  printTable(
    io,
    ['type', 'events'],
    stats.types.map((t) => [t.type, String(t.events)]),
  );
  printLine(io, '');
  printTable(
    io,
    ['category', 'streams', 'events'],
    stats.categories.map((c) => [c.category, String(c.streams), String(c.events)]),
  );
  if (subscriptions.length > 0) {
    printLine(io, '');
    printTable(
      io,
      ['subscription', 'position', 'lag', 'parked'],
      stats.subscriptions.map((s) => [s.name, String(s.position), String(s.lag), String(s.parked)]),
    );
  }
  return stats;
}

export { redactUrl } from './redact-url.js';
