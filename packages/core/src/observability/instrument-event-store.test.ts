import { describe, expect, it } from 'vitest';
import { openMemoryBackend } from '../memory-backend.js';
import { instrumentEventStore } from './instrument-event-store.js';
import { CausewayMetrics } from './metrics.js';

describe('append counting in the instrumented layer', () => {
  it('counts appends of every path through the stack once, transactions once they commit', async () => {
    const backend = openMemoryBackend();
    const store = instrumentEventStore(backend.store);
    const metrics = new CausewayMetrics({ processMetrics: false });
    const server = new CausewayMetrics({ processMetrics: false });
    // Attaching to a store that has the layer returns it as it is.
    expect(instrumentEventStore(store, { metrics })).toBe(store);
    instrumentEventStore(store, { metrics: server });
    instrumentEventStore(store, { metrics: server }); // once per metrics, however often
    const events = async (m: CausewayMetrics) => (await m.eventsAppended.get()).values[0]?.value;
    await store.append('a-1', [{ type: 'a.x', data: {} }]);
    await store.transaction(async (tx) => {
      await tx.append('a-2', [
        { type: 'a.x', data: {} },
        { type: 'a.y', data: {} },
      ]);
    });
    await expect(
      store.transaction(async (tx) => {
        await tx.append('a-3', [{ type: 'a.x', data: {} }]);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await store.headPosition()).toBe(3);
    expect(await events(metrics)).toBe(3);
    expect(await events(server)).toBe(3);
    await backend.close();
  });
});
