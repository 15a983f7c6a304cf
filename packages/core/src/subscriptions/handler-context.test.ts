import { describe, expect, it, vi } from 'vitest';
import { MemoryEventStore } from '../store/memory-event-store.js';
import type { StoreTransaction } from '../store/event-store.js';
import type { HandlerContext } from './event-handler.js';
import { memorySubscriptionStorage } from './memory-subscription-storage.js';
import { Subscription } from './subscription.js';

/** Runs a subscription over two events with `handler`, and counts its relaxed commits. */
async function deliver(
  handler: (context: HandlerContext<StoreTransaction>) => void,
): Promise<{ relaxed: number }> {
  const store = new MemoryEventStore();
  await store.append('s-1', [
    { type: 't', data: 1 },
    { type: 't', data: 2 },
  ]);
  const storage = memorySubscriptionStorage(store);
  let relaxed = 0;
  const checkpoints = storage.checkpoints;
  const subscription = new Subscription({
    name: 'contexts',
    storage: {
      ...storage,
      checkpoints: {
        load: (name) => checkpoints.load(name),
        save: (name, position, tx) => checkpoints.save(name, position, tx),
        delete: (name, tx) => checkpoints.delete(name, tx),
        list: () => checkpoints.list(),
        relaxCommit: () => {
          relaxed += 1;
          return Promise.resolve();
        },
      },
    },
    handler: (_event, context) => handler(context),
  });
  await subscription.start();
  await subscription.waitForPosition(2, { timeoutMs: 10_000 });
  await subscription.stop();
  await store.close();
  return { relaxed };
}

describe('handler contexts', () => {
  it('a spread copy carries every field, tx and signal included', async () => {
    const copies: Record<string, unknown>[] = [];
    await deliver((context) => {
      copies.push({ ...context });
    });
    expect(copies).toHaveLength(2);
    for (const copy of copies) {
      expect(copy).toMatchObject({ subscription: 'contexts', attempt: 1, retryingParked: false });
      expect(copy.tx).toBeDefined();
      expect(copy.signal).toBeInstanceOf(AbortSignal);
      expect(Object.keys(copy)).toEqual(
        expect.arrayContaining(['tx', 'signal', 'subscription', 'attempt', 'retryingParked']),
      );
    }
  });

  it('each event gets its own signal', async () => {
    const signals: AbortSignal[] = [];
    await deliver((context) => {
      signals.push(context.signal);
    });
    expect(signals).toHaveLength(2);
    expect(signals[0]).not.toBe(signals[1]);
  });

  it('a transaction no handler took commits relaxed; one whose tx was read does not', async () => {
    const untouched = await deliver(() => undefined);
    expect(untouched.relaxed).toBeGreaterThan(0);
    const read = vi.fn();
    const touched = await deliver((context) => {
      read(context.tx);
    });
    expect(read).toHaveBeenCalledTimes(2);
    expect(touched.relaxed).toBe(0);
  });
});
