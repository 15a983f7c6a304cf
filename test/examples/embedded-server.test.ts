// The embedding example: the API under /causeway in a node:http host, beside its own routes.
import { afterEach, describe, expect, it } from 'vitest';
import {
  startEmbeddedServer,
  type EmbeddedServer,
} from '../../examples/embedded/embedded-server.js';
import { MemoryEventStore } from '@causewayjs/core';
import { writerKeyGuard as guard } from './embedding-guard.js';

let running: EmbeddedServer | undefined;
let store: MemoryEventStore | undefined;
afterEach(async () => {
  await running?.close();
  await store?.close();
});

describe('examples/embedded', () => {
  it('answers the host routes and the API under its prefix, with the guard applied', async () => {
    store = new MemoryEventStore();
    running = await startEmbeddedServer({ store, guard });
    const { url } = running;

    expect(await (await fetch(`${url}/`)).text()).toContain('/causeway/');
    const refused = await fetch(`${url}/causeway/streams/order-1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ type: 'order.placed', data: {} }] }),
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    const appended = await fetch(`${url}/causeway/streams/order-1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'writer' },
      body: JSON.stringify({ events: [{ type: 'order.placed', data: {} }] }),
    });
    expect(appended.status).toBe(201);
    expect(await (await fetch(`${url}/orders/summary`)).json()).toEqual({ orders: 1 });
    const read = await fetch(`${url}/causeway/streams/order-1`);
    expect(((await read.json()) as { events: unknown[] }).events).toHaveLength(1);
    const miss = await fetch(`${url}/nowhere`);
    expect(miss.status).toBe(404);
    expect(await miss.text()).toBe('Not here\n');
  });
});
