import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openBackend, collect } from '@causewayjs/core';
import {
  appendShopEvents,
  expectedTarget,
  shopToSales,
  targetEvents,
} from '../federation/bridge-fixtures.js';
import { runWorkerUntil } from '../support/crash.js';
import { dropSchema, pgAvailable, pgUrl, randomSchemaName } from '../support/postgres.js';

const worker = fileURLToPath(new URL('../support/bridge-worker.ts', import.meta.url));

/** Source positions the target holds events of. */
async function carriedPositions(schema: string): Promise<Set<number>> {
  const target = await openBackend(pgUrl, { schema });
  try {
    const events = await collect(target.store.readAll());
    return new Set(events.map((e) => (e.metadata.origin as { position: number }).position));
  } finally {
    await target.close();
  }
}

describe('bridge crash safety', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-bridge-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('SQLite → PostgreSQL: a bridge SIGKILLed between target append and source checkpoint, three times, leaves the target equal to the translated source', async (ctx) => {
    if (!(await pgAvailable())) ctx.skip();
    const file = join(dir, 'source.db');
    const schema = randomSchemaName();
    const source = await openBackend(`sqlite:${file}`);
    try {
      await appendShopEvents(source.store, 1000);
      const run = (killAt?: number) =>
        runWorkerUntil(worker, [file, schema, String(killAt ?? 0)], 'appended', killAt);
      let windowsHit = 0;
      let appended = 1000;
      for (const killAt of [240, 510, 800]) {
        const checkpoint = await run(killAt);
        expect(checkpoint).toBeLessThan(killAt);
        // The kill landed after a target append the source checkpoint does not cover.
        const carried = await carriedPositions(schema);
        if ([...carried].some((p) => p > checkpoint)) windowsHit += 1;
        await appendShopEvents(source.store, 100, appended);
        appended += 100;
      }
      expect(windowsHit).toBe(3);
      await run();

      const target = await openBackend(pgUrl, { schema });
      try {
        const expected = await expectedTarget(source.store, 'shop-to-sales', shopToSales);
        const actual = await targetEvents(target.store);
        const ids = actual.map((e) => e.id);
        expect(new Set(ids).size).toBe(ids.length); // 0 duplicated
        expect(actual.length).toBe(expected.length); // 0 lost
        expect(actual).toEqual(expected); // in source order, translated
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
      await dropSchema(schema);
    }
  });
});
