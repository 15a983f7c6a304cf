import { describe, expect, it } from 'vitest';
import { barResult, formatBars, formatValue, meets } from '../../bench/lib/bars.js';
import { parseBenchArgs } from '../../bench/lib/options.js';
import { contractProblems, resultFile } from '../../bench/lib/results.js';

const ratioSpec = {
  id: 'sqlite.batched-vs-raw',
  label: 'appends of 100 vs raw',
  adapter: 'sqlite',
  bar: 0.8,
  comparator: '>=' as const,
  unit: 'x' as const,
};

describe('bench bars', () => {
  it('takes the median of the runs and compares it with the bar', () => {
    expect(barResult(ratioSpec, [0.79, 0.9, 0.81])).toMatchObject({ measured: 0.81, met: true });
    expect(barResult(ratioSpec, [0.79, 0.7, 0.81])).toMatchObject({ measured: 0.79, met: false });
    expect(barResult(ratioSpec, [0.7, 0.9])).toMatchObject({ measured: 0.8, met: true });
  });

  it('reads <= bars as upper limits', () => {
    const latency = {
      ...ratioSpec,
      id: 'p99',
      bar: 5,
      comparator: '<=' as const,
      unit: 'ms' as const,
    };
    expect(barResult(latency, [4, 6, 5]).met).toBe(true);
    expect(barResult(latency, [6, 6, 4]).met).toBe(false);
    expect(meets(5.01, latency)).toBe(false);
  });

  it('leaves failed runs out, and misses a bar nothing measured', () => {
    expect(barResult(ratioSpec, [Number.NaN, 0.9, 0.85])).toMatchObject({ measured: 0.875 });
    const none = barResult(ratioSpec, [Number.NaN], 'every run failed');
    expect(none).toMatchObject({ measured: null, met: false, note: 'every run failed' });
  });

  it('prints met and missed bars', () => {
    const text = formatBars(
      [barResult(ratioSpec, [0.9, 0.9, 0.9]), barResult({ ...ratioSpec, id: 'b' }, [0.5])],
      3,
    );
    expect(text).toMatch(/0\.90x .* >= 0\.8x +met/);
    expect(text).toMatch(/0\.50x .* MISSED/);
    expect(text).toContain('bars: 1 of 2 MISSED');
    expect(formatValue(12_345.6, 'per s')).toBe('12,346/s');
  });
});

describe('bench options', () => {
  it('parses --quick and --runs beside the benchmark options', () => {
    const args = parseBenchArgs(['--quick', '--runs', '5', '--adapter', 'sqlite'], {
      adapter: { type: 'string' },
    });
    expect(args).toEqual({ quick: true, runs: 5, values: { adapter: 'sqlite' } });
    expect(parseBenchArgs([], {}, { runs: 4 })).toEqual({ quick: false, runs: 4, values: {} });
    expect(parseBenchArgs([], {}).runs).toBe(3);
  });

  it('rejects bad run counts and unknown options', () => {
    expect(() => parseBenchArgs(['--runs', '0'], {})).toThrow(/--runs/);
    expect(() => parseBenchArgs(['--runs', 'two'], {})).toThrow(/--runs/);
    expect(() => parseBenchArgs(['--nope'], {})).toThrow();
  });
});

describe('bench result files', () => {
  it('keeps quick runs apart from the committed figures', () => {
    expect(resultFile('store', false)).toMatch(/bench[\\/]results[\\/]store\.json$/);
    expect(resultFile('store', true)).toMatch(/bench[\\/]results[\\/]store\.quick\.json$/);
  });

  it('checks the contract', () => {
    const bar = barResult(ratioSpec, [1]);
    expect(contractProblems({ quick: false, runs: 3, bars: [bar] })).toEqual([]);
    expect(contractProblems({ quick: false, runs: 0, bars: [bar, bar] })).toEqual([
      '`runs` must be an integer >= 1',
      'bar id "sqlite.batched-vs-raw" appears twice',
    ]);
  });
});
