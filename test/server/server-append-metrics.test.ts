import { describe, expect, it } from 'vitest';
import { openMemoryBackend } from '@causewayjs/core';
import { instrumentEventStore } from '@causewayjs/core/internals';
import { createServer } from '@causewayjs/server';

describe("the server's append metrics on an instrumented stack", () => {
  it('count appends made beside the server while it runs, and stop counting once it closed', async () => {
    const backend = openMemoryBackend();
    const store = instrumentEventStore(backend.store);
    const server = await createServer({ store, adminUi: false, statsSampleMs: 0 });
    const counted = async () => (await server.metrics.eventsAppended.get()).values[0]?.value ?? 0;
    try {
      const http = await server.app.inject({
        method: 'POST',
        url: '/streams/order-1',
        payload: { events: [{ type: 'order.placed', data: {} }] },
      });
      expect(http.statusCode).toBe(201);
      // A component writing through the same stack (a saga, a command handler), not over HTTP.
      await store.append('order-2', [
        { type: 'order.placed', data: {} },
        { type: 'order.paid', data: {} },
      ]);
      expect(await counted()).toBe(3);
    } finally {
      await server.close();
    }
    await store.append('order-3', [{ type: 'order.placed', data: {} }]);
    expect(await counted()).toBe(3);
    await backend.close();
  });
});
