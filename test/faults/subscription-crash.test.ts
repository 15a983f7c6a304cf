import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openBalanceBackend, type BalanceBackend } from '../support/balance-projection.js';
import { dropSchema, pgAvailable, randomSchemaName } from '../support/postgres.js';
import { runWorkerUntil } from '../support/crash.js';

const worker = fileURLToPath(new URL('../support/subscription-worker.ts', import.meta.url));

/** Runs the subscription worker (see `runWorkerUntil`), killed once it handled `killAt`. */
function runWorker(
  kind: 'sqlite' | 'postgres',
  location: string,
  killAt?: number,
): Promise<number> {
  return runWorkerUntil(worker, [kind, location], 'handled', killAt);
}

/** Appends `count` deposits and withdrawals over 40 accounts. */
async function deposit(backend: BalanceBackend, count: number): Promise<number> {
  const head = await backend.store.headPosition();
  for (let i = head; i < head + count; i += 10) {
    await backend.store.appendMany(
      Array.from({ length: 10 }, (_, j) => ({
        stream: `account-${(i + j) % 40}`,
        events: [{ type: 'money.moved', data: { amount: ((i + j) % 7) - 3 } }],
      })),
    );
  }
  return head + count;
}

/**
 * Kills a projecting worker twice mid-way, restarts it, and checks that the read model it
 * leaves equals a fresh rebuild exactly: nothing lost, nothing applied twice.
 */
async function crashAndCompare(kind: 'sqlite' | 'postgres', location: string): Promise<void> {
  const parent = await openBalanceBackend(kind, location);
  try {
    await deposit(parent, 1500);
    // Killed mid-batch: the handler has written some effects of an uncommitted batch.
    const first = await runWorker(kind, location, 405);
    expect(first).toBeGreaterThanOrEqual(390);
    expect(first).toBeLessThan(405);
    await deposit(parent, 500);
    const second = await runWorker(kind, location, 1207);
    expect(second).toBeGreaterThanOrEqual(1190);
    expect(second).toBeLessThan(1207);
    const head = await deposit(parent, 500);
    await runWorker(kind, location);

    const projected = await parent.read('');
    expect(projected.applied).toEqual(Array.from({ length: head }, (_, i) => i + 1));

    await parent.setup('rebuild_');
    const rebuild = parent.subscribe('rebuild', 'rebuild_', { batchSize: 100 });
    await rebuild.start();
    await rebuild.waitForPosition(head);
    await rebuild.stop();
    const rebuilt = await parent.read('rebuild_');
    expect(projected).toEqual(rebuilt);
    expect(projected.balances.reduce((n, [, , events]) => n + events, 0)).toBe(head);
  } finally {
    await parent.close();
  }
}

describe('subscription crash safety', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-subscription-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('SQLite: a SIGKILLed projection resumes to a read model equal to a fresh rebuild', async () => {
    await crashAndCompare('sqlite', join(dir, 'events.db'));
  });

  it('PostgreSQL: a SIGKILLed projection resumes to a read model equal to a fresh rebuild', async (ctx) => {
    if (!(await pgAvailable())) ctx.skip();
    const schema = randomSchemaName();
    try {
      await crashAndCompare('postgres', schema);
    } finally {
      await dropSchema(schema);
    }
  });
});
