import { afterAll, describe, expect, it } from 'vitest';
import { openEventStore } from '@causewayjs/core';
import { runAndKill, verifyAfterCrash } from '../support/crash.js';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

const available = await pgAvailable();

describe.skipIf(!available)('PostgreSQL crash safety', () => {
  const schema = randomSchemaName();
  afterAll(() => dropSchema(schema));

  it('keeps every acknowledged append and no partial one after SIGKILL, twice over', async () => {
    const url = `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=${schema}`;
    const first = await runAndKill(url, 300);
    const second = await runAndKill(url, 150);
    const store = await openEventStore(url);
    try {
      const { events } = await verifyAfterCrash(store, [...first, ...second]);
      expect(events).toBeGreaterThanOrEqual(first.length + second.length);
    } finally {
      await store.close();
    }
  });
});
