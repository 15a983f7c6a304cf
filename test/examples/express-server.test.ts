// The Express embedding example: the API under /causeway beside the host's own routes and
// its JSON body parser, the guard applied under the prefix.
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedServer } from '../../examples/embedded/embedded-server.js';
import { startExpressServer } from '../../examples/embedded/express-server.js';
import { MemoryEventStore } from '@causewayjs/core';
import { writerKeyGuard as guard } from './embedding-guard.js';

let running: EmbeddedServer | undefined;
let store: MemoryEventStore | undefined;
afterEach(async () => {
  await running?.close();
  await store?.close();
});

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('examples/embedded: Express', () => {
  it('serves the host routes with its body parser and the API under its prefix', async () => {
    store = new MemoryEventStore();
    running = await startExpressServer({ store, guard });
    const { url } = running;

    expect(await (await fetch(`${url}/`)).text()).toContain('/causeway/');
    // The host's own route, parsed by express.json(), writes through the same store.
    const noted = await post(`${url}/orders/7/notes`, { text: 'call first' });
    expect(noted.status).toBe(201);
    expect(((await noted.json()) as { position: number }).position).toBe(1);
    expect((await post(`${url}/orders/7/notes`, { text: 3 })).status).toBe(400);

    // The API under the prefix reads its own bodies and applies the guard.
    const refused = await post(`${url}/causeway/streams/order-7`, {
      events: [{ type: 'order.placed', data: {} }],
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    const appended = await post(
      `${url}/causeway/streams/order-7`,
      { events: [{ type: 'order.placed', data: { total: 12 } }] },
      { 'x-api-key': 'writer' },
    );
    expect(appended.status).toBe(201);
    const read = await fetch(`${url}/causeway/streams/order-7`);
    const events = ((await read.json()) as { events: { type: string; data: unknown }[] }).events;
    expect(events.map((e) => e.type)).toEqual(['order.noted', 'order.placed']);
    expect(events[1]?.data).toEqual({ total: 12 });

    const miss = await fetch(`${url}/nowhere`);
    expect(miss.status).toBe(404);
    expect(await miss.text()).toBe('Not here\n');
  });
});
