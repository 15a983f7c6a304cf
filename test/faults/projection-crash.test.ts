import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventStore } from '@causewayjs/core';
import { BALANCES, openBalances, readBalances } from '../projections/balance-projection.js';
import { runWorkerUntil } from '../support/crash.js';

const worker = fileURLToPath(new URL('../projections/projection-worker.ts', import.meta.url));

/** Runs the projection worker on `file` (see `runWorkerUntil`), killed once it applied `killAt`. */
function runWorker(file: string, killAt?: number): Promise<number> {
  return runWorkerUntil(worker, [file], 'applied', killAt);
}

/** Appends `count` deposits and withdrawals over 40 accounts, ten streams per append. */
async function deposit(store: EventStore, count: number): Promise<number> {
  const head = await store.headPosition();
  for (let i = head; i < head + count; i += 10) {
    await store.appendMany(
      Array.from({ length: 10 }, (_, j) => ({
        stream: `account-${(i + j) % 40}`,
        events: [{ type: 'money.moved', data: { amount: ((i + j) % 7) - 3 } }],
      })),
    );
  }
  return head + count;
}

describe('projection crash safety', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-projection-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('SQLite: an async SQL projection SIGKILLed mid-way resumes to a read model equal to a fresh rebuild', async () => {
    const file = join(dir, 'events.db');
    const { store, projector } = await openBalances(file, {
      subscription: { lease: { ttlMs: 1000, wait: true, retryIntervalMs: 50 } },
    });
    try {
      await deposit(store, 1500);
      // Killed with the rows of an uncommitted batch written: they must vanish with it.
      const first = await runWorker(file, 405);
      expect(first).toBeGreaterThanOrEqual(390);
      expect(first).toBeLessThan(405);
      await deposit(store, 500);
      const second = await runWorker(file, 1207);
      expect(second).toBeGreaterThanOrEqual(1190);
      expect(second).toBeLessThan(1207);
      const head = await deposit(store, 500);
      expect(await runWorker(file)).toBe(head);

      const resumed = await readBalances(projector);
      expect(resumed.position).toBe(head);
      expect(resumed.data.applied).toEqual(Array.from({ length: head }, (_, i) => i + 1));
      expect(resumed.data.balances.reduce((n, [, , events]) => n + events, 0)).toBe(head);

      // A fresh rebuild from position 1, by hand, beside the resumed read model.
      await projector.start();
      const status = await projector.status(BALANCES);
      expect(status).toMatchObject({ state: 'running', position: head, parked: 0 });
      const build = await projector.rebuild(BALANCES);
      expect(build.build).toBe(2);
      await projector.switched(BALANCES, { timeoutMs: 60_000 });
      const rebuilt = await readBalances(projector);
      expect(rebuilt.build).toBe(2);
      expect(rebuilt.data).toEqual(resumed.data);
    } finally {
      await projector.stop();
      await store.close();
    }
  });
});
