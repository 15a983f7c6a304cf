import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  LeaseLostError,
  SagaRuntime,
  type CommandDispatcher,
  type CommandEnvelope,
} from '@causewayjs/core';
import { memoryShop, stockAndPlace } from './shop-fixture.js';

const tea = [{ sku: 'tea', quantity: 1, unitPrice: 450 }];

describe('the outbox retry of a loop that lost its lease', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('does not put back to pending a command its successor sent meanwhile', async () => {
    // The stale runtime's dispatcher holds the first command until told to fail it.
    const held: CommandEnvelope[] = [];
    let fail: (error: Error) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    failed.catch(() => undefined);
    const errors: unknown[] = [];
    const logger = {
      info: () => undefined,
      warn: () => undefined,
      error: (fields: Record<string, unknown>) => errors.push(fields.err),
    };
    const shop = memoryShop({
      wrap: (): CommandDispatcher => ({
        dispatch(c) {
          held.push(c);
          return failed;
        },
      }),
      runtime: {
        lease: { ttlMs: 1000 },
        owner: 'stale',
        logger,
        outbox: { backoff: { baseDelayMs: 0 } },
      },
    });
    cleanups.push(
      () => shop.store.close(),
      () => shop.runtime.stop(),
    );
    await shop.runtime.start();
    await stockAndPlace(shop.store, 'o1', tea, { tea: 5 });
    await vi.waitFor(() => expect(held).toHaveLength(1), { timeout: 5000 });
    const command = held[0];
    if (!command) throw new Error('no command held');

    // Its lease expires while it stalls; a second runtime takes the outbox over and sends it.
    shop.clock.advance(5000);
    const sent: CommandEnvelope[] = [];
    const { logger: _stale, ...options } = shop.runtimeOptions;
    const successor = new SagaRuntime({
      ...options,
      owner: 'successor',
      dispatcher: {
        dispatch(c) {
          sent.push(c);
          return shop.dispatcher.dispatch(c);
        },
      },
    });
    await successor.dispatchPending();
    expect(sent.map((c) => c.id)).toContain(command.id);
    const status = async () =>
      (await shop.sagaStore.listCommands()).find((e) => e.command.id === command.id)?.status;
    expect(await status()).toBe('sent');

    // The stale dispatch now fails: its retry must not be recorded.
    fail(new Error('connection reset'));
    await vi.waitFor(() => expect(errors.some((e) => e instanceof LeaseLostError)).toBe(true), {
      timeout: 5000,
    });
    await shop.runtime.stop();
    expect(await status()).toBe('sent');

    shop.clock.advance(60_000);
    await successor.dispatchPending();
    expect(sent.filter((c) => c.id === command.id)).toHaveLength(1);
  });
});
