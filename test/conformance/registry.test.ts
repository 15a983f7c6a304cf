import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventStoreAdapters } from '../../src/open-event-store.js';

// An adapter cannot be registered without running the shared suite.
describe('adapter registry', () => {
  for (const name of Object.keys(eventStoreAdapters)) {
    it(`${name} runs the event store conformance suite`, () => {
      const file = new URL(`./${name}.conformance.test.ts`, import.meta.url);
      expect(existsSync(file), `${file.pathname} is missing`).toBe(true);
      expect(readFileSync(file, 'utf8')).toMatch(/describeEventStoreConformance\(\s*'/);
    });
  }
});
