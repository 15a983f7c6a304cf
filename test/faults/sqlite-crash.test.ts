import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEventStore } from '@causewayjs/core';
import { runAndKill, verifyAfterCrash } from '../support/crash.js';

describe('SQLite crash safety', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every acknowledged append and no partial one after SIGKILL, twice over', async () => {
    const url = `sqlite:${join(dir, 'events.db')}`;
    const first = await runAndKill(url, 400);
    const second = await runAndKill(url, 200); // resumes on the crashed file, crashes again
    const store = await openEventStore(url);
    try {
      const { events } = await verifyAfterCrash(store, [...first, ...second]);
      expect(events).toBeGreaterThanOrEqual(first.length + second.length);
    } finally {
      await store.close();
    }
  });
});
