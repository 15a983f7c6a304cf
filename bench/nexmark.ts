/**
 * The Nexmark benchmark: events per second of each query (q0, q1, q2, q3, q4, q5, q7, q8,
 * q11) run in process on one core, 1,000,000 events by default, measured two ways:
 *
 * - **pre-generated**: over the same events, generated before timing (the engine alone);
 * - **with generator**: events generated as the job reads them (`nexmarkSource`), as the
 *   Nexmark suite's own source does inside the job: the figure to set beside Flink's;
 *
 * and beside:
 *
 * - **baseline**: a plain loop over the same events that picks out the bids and counts them
 *   (the floor of any query: what touching each event costs), measured in the same run;
 * - **Flink**: the published per-core figures of the Nexmark suite on Flink 1.13
 *   (github.com/nexmark/nexmark): q0 155k/s, q5 22k/s, q7 12k/s, q8 146k/s, q11 40k/s.
 *   Those ran on other hardware, with Kafka-free generated sources and network shuffles, so
 *   read the ratio as an order of magnitude, not a contest.
 *
 * `npm run bench -- nexmark [--events N] [--runs N] [--queries q0,q5]`; the median of the
 * runs is reported. Writes `bench/results/nexmark.json`.
 */
import { NexmarkGenerator } from '../examples/nexmark/generator.js';
import type { NexmarkEvent } from '../examples/nexmark/model.js';
import { queries, type QueryName } from '../examples/nexmark/queries.js';
import { nexmarkSource } from '../examples/nexmark/nexmark-source.js';
import { runQuery } from '../examples/nexmark/run-query.js';
import { formatBars } from './lib/bars.js';
import { parseBenchArgs } from './lib/options.js';
import { writeResults, type DocTable } from './lib/results.js';
import { formatCount, formatDocTable, formatRatio } from './lib/table.js';
import { measure, perSecond, summarizeRates, type RateSummary } from './lib/timing.js';

/** Published Flink 1.13 throughput per core, events/s (Nexmark README). */
const FLINK_PER_CORE: Partial<Record<QueryName, number>> = {
  q0: 155_000,
  q5: 22_000,
  q7: 12_000,
  q8: 146_000,
  q11: 40_000,
};

/** The baseline: a plain loop picking out and counting the bids. */
function plainLoop(events: readonly NexmarkEvent[]): number {
  let bids = 0;
  let checksum = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as NexmarkEvent;
    if (e.kind === 'bid') {
      bids++;
      checksum += e.price;
    }
  }
  if (checksum < 0) throw new Error('unreachable');
  return bids >= 0 ? events.length : 0;
}

export async function run(argv: readonly string[]): Promise<void> {
  const { quick, runs, values } = parseBenchArgs(argv, {
    events: { type: 'string' },
    queries: { type: 'string', default: Object.keys(queries).join(',') },
  });
  const count = values.events === undefined ? (quick ? 200_000 : 1_000_000) : Number(values.events);
  if (!Number.isSafeInteger(count) || count < 1000)
    throw new Error('--events must be an integer >= 1000');
  const names = values.queries.split(',').map((q) => q.trim()) as QueryName[];
  for (const n of names)
    if (!(n in queries))
      throw new Error(`unknown query "${n}" (have ${Object.keys(queries).join(', ')})`);

  const generator = new NexmarkGenerator({ seed: 1 });
  let events: NexmarkEvent[] = [];
  const generation = await measure(() => {
    events = generator.events(0, count);
    return count;
  });
  console.log(
    `generated ${formatCount(count)} events at ${formatCount(perSecond(generation))} events/s\n`,
  );

  const baselineRates: number[] = [];
  const rates = new Map<QueryName, number[]>(names.map((n) => [n, []]));
  const generatedRates = new Map<QueryName, number[]>(names.map((n) => [n, []]));
  const outputs = new Map<QueryName, number>();
  for (let r = 0; r < runs; r++) {
    baselineRates.push(perSecond(await measure(() => plainLoop(events))));
    for (const name of names) {
      let produced = 0;
      const sample = await measure(async () => {
        produced = (await runQuery(name, events, { collect: false })).count;
        return count;
      });
      rates.get(name)?.push(perSecond(sample));
      outputs.set(name, produced);
      const live = await measure(async () => {
        const { count: n } = await runQuery(name, nexmarkSource({ seed: 1 }, count), {
          collect: false,
        });
        if (n !== produced)
          throw new Error(
            `${name}: ${n} results from the generator source, ${produced} from the array`,
          );
        return count;
      });
      generatedRates.get(name)?.push(perSecond(live));
    }
  }
  const baseline = summarizeRates(baselineRates);
  const summaries = new Map<QueryName, RateSummary>(
    names.map((n) => [n, summarizeRates(rates.get(n) ?? [])]),
  );
  const generated = new Map<QueryName, RateSummary>(
    names.map((n) => [n, summarizeRates(generatedRates.get(n) ?? [])]),
  );
  const rows = names.map((name) => {
    const s = summaries.get(name) as RateSummary;
    const g = generated.get(name) as RateSummary;
    const flink = FLINK_PER_CORE[name];
    return [
      name,
      formatCount(s.median),
      formatRatio(s.median / baseline.median),
      formatCount(g.median),
      flink === undefined ? '-' : formatCount(flink),
      flink === undefined ? '-' : formatRatio(g.median / flink),
      formatCount(outputs.get(name)),
    ];
  });
  rows.unshift(['baseline loop', formatCount(baseline.median), '1.00x', '-', '-', '-', '-']);
  const table: DocTable = {
    title: `${formatCount(count)} events on one core, events/s (medians of ${runs} runs)`,
    header: [
      'query',
      'pre-generated',
      'vs loop',
      'with generator',
      'Flink 1.13 per core',
      'vs Flink',
      'results',
    ],
    align: ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows,
  };
  console.log(formatDocTable(table));
  console.log(`\n${formatBars([], runs)}`);
  // No bar of its own: the figures go to the doc as a table.
  const file = await writeResults('nexmark', {
    quick,
    runs,
    bars: [],
    docTables: [table],
    events: count,
    generatorEventsPerSecond: perSecond(generation),
    baseline,
    queries: Object.fromEntries(
      names.map((n) => [
        n,
        {
          ...summaries.get(n),
          withGenerator: generated.get(n),
          flinkPerCore: FLINK_PER_CORE[n] ?? null,
          results: outputs.get(n),
        },
      ]),
    ),
  });
  console.log(`\nmedian of ${runs} run(s); results written to ${file}`);
}
