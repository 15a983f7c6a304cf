import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeEventStoreConformance } from '@causewayjs/testing';
import { JournalEventStore } from './journal-event-store.js';

// An adapter living outside src/, written against the public entry points only, passes the
// same event store suite as the adapters shipped with Causeway.
describeEventStoreConformance('journal (external adapter)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-journal-'));
  const file = join(dir, 'events.jsonl');
  return Promise.resolve({
    durable: true,
    open: (options) => Promise.resolve(JournalEventStore.open(file, options)),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});

describe('the external adapter', () => {
  it('imports nothing but the public entry points `@causewayjs/core` and `@causewayjs/testing`', () => {
    const source = readFileSync(new URL('./journal-event-store.ts', import.meta.url), 'utf8');
    const specifiers = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(specifiers.length).toBeGreaterThan(0);
    for (const specifier of specifiers)
      expect(['node:fs', '@causewayjs/core', '@causewayjs/testing']).toContain(specifier);
  });
});
