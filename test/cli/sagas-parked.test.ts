import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SagaRuntime, type CommandDispatcher } from '@causewayjs/core';
import { ExitCode } from '@causewayjs/cli/internals';
import {
  FULFILMENT_SAGA,
  createFulfilmentSaga,
  createShopDispatcher,
} from '../../examples/shop/fulfilment-saga.js';
import { openSagaBackend, type SagaBackend } from '../sagas/saga-backend.js';
import { stockAndPlace } from '../sagas/shop-fixture.js';
import { cli } from './cli-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'causeway-cli-sagas-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('causeway sagas parked|retry|skip', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** Runs the fulfilment saga on `backend` until idle, with `down` command types failing. */
  async function runSaga(backend: SagaBackend, down: ReadonlySet<string>) {
    const shop = createShopDispatcher(backend.store);
    const dispatcher: CommandDispatcher = {
      dispatch: (c) =>
        down.has(c.type) ? Promise.reject(new Error(`${c.type} down`)) : shop.dispatch(c),
    };
    const runtime = new SagaRuntime({
      storage: backend.storage,
      sagaStore: backend.sagaStore,
      sagas: [createFulfilmentSaga()],
      dispatcher,
      // The system clock, as the CLI's: a retry is due at once for this runtime too.
      lease: false,
      outbox: { maxAttempts: 2, backoff: { baseDelayMs: 0 } },
    });
    await runtime.start();
    try {
      await runtime.runUntilIdle();
    } finally {
      await runtime.stop();
    }
  }

  it('lists parked commands, retries one and skips another on a SQLite store', async () => {
    const file = join(dir, 'shop.db');
    const url = `sqlite:${file}`;
    const backend = await openSagaBackend('sqlite', file);
    cleanups.push(() => backend.store.close());
    const tea = [{ sku: 'tea', quantity: 1, unitPrice: 450 }];
    await stockAndPlace(backend.store, 'o1', tea, { tea: 5 }, 'declined-card');
    await stockAndPlace(backend.store, 'o2', tea, {}, 'declined-card');
    await runSaga(backend, new Set(['order.cancel']));

    const list = await cli(['sagas', 'parked', '--store', url, '--json']);
    expect(list.code).toBe(ExitCode.OK);
    const parked = JSON.parse(list.stdout) as {
      command: { id: string; type: string };
      instanceId: string;
    }[];
    expect(parked.map((p) => [p.instanceId, p.command.type])).toEqual([
      ['o1', 'order.cancel'],
      ['o2', 'order.cancel'],
    ]);
    const [first, second] = parked.map((p) => p.command.id);
    const table = await cli(['sagas', 'parked', '--store', url, '--instance', 'o2']);
    expect(table.stdout).toContain(second);
    expect(table.stdout).not.toContain(first);

    const retry = await cli(['sagas', 'retry', first ?? '', '--store', url]);
    expect(retry.code).toBe(ExitCode.OK);
    expect(retry.stdout).toMatch(/queued again; instance order-fulfilment o1 is compensating/);
    const skip = await cli([
      'sagas',
      'skip',
      second ?? '',
      '--reason',
      'refunded by hand',
      '--store',
      url,
      '--json',
    ]);
    expect(skip.code).toBe(ExitCode.OK);
    expect(JSON.parse(skip.stdout)).toEqual({
      commandId: second,
      status: 'skipped',
      instance: { saga: FULFILMENT_SAGA, id: 'o2', status: 'compensated' },
    });
    const again = await cli(['sagas', 'skip', second ?? '', '--store', url]);
    expect(again.code).toBe(ExitCode.NOT_FOUND);
    expect(again.stderr).toContain(second);
    expect((await cli(['sagas', 'parked', '--store', url, '--limit', '0'])).code).toBe(
      ExitCode.USAGE,
    );

    // The retried command is pending in the store; a runtime sends it once the service is up.
    expect((await backend.sagaStore.pendingCommands(10)).map((c) => c.command.id)).toEqual([first]);
    await runSaga(backend, new Set());
    expect((await backend.sagaStore.getInstance(FULFILMENT_SAGA, 'o1'))?.status).toBe(
      'compensated',
    );
    const o2 = await backend.sagaStore.getInstance(FULFILMENT_SAGA, 'o2');
    expect(
      o2?.history.some((h) => (h.detail as { reason?: string })?.reason === 'refunded by hand'),
    ).toBe(true);
    const empty = await cli(['sagas', 'parked', '--store', url]);
    expect(empty.stdout).toContain('no parked saga commands');
  });
});
