import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../core/errors.js';
import type { CommitListener, EventStore } from '../store/event-store.js';
import { MemoryEventStore } from '../store/memory-event-store.js';
import { memorySubscriptionStorage } from './memory-subscription-storage.js';
import type { WakeGate } from './subscription-options.js';
import { Subscription } from './subscription.js';

describe('a subscription with a wake gate', () => {
  it('watches the store through the gate, and is woken by what the gate passes on', async () => {
    const store = new MemoryEventStore();
    const watched: Pick<EventStore, 'watch'>[] = [];
    let stopped = 0;
    const gate: WakeGate = {
      watch(watchable, listener: CommitListener) {
        watched.push(watchable);
        const unwatch = watchable.watch?.(listener);
        return () => {
          stopped += 1;
          unwatch?.();
        };
      },
    };
    const seen: number[] = [];
    const subscription = new Subscription({
      name: 'gated',
      storage: memorySubscriptionStorage(store),
      wakeGate: gate,
      handler: (event) => {
        seen.push(event.position);
      },
    });
    await subscription.start();
    const { position } = await store.append('s', [{ type: 't', data: 1 }]);
    await subscription.waitForPosition(position, { timeoutMs: 10_000 });
    await subscription.stop();
    await store.close();
    expect(watched).toEqual([store]);
    expect(seen).toEqual([position]);
    expect(stopped).toBe(1);
  });

  it('refuses a gate without watch', () => {
    const store = new MemoryEventStore();
    expect(
      () =>
        new Subscription({
          name: 'gated',
          storage: memorySubscriptionStorage(store),
          // @ts-expect-error: not a gate
          wakeGate: {},
          handler: () => undefined,
        }),
    ).toThrow(InvalidArgumentError);
  });
});
