import { describe, expect, it as vitestIt, type TestFunction } from 'vitest';

/**
 * Cases a shared suite skips on one harness, and why: a decorator that legitimately changes
 * what a case observes. The reason is shown in each skipped test's title, so every skip is
 * visible in the report and explained where it is declared (as Hono's `runTest({ skip })`).
 */
export interface ConformanceSkip {
  /** Why these cases cannot hold on this harness. */
  reason: string;
  /** The cases, as `group > title` (`append > stores the full envelope and reads it back unchanged`). */
  tests: readonly string[];
}

/** What a suite declares its cases with; see {@link conformanceTests}. */
export interface ConformanceTests {
  /** `describe`, remembering the group so cases are named `group > title`. */
  group: (name: string, body: () => void) => void;
  /** `it`, or `it.skip` with the reason in the title when a skip names this case. */
  it: (title: string, fn: TestFunction) => void;
  /** Declares a test that fails unless every case named in the skips exists (a stale skip is a mistake). */
  checkSkips: () => void;
}

/**
 * The `group`/`it` a shared suite declares its cases with, honouring `skips`. Call
 * `checkSkips()` once every case is declared.
 *
 * @example
 * ```ts
 * const { group, it, checkSkips } = conformanceTests(options.skip);
 * describe('EventStore conformance', () => {
 *   group('append', () => it('creates a stream', async () => { ... }));
 *   checkSkips();
 * });
 * ```
 */
export function conformanceTests(skips: readonly ConformanceSkip[] = []): ConformanceTests {
  const path: string[] = [];
  const declared = new Set<string>();
  return {
    group(name, body) {
      describe(name, () => {
        path.push(name);
        try {
          body();
        } finally {
          path.pop();
        }
      });
    },
    it(title, fn) {
      const name = [...path, title].join(' > ');
      declared.add(name);
      const skip = skips.find((s) => s.tests.includes(name));
      if (skip) vitestIt.skip(`${title} [skipped: ${skip.reason}]`, fn);
      else vitestIt(title, fn);
    },
    checkSkips() {
      // A test, not a throw: vitest runs group bodies after the suite body that declares them.
      vitestIt('skips name only cases the suite has', () => {
        const unknown = skips.flatMap((s) => s.tests).filter((name) => !declared.has(name));
        expect(unknown, 'skips naming no case').toEqual([]);
      });
    },
  };
}
