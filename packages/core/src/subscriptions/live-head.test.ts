import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../store/memory-event-store.js';
import { memorySubscriptionStorage } from './memory-subscription-storage.js';
import { Subscription } from './subscription.js';

/** Counts the head reads made of it. */
class CountingStore extends MemoryEventStore {
  headReads = 0;

  override headPosition(): Promise<number> {
    this.headReads += 1;
    return super.headPosition();
  }
}

describe('a filtered subscription, live', () => {
  it('takes the head the store reported for each batch instead of reading it', async () => {
    const store = new CountingStore();
    const seen: number[] = [];
    const subscription = new Subscription({
      name: 'live-head',
      storage: memorySubscriptionStorage(store),
      filter: { types: ['wanted'] },
      handler: (event) => {
        seen.push(event.position);
      },
    });
    await subscription.start();
    await subscription.waitForPosition(0, { timeoutMs: 10_000 });
    const before = store.headReads;
    for (let i = 0; i < 20; i++) {
      const { position } = await store.append(`s-${i}`, [{ type: 'wanted', data: i }]);
      await subscription.waitForPosition(position, { timeoutMs: 10_000 });
    }
    // Events it does not want are passed over up to the reported head as well.
    const { position: last } = await store.append('other', [{ type: 'unwanted', data: 0 }]);
    await subscription.waitForPosition(last, { timeoutMs: 10_000 });
    await subscription.stop();
    await store.close();
    expect(seen).toHaveLength(20);
    // Twenty-one batches, each woken by the commit it reads: none needs a head read.
    expect(store.headReads - before).toBeLessThan(5);
  });
});
