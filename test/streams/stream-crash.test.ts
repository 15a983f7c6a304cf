import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '@causewayjs/sqlite';
import { collect } from '@causewayjs/core';
import { runWorkerUntil } from '../support/crash.js';

const worker = fileURLToPath(new URL('./support/stream-worker.ts', import.meta.url));
const KEYS = 7;

/** Appends `count` readings after `done`, over 7 keys, slightly out of order (within 20 ms). */
async function appendReadings(
  store: SqliteEventStore,
  done: number,
  count: number,
): Promise<number> {
  for (let i = done; i < done + count; i += 10) {
    await store.appendMany(
      Array.from({ length: 10 }, (_, j) => {
        const n = i + j;
        return {
          stream: `sensor-${n % KEYS}`,
          events: [
            { type: 'reading.taken', data: { key: `k${n % KEYS}`, at: n * 7 - (n % 3) * 5 } },
          ],
        };
      }),
    );
  }
  return done + count;
}

/** The closed windows and their counts, computed with plain loops. */
function expected(readings: number): string[] {
  const counts = new Map<string, number>();
  let maxAt = Number.NEGATIVE_INFINITY;
  for (let n = 0; n < readings; n++) {
    const at = n * 7 - (n % 3) * 5;
    maxAt = Math.max(maxAt, at);
    const start = Math.floor(at / 100) * 100;
    const id = `k${n % KEYS}@${start}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const watermark = maxAt - 20 - 1;
  return [...counts]
    .filter(([id]) => Number(id.split('@')[1]) + 100 - 1 <= watermark)
    .map(([id, c]) => `${id}=${c}`)
    .sort();
}

describe('stream job crash safety', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-stream-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('SQLite: a SIGKILLed job resumes with no lost and no duplicated derived events', async () => {
    const file = join(dir, 'events.db');
    const store = SqliteEventStore.open(file);
    try {
      let readings = await appendReadings(store, 0, 800);
      // Killed mid-way: it had committed part of the readings (positions 1..800), not all.
      const first = await runWorkerUntil(worker, [file], 'handled', 300);
      expect(first).toBeGreaterThan(0);
      expect(first).toBeLessThan(800);
      readings = await appendReadings(store, readings, 400);
      const second = await runWorkerUntil(worker, [file], 'handled', 1000);
      expect(second).toBeGreaterThanOrEqual(first);
      expect(second).toBeLessThan(await store.headPosition());
      readings = await appendReadings(store, readings, 300);
      await runWorkerUntil(worker, [file], 'handled');

      const derived = await collect(store.readAll({ filter: { types: ['readings.counted'] } }));
      const got = derived.map((e) => {
        const d = e.data as { key: string; start: number; count: number };
        return `${d.key}@${d.start}=${d.count}`;
      });
      // Exactly once: no window twice, none missing, every count right.
      expect(new Set(got).size).toBe(got.length);
      expect(got.sort()).toEqual(expected(readings));
      expect(got.length).toBeGreaterThan(100);
    } finally {
      await store.close();
    }
  });
});
