import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../bench/store/plan.js';
import { RAW, type MeasureId, type Measured } from '../../bench/store/recorder.js';
import { formatEngine, storeBars, storeFloors, summarize } from '../../bench/store/report.js';
import { CAUSEWAY, type EngineOutcome } from '../../bench/store/run-engine.js';
import { quickSizes } from '../../bench/store/sizes.js';

const plan = buildPlan(quickSizes);

/** Rates by run (1-based) as the recorder keeps them. */
function rates(...values: number[]): Measured {
  return { rates: Object.fromEntries(values.map((v, i) => [i + 1, v])), errors: {} };
}

/** A PostgreSQL outcome of three runs with the floor of workload 1 measured. */
function outcome(raw: Partial<Record<MeasureId, Measured>>): EngineOutcome & { status: 'ran' } {
  return {
    engine: 'postgres',
    status: 'ran',
    runs: 3,
    stores: [CAUSEWAY],
    rawDriver: 'pg',
    notes: [],
    unavailablePeers: [],
    results: {
      [CAUSEWAY]: { sequential: rates(900, 800, 1000), batched: rates(30_000, 30_000, 30_000) },
      [RAW]: {
        onePerTransaction: rates(1200, 1000, 1250),
        transactionsOf100: rates(40_000, 40_000, 40_000),
        ...raw,
      },
    },
  };
}

describe('store benchmark floors', () => {
  it('records Causeway over the floor run by run and their median, without a bar', () => {
    const withFloor = outcome({ storeWritesPerRow: rates(1000, 1000, 1100) });
    const summary = summarize(withFloor, plan);
    const [floor] = storeFloors(summary);
    expect(floor).toMatchObject({
      id: 'postgres.sequential-vs-floor',
      adapter: 'postgres',
      workload: 'sequential',
      floorRate: 1000,
      floorRuns: [1000, 1000, 1100],
      rate: 900,
      unit: 'x',
    });
    expect(floor?.runs).toEqual([0.9, 0.8, 1000 / 1100]);
    expect(floor?.measured).toBeCloseTo(0.9);
    expect(storeFloors(summary)).toHaveLength(1);
    // The bars are those without the floor.
    expect(storeBars(summary)).toEqual(storeBars(summarize(outcome({}), plan)));
    expect(storeBars(summary).map((b) => b.id)).not.toContain('postgres.sequential-vs-floor');
  });

  it('prints the floor on a row of its own under its workload', () => {
    const text = formatEngine(outcome({ storeWritesPerRow: rates(1000, 1000, 1100) }), plan);
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.startsWith('1 '));
    expect(lines[at + 1]).toMatch(
      /^ {2}floor +1,000 +1 row\/tx \+ counter \+ stream upsert +0\.90x +informational, no bar$/,
    );
  });

  it('leaves the floor out where it was not measured', () => {
    const summary = summarize(outcome({}), plan);
    expect(storeFloors(summary)).toEqual([]);
    expect(formatEngine(outcome({}), plan)).not.toMatch(/floor/);
  });
});
