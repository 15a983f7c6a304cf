import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allSnippets, checkSnippets, extractSnippets, markdownFiles } from './snippets.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('snippet extraction', () => {
  it('finds ```ts blocks with the line of their first code line, and their no-check mark', () => {
    const markdown = [
      '# Title', // 1
      '```ts', // 2
      "const a: number = 'x';", // 3
      '```', // 4
      '```sh', // 5
      'npm i x', // 6
      '```', // 7
      '```ts no-check', // 8
      'nope(', // 9
      '```', // 10
      '````md', // 11
      '```ts', // 12
      'inside another block', // 13
      '```', // 14
      '````', // 15
    ].join('\n');
    expect(extractSnippets('x.md', markdown)).toEqual([
      { doc: 'x.md', line: 3, code: "const a: number = 'x';", noCheck: false },
      { doc: 'x.md', line: 9, code: 'nope(', noCheck: true },
    ]);
  });

  it('places a compile error at the line of the Markdown file', () => {
    const found = checkSnippets(
      root,
      extractSnippets(
        'x.md',
        ['text', '```ts', 'const ok = 1;', "const n: number = 'x';", '```'].join('\n'),
      ),
    );
    const diagnostics = found.get('x.md') ?? [];
    expect(diagnostics.map((d) => d.where)).toEqual(['x.md:4:7']);
    expect(diagnostics[0]?.message).toMatch(/^TS2322:/);
  });
});

describe('TypeScript snippets of the docs compile', () => {
  const snippets = allSnippets(root);
  // One program for all of them: the package sources are checked once.
  const diagnostics = checkSnippets(root, snippets);

  it('has no program-wide error', () => {
    expect(diagnostics.get('(program)') ?? []).toEqual([]);
  });

  it('keeps blocks marked no-check rare', () => {
    const skipped = snippets.filter((s) => s.noCheck).map((s) => `${s.doc}:${s.line}`);
    expect(skipped.length, skipped.join(', ')).toBeLessThanOrEqual(5);
  });

  for (const doc of markdownFiles(root)) {
    const count = snippets.filter((s) => s.doc === doc && !s.noCheck).length;
    if (count === 0) continue;
    it(`${doc} (${count} block${count === 1 ? '' : 's'})`, () => {
      const found = diagnostics.get(doc) ?? [];
      expect(found.map((d) => `${d.where} ${d.message}`).join('\n')).toBe('');
    });
  }
});
