import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The library sources (not tests) of every workspace package whose text matches `pattern`, as
 * paths from the repository root (`packages/core/src/bus/in-process-bus.ts`), sorted.
 */
export function sourcesMatching(pattern: RegExp): string[] {
  const found: string[] = [];
  for (const pkg of readdirSync(`${root}packages`)) {
    const src = `packages/${pkg}/src`;
    for (const file of readdirSync(`${root}${src}`, { recursive: true }) as string[]) {
      const path = `${src}/${file.replaceAll('\\', '/')}`;
      if (!path.endsWith('.ts') || path.endsWith('.test.ts')) continue;
      if (pattern.test(readFileSync(`${root}${path}`, 'utf8'))) found.push(path);
    }
  }
  return found.sort();
}
