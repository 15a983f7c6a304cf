// The API inside a host application: the fastify plugin under a prefix, the web fetch handler
// (streaming server-sent events through it), and the Node listener on node:http.
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudEvent, HTTP } from 'cloudevents';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CausewayError,
  MemoryEventStore,
  type AccessGuard,
  type Principal,
} from '@causewayjs/core';
import {
  causeway,
  createFetchHandler,
  PROBLEM_JSON,
  type CausewayFetchHandler,
} from '@causewayjs/server';

/** Callers with `x-api-key: secret` may do everything; anonymous callers nothing. */
const keyGuard: AccessGuard = {
  authenticate({ headers }): Promise<Principal | undefined> {
    const key = headers['x-api-key'];
    if (key === undefined) return Promise.resolve(undefined);
    if (key !== 'secret')
      return Promise.reject(new CausewayError('AUTH_INVALID', 'The API key is not valid'));
    return Promise.resolve({ id: 'service', roles: ['admin'] });
  },
  can: (principal) => principal !== undefined,
};
const KEY = { 'x-api-key': 'secret' };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function newStore(): MemoryEventStore {
  const store = new MemoryEventStore();
  cleanups.push(() => store.close());
  return store;
}

/** Reads a streamed body until `done` holds of the text so far (or fails at the deadline). */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  state: { text: string },
  done: (text: string) => boolean,
): Promise<void> {
  const decoder = new TextDecoder();
  const deadline = Date.now() + 10_000;
  while (!done(state.text)) {
    if (Date.now() > deadline) throw new Error(`not seen in time; got: ${state.text}`);
    const { value, done: ended } = await reader.read();
    if (ended) throw new Error(`the stream ended; got: ${state.text}`);
    state.text += decoder.decode(value, { stream: true });
  }
}

/** The `data` of each SSE message (not comments, not `event: error`) in `text`. */
function sseData(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((block) => block.split('\n').some((l) => l.startsWith('data:')))
    .filter((block) => !block.includes('event: error'))
    .map((block): unknown =>
      JSON.parse(
        block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('\n'),
      ),
    );
}

describe('the causeway fastify plugin', () => {
  it('serves the API under its prefix next to the host routes, with the guard applied', async () => {
    const store = newStore();
    const app = Fastify({ routerOptions: { maxParamLength: 1000 } });
    cleanups.push(() => app.close());
    app.get('/hello', () => Promise.resolve({ host: true }));
    await app.register(causeway, {
      prefix: '/causeway',
      store,
      guard: keyGuard,
      statsSampleMs: 0,
    });

    const host = await app.inject({ method: 'GET', url: '/hello' });
    expect(host.statusCode).toBe(200);
    expect(host.json()).toEqual({ host: true });

    const appended = await app.inject({
      method: 'POST',
      url: '/causeway/streams/order-1',
      headers: KEY,
      payload: { events: [{ type: 'order.placed', data: { total: 3 } }] },
    });
    expect(appended.statusCode).toBe(201);
    const read = await app.inject({
      method: 'GET',
      url: '/causeway/streams/order-1',
      headers: KEY,
    });
    expect(read.statusCode).toBe(200);
    expect(read.json<{ events: { type: string }[] }>().events.map((e) => e.type)).toEqual([
      'order.placed',
    ]);

    // The guard holds under the prefix: no key, 401 as problem details.
    const anonymous = await app.inject({ method: 'GET', url: '/causeway/streams/order-1' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['content-type']).toContain(PROBLEM_JSON);
    expect(anonymous.json()).toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
      title: 'Unauthenticated',
      type: 'urn:causeway:problem:unauthenticated',
      instance: '/causeway/streams/order-1',
    });
    const badKey = await app.inject({
      method: 'GET',
      url: '/causeway/streams/order-1',
      headers: { 'x-api-key': 'wrong' },
    });
    expect(badKey.statusCode).toBe(401);
    expect(badKey.json()).toMatchObject({ code: 'AUTH_INVALID' });

    // A miss under the prefix is the API's problem details; elsewhere it is the host's 404.
    const miss = await app.inject({ method: 'GET', url: '/causeway/nowhere' });
    expect(miss.statusCode).toBe(404);
    expect(miss.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND', status: 404 });
    const hostMiss = await app.inject({ method: 'GET', url: '/nowhere' });
    expect(hostMiss.statusCode).toBe(404);
    expect(hostMiss.json()).not.toHaveProperty('code');

    // The host route stays unauthenticated: the plugin's hook is encapsulated.
    expect((await app.inject({ method: 'GET', url: '/hello' })).statusCode).toBe(200);

    // The OpenAPI document names where the API lives.
    const doc = await app.inject({ method: 'GET', url: '/causeway/openapi.json' });
    expect(doc.json()).toMatchObject({ servers: [{ url: '/causeway' }] });
  });
});

describe('createFetchHandler', () => {
  async function handler(
    options: Partial<Parameters<typeof createFetchHandler>[0]> = {},
  ): Promise<{ api: CausewayFetchHandler; store: MemoryEventStore }> {
    const store = newStore();
    const api = await createFetchHandler({
      prefix: '/causeway',
      store,
      guard: keyGuard,
      statsSampleMs: 0,
      sseHeartbeatMs: 60_000,
      ...options,
    });
    cleanups.push(() => api.close());
    return { api, store };
  }

  it('answers web requests under the prefix next to a host fetch app, with the guard applied', async () => {
    const { api } = await handler();
    // A host app in the shape Hono, Bun and Deno give: its own route, the API under a prefix.
    const host = (request: Request): Promise<Response> => {
      const { pathname } = new URL(request.url);
      if (pathname === '/hello') return Promise.resolve(Response.json({ host: true }));
      if (pathname.startsWith('/causeway/')) return api.fetch(request);
      return Promise.resolve(new Response('not here', { status: 404 }));
    };

    expect(await (await host(new Request('http://app.test/hello'))).json()).toEqual({
      host: true,
    });
    const appended = await host(
      new Request('http://app.test/causeway/streams/order-1', {
        method: 'POST',
        headers: { ...KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ type: 'order.placed', data: { total: 3 } }] }),
      }),
    );
    expect(appended.status).toBe(201);
    expect(appended.headers.get('x-request-id')).toBeTruthy();
    const read = await host(
      new Request('http://app.test/causeway/streams/order-1', { headers: KEY }),
    );
    expect(read.status).toBe(200);
    expect(((await read.json()) as { events: unknown[] }).events).toHaveLength(1);

    const anonymous = await host(new Request('http://app.test/causeway/streams/order-1'));
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain(PROBLEM_JSON);
    expect(await anonymous.json()).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });

    // Validation errors come back as problem details too.
    const bad = await host(
      new Request('http://app.test/causeway/streams/order-1', {
        method: 'POST',
        headers: { ...KEY, 'content-type': 'application/json' },
        body: '{"events": [',
      }),
    );
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'MALFORMED_JSON', status: 400 });

    // Outside the prefix, the handler's own 404 is problem details as well.
    const outside = await api.fetch(new Request('http://app.test/elsewhere'));
    expect(outside.status).toBe(404);
    expect(await outside.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });

  it('streams server-sent events through the fetch handler as they commit', async () => {
    const { api, store } = await handler();
    await store.append('order-1', [{ type: 'order.placed', data: { n: 1 } }]);
    const controller = new AbortController();
    const response = await api.fetch(
      new Request('http://app.test/causeway/subscribe?from=start', {
        headers: KEY,
        signal: controller.signal,
      }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    const state = { text: '' };
    await readUntil(reader, state, (text) => sseData(text).length === 1);

    // The response is still open: an event appended now arrives on the same body.
    await store.append('order-2', [{ type: 'order.placed', data: { n: 2 } }]);
    await readUntil(reader, state, (text) => sseData(text).length === 2);
    expect(sseData(state.text).map((e) => (e as { stream: string }).stream)).toEqual([
      'order-1',
      'order-2',
    ]);

    // Cancelling the body ends the session on the server.
    await reader.cancel();
    const stats = async () =>
      (
        (await (
          await api.fetch(new Request('http://app.test/causeway/stats', { headers: KEY }))
        ).json()) as { sse: { open: number } }
      ).sse.open;
    await expect.poll(stats, { timeout: 5000 }).toBe(0);
  });

  it('answers reads and SSE as CloudEvents on request, readable by the CloudEvents SDK', async () => {
    const { api, store } = await handler();
    await store.append('order-1', [
      {
        type: 'order.placed',
        data: { total: 3 },
        metadata: { correlationId: 'c-1' },
      },
      { type: 'order.paid', data: { amount: 3 } },
    ]);
    const get = (path: string, accept: string) =>
      api.fetch(new Request(`http://app.test/causeway${path}`, { headers: { ...KEY, accept } }));
    const message = async (response: Response) => ({
      headers: Object.fromEntries(response.headers),
      body: await response.text(),
    });

    const one = await get('/events/1', 'application/cloudevents+json');
    expect(one.status).toBe(200);
    expect(one.headers.get('content-type')).toContain('application/cloudevents+json');
    expect(one.headers.get('vary')).toContain('accept');
    const event = HTTP.toEvent(await message(one)) as CloudEvent<{ total: number }>;
    expect(event).toBeInstanceOf(CloudEvent);
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'order.placed',
      subject: 'order-1',
      source: 'urn:causeway',
      datacontenttype: 'application/json',
      data: { total: 3 },
      correlationid: 'c-1',
      causewayposition: 1,
      causewayrevision: 0,
    });

    const list = await get('/streams/order-1', 'application/cloudevents-batch+json');
    expect(list.headers.get('content-type')).toContain('application/cloudevents-batch+json');
    expect(list.headers.get('x-causeway-revision')).toBe('1');
    const batch = HTTP.toEvent(await message(list)) as CloudEvent[];
    expect(batch.map((e) => e.type)).toEqual(['order.placed', 'order.paid']);
    const log = HTTP.toEvent(
      await message(await get('/all?from=1', 'application/cloudevents-batch+json')),
    ) as CloudEvent[];
    expect(log.map((e) => e.subject)).toEqual(['order-1', 'order-1']);

    // Without the Accept header the answer is unchanged JSON.
    const plain = await get('/events/1', 'application/json');
    expect(plain.headers.get('content-type')).toContain('application/json');
    expect(((await plain.json()) as { event: { type: string } }).event.type).toBe('order.placed');
    // Errors stay problem details.
    const missing = await get('/events/99', 'application/cloudevents+json');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain(PROBLEM_JSON);

    // SSE with the CloudEvents Accept type: each message's data is a structured CloudEvent.
    const controller = new AbortController();
    const sse = await api.fetch(
      new Request('http://app.test/causeway/subscribe?from=start', {
        headers: { ...KEY, accept: 'text/event-stream, application/cloudevents+json' },
        signal: controller.signal,
      }),
    );
    const reader = sse.body!.getReader();
    const state = { text: '' };
    await readUntil(reader, state, (text) => sseData(text).length === 2);
    const streamed = sseData(state.text).map((data) =>
      HTTP.toEvent({
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify(data),
      }),
    ) as CloudEvent[];
    expect(streamed.map((e) => [e.type, e.causewayposition])).toEqual([
      ['order.placed', 1],
      ['order.paid', 2],
    ]);
    await reader.cancel();
  });

  it('round-trips an ingested binary CloudEvent: source, bytes and extensions come back', async () => {
    const { api } = await handler();
    const sent = new CloudEvent({
      id: 'reading-1',
      source: '/sensors/7',
      type: 'sensor.read',
      subject: 'sensor-7',
      datacontenttype: 'application/octet-stream',
      data: new Uint8Array([1, 2, 3, 250]),
      region: 'eu',
    });
    const { headers, body } = HTTP.binary(sent);
    const ingested = await api.fetch(
      new Request('http://app.test/causeway/cloudevents', {
        method: 'POST',
        headers: { ...KEY, ...(headers as Record<string, string>) },
        body: body as Uint8Array,
      }),
    );
    expect(ingested.status).toBe(201);
    const { position } = ((await ingested.json()) as { events: { position: number }[] }).events[0]!;
    const answer = await api.fetch(
      new Request(`http://app.test/causeway/events/${position}`, {
        headers: { ...KEY, accept: 'application/cloudevents+json' },
      }),
    );
    const back = HTTP.toEvent({
      headers: Object.fromEntries(answer.headers),
      body: await answer.text(),
    }) as CloudEvent<Uint32Array>;
    expect(back).toMatchObject({
      source: '/sensors/7',
      type: 'sensor.read',
      subject: 'sensor-7',
      datacontenttype: 'application/octet-stream',
      region: 'eu',
    });
    expect(back.data_base64).toBe(Buffer.from([1, 2, 3, 250]).toString('base64'));
  });
});

describe('createFetchHandler on node:http', () => {
  it('mounts the Node listener under a prefix next to the host routes, with the guard applied', async () => {
    const store = newStore();
    const api = await createFetchHandler({
      prefix: '/causeway',
      store,
      guard: keyGuard,
      statsSampleMs: 0,
    });
    cleanups.push(() => api.close());
    const server: Server = createHttpServer((req, res) => {
      if (req.url === '/hello') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('host route');
        return;
      }
      api.node(req, res, () => res.writeHead(404).end('host 404'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    expect(await (await fetch(`${base}/hello`)).text()).toBe('host route');
    expect(await (await fetch(`${base}/elsewhere`)).text()).toBe('host 404');
    const appended = await fetch(`${base}/causeway/streams/order-1`, {
      method: 'POST',
      headers: { ...KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ type: 'order.placed', data: {} }] }),
    });
    expect(appended.status).toBe(201);
    const anonymous = await fetch(`${base}/causeway/streams/order-1`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain(PROBLEM_JSON);
    expect(await anonymous.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    const read = await fetch(`${base}/causeway/streams/order-1`, { headers: KEY });
    expect(((await read.json()) as { events: unknown[] }).events).toHaveLength(1);
    // The admin UI is served under the prefix too.
    const ui = await fetch(`${base}/causeway/`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toContain('text/html');
  });
});

describe('a failing event stream', () => {
  it('ends with an error message whose data is problem details', async () => {
    const store = newStore();
    await store.append('order-1', [{ type: 'order.placed', data: {} }]);
    // The first read works; the next one fails as a lost database would.
    let reads = 0;
    const failing = new Proxy(store, {
      get(target, key) {
        if (key === 'readAll')
          return (...args: Parameters<MemoryEventStore['readAll']>) => {
            reads++;
            if (reads > 1) throw new CausewayError('STORE_UNAVAILABLE', 'The store went away');
            return target.readAll(...args);
          };
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const api = await createFetchHandler({ prefix: '/causeway', store: failing, statsSampleMs: 0 });
    cleanups.push(() => api.close());
    const response = await api.fetch(new Request('http://app.test/causeway/subscribe?from=start'));
    const reader = response.body!.getReader();
    const state = { text: '' };
    await readUntil(reader, state, (text) => sseData(text).length === 1);
    await store.append('order-2', [{ type: 'order.placed', data: {} }]);
    await readUntil(reader, state, (text) => /event: error\ndata: .*\n\n/.test(text));
    const data = /event: error\ndata: (.*)\n\n/.exec(state.text)![1]!;
    expect(JSON.parse(data)).toEqual({
      type: 'urn:causeway:problem:store-unavailable',
      title: 'Store unavailable',
      status: 500,
      detail: 'The event stream failed; reconnect to resume',
      instance: '/causeway/subscribe',
      code: 'STORE_UNAVAILABLE',
      details: null,
    });
  });
});
