import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { barResult } from '../../bench/lib/bars.js';
import { repoRoot } from '../../bench/lib/results.js';
import {
  blockNames,
  committedResultNames,
  readResult,
  renderBlock,
  renderDoc,
  type RenderedResult,
} from '../../scripts/bench-docs.js';

const docPath = join(repoRoot, 'docs', 'benchmarks.md');
const resultsDir = join(repoRoot, 'bench', 'results');

/** A full-run result as a benchmark writes it, with one met and one missed bar. */
function storeResult(): RenderedResult {
  const spec = { adapter: 'sqlite', comparator: '>=' as const, unit: 'x' as const };
  return {
    quick: false,
    runs: 3,
    bars: [
      barResult({ ...spec, id: 'a', label: 'appends of 100 vs raw', bar: 0.8 }, [0.81, 0.9, 0.85]),
      barResult({ ...spec, id: 'b', label: 'sequential vs raw', bar: 0.9 }, [0.6, 0.62, 0.7]),
    ],
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      memoryBytes: 1,
      platform: 'linux',
      arch: 'x64',
      node: 'v20.0.0',
      date: '2026-01-02T00:00:00.000Z',
    },
    finishedAt: '2026-01-02T00:00:00.000Z',
    git: { commit: '0123456789abcdef', dirty: false },
    load: { start: [0.1, 0, 0], end: [0.2, 0, 0] },
    arguments: [],
    versions: { node: 'v20.0.0', sqlite: '3.0', postgresServer: '16.0', packages: {} },
  };
}

const sample = [
  '# Sample',
  '',
  'Hand-written prose before.',
  '',
  '<!-- bench:store -->',
  '',
  'stale text',
  '',
  '<!-- /bench:store -->',
  '',
  'Hand-written prose after.',
  '',
].join('\n');

describe('docs/benchmarks.md', () => {
  it('is what the committed result files generate (npm run bench:docs)', async () => {
    const doc = readFileSync(docPath, 'utf8');
    expect(blockNames(doc)).toContain('store');
    // Only the result files git tracks count: a run left uncommitted is not a figure of record.
    const committed = committedResultNames(repoRoot);
    const expected = await renderDoc(
      doc,
      (name) => (committed && !committed.has(name) ? undefined : readResult(resultsDir, name)),
      docPath,
    );
    expect(doc).toBe(expected);
  });

  it('renders a result file into its block and keeps the prose around it', async () => {
    const out = await renderDoc(
      sample,
      (name) => (name === 'store' ? storeResult() : undefined),
      docPath,
    );
    expect(out).toContain('Hand-written prose before.');
    expect(out).toContain('Hand-written prose after.');
    expect(out).not.toContain('stale text');
    expect(out).toMatch(
      /appends of 100 vs raw \| sqlite +\| +0\.85x \| 0\.81x, 0\.90x, 0\.85x \| +≥ 0\.8x \| met/,
    );
    expect(out).toMatch(/sequential vs raw .*0\.62x .*\*\*missed\*\*/);
    expect(out).toContain('commit `0123456789`');
    expect(out).toContain('load average 0.1 at the start, 0.2 at the end');
  });

  it('notices a figure edited by hand inside a block', async () => {
    const results = (name: string) => (name === 'store' ? storeResult() : undefined);
    const good = await renderDoc(sample, results, docPath);
    const edited = good.replace('0.85x |', '0.95x |');
    expect(edited).not.toBe(good);
    expect(await renderDoc(edited, results, docPath)).toBe(good);
  });

  it('shows the floors and Causeway over them when the result file has them', async () => {
    const floors: RenderedResult['floors'] = [
      {
        id: 'postgres.sequential-vs-floor',
        label: '10,000 sequential appends vs raw 1 row/tx + counter + stream upsert',
        adapter: 'postgres',
        workload: 'sequential',
        title: '10,000 sequential appends',
        floor: '1 row/tx + counter + stream upsert',
        floorRate: 2810.4,
        floorRuns: [2810.4, 2700, 2900],
        rate: 2457,
        measured: 0.87,
        runs: [0.87, 0.85, 0.9],
        unit: 'x',
      },
    ];
    const out = await renderDoc(
      sample,
      (name) => (name === 'store' ? { ...storeResult(), floors } : undefined),
      docPath,
    );
    expect(out).toContain('Floors (informational, not bars)');
    expect(out).toMatch(
      /\| 10,000 sequential appends \| postgres \| raw 1 row\/tx \+ counter \+ stream upsert \| +2,810 \| +2,457 \| +0\.87x \| 0\.87x, 0\.85x, 0\.90x \|/,
    );
    // A floor is not a bar: the bars table is the same with or without floors.
    const bare = await renderDoc(
      sample,
      (name) => (name === 'store' ? storeResult() : undefined),
      docPath,
    );
    expect(bare).not.toContain('Floors');
    expect(bare.split('\n').filter((l) => l.includes('vs raw'))).toEqual(
      out.split('\n').filter((l) => l.includes('vs raw')),
    );
  });

  it('states no figures for a benchmark without a full-run result file', () => {
    const missing = renderBlock('saga', undefined);
    const quick = renderBlock('store', { ...storeResult(), quick: true });
    const legacy = renderBlock('store', { runs: 3 });
    for (const text of [missing, quick, legacy]) {
      expect(text).toMatch(/^_Not yet measured with the committed method/);
      expect(text).not.toMatch(/\d\.\d+x/);
    }
  });
});
