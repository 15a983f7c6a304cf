// The HTTP API against a real server on a random port, run for each durable adapter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP, CloudEvent } from 'cloudevents';
import {
  type TransactionalEventStore,
  type StoreTransaction,
  Projector,
  defineProjection,
  type ProjectionStore,
  nack,
  Subscription,
  type SubscriptionStorage,
  type SagaInstanceView,
  type SagaQuery,
  SchemaRegistry,
  newId,
} from '@causewayjs/core';
import {
  SseReader,
  eventually,
  leaksNothing,
  rawRequest,
  jsonOf,
  startServer,
  type Body,
  type Running,
} from './support.js';

/** What a suite run needs of an adapter. */
export interface HttpBackend {
  store: TransactionalEventStore;
  // Each adapter has its own transaction type; the suite only hands these to the runtimes.
  projectionStore(): Promise<ProjectionStore<StoreTransaction, unknown>>;
  subscriptionStorage(): Promise<SubscriptionStorage<StoreTransaction>>;
  cleanup(): Promise<void>;
}

const sagaInstances: SagaInstanceView[] = ['a', 'b', 'c'].map((id, i) => ({
  saga: 'order-fulfilment',
  id: `order-${id}`,
  status: i === 2 ? 'completed' : 'running',
  step: i === 2 ? 'done' : 'awaiting-payment',
  state: { n: i },
  startedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:01.000Z',
  history: [
    { at: '2026-01-01T00:00:00.000Z', kind: 'received', type: 'order.placed', id: newId() },
  ],
  timers: [],
}));

const sagaQuery: SagaQuery = {
  listInstances: (options = {}) =>
    Promise.resolve(
      sagaInstances
        .filter((s) => options.saga === undefined || s.saga === options.saga)
        .filter((s) => options.status === undefined || s.status === options.status)
        .filter((s) => options.after === undefined || s.id > options.after)
        .slice(0, options.limit ?? 100),
    ),
  getInstance: (saga, id) =>
    Promise.resolve(sagaInstances.find((s) => s.saga === saga && s.id === id)),
};

/** Registers the HTTP API suite for one adapter. */
export function describeHttpApi(name: string, open: () => Promise<HttpBackend>): void {
  describe(`HTTP API on ${name}`, () => {
    let backend: HttpBackend;
    let running: Running;
    let projector: Projector<StoreTransaction, unknown>;
    let subscription: Subscription<StoreTransaction>;
    let registry: SchemaRegistry;
    const healed = { projection: false, subscription: false };

    beforeAll(async () => {
      backend = await open();
      registry = await SchemaRegistry.open();
      projector = new Projector({
        store: await backend.projectionStore(),
        projections: [
          defineProjection<unknown>({
            name: 'poison-watch',
            version: 1,
            handles: ['test.poisoned'],
            setup: () => undefined,
            apply: () => (healed.projection ? undefined : nack.park('poisoned event')),
          }),
        ],
        subscription: { retry: { attempts: 1 } },
      });
      await projector.start();
      subscription = new Subscription({
        name: 'mailer',
        storage: await backend.subscriptionStorage(),
        filter: { types: ['test.poisoned'] },
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        idleCheckIntervalMs: 50,
        handler: () => (healed.subscription ? undefined : nack.park('cannot mail')),
      });
      await subscription.start();
      running = await startServer({
        store: backend.store,
        projectors: [projector],
        subscriptions: [subscription],
        sagas: sagaQuery,
        schemas: registry,
        aggregates: {
          counter: {
            initialState: () => ({ total: 0 }),
            evolve: (state: { total: number }, event: { data: { by: number } }) => ({
              total: state.total + event.data.by,
            }),
          },
        },
        sseHeartbeatMs: 60_000,
        adminUi: false,
      });
    });

    afterAll(async () => {
      await running?.close();
      await subscription?.stop();
      await projector?.stop();
      await backend?.store.close();
      await backend?.cleanup();
    });

    describe('streams', () => {
      it('appends with an expected revision from the body or If-Match, and reads back', async () => {
        const { http } = running;
        const first = await http.post('/streams/order-1', {
          events: [
            {
              type: 'order.placed',
              data: { total: 10 },
              // An anonymous caller cannot name an actor: the server stamps only callers it knows.
              metadata: { correlationId: 'c-1', actor: 'mallory' },
            },
            { type: 'order.paid', data: { amount: 10 } },
          ],
          expectedRevision: 'no_stream',
        });
        expect(first.status).toBe(201);
        expect(first.body).toMatchObject({ stream: 'order-1', revision: 1 });
        expect(first.headers.get('etag')).toBe('"1"');

        const second = await http.post('/streams/order-1', [{ type: 'order.shipped', data: {} }], {
          'if-match': '"1"',
        });
        expect(second.status).toBe(201);
        expect(second.body.revision).toBe(2);

        const read = await http.get('/streams/order-1');
        expect(read.status).toBe(200);
        expect(read.body.events.map((e) => e.type)).toEqual([
          'order.placed',
          'order.paid',
          'order.shipped',
        ]);
        expect(read.body.events[0]!.metadata.correlationId).toBe('c-1');
        expect(read.body.events[0]!.metadata).not.toHaveProperty('actor');
        expect(read.body.events[0]!.data).toEqual({ total: 10 });
        expect(typeof read.body.events[0]!.recordedAt).toBe('string');
        expect(read.body.revision).toBe(2);

        const page = await http.get('/streams/order-1?from=end&direction=backward&limit=2');
        expect(page.body.events.map((e) => e.revision)).toEqual([2, 1]);
        expect(page.body.next).toBe(0);
        const rest = await http.get(
          `/streams/order-1?from=${page.body.next}&direction=backward&limit=2`,
        );
        expect(rest.body.events.map((e) => e.revision)).toEqual([0]);
        expect(rest.body.next).toBeNull();
      });

      it('answers 409 with the actual revision for a wrong expected revision, writing nothing', async () => {
        const { http } = running;
        await http.post('/streams/conflict-1', { events: [{ type: 'a.b', data: 1 }] });
        const wrong = await http.post('/streams/conflict-1', {
          events: [{ type: 'a.b', data: 2 }],
          expectedRevision: 5,
        });
        expect(wrong.status).toBe(409);
        expect(wrong.body).toMatchObject({
          code: 'WRONG_EXPECTED_REVISION',
          details: { expected: 5, actual: 0 },
        });
        const viaHeader = await http.post('/streams/conflict-1', [{ type: 'a.b', data: 2 }], {
          'if-match': 'no_stream',
        });
        expect(viaHeader.status).toBe(409);
        expect((await http.get('/streams/conflict-1')).body.events).toHaveLength(1);
      });

      it('refuses a body and an If-Match that disagree, and an unreadable If-Match', async () => {
        const { http } = running;
        const both = await http.post(
          '/streams/conflict-2',
          { events: [{ type: 'a.b', data: 1 }], expectedRevision: 'no_stream' },
          { 'if-match': '3' },
        );
        expect(both.status).toBe(400);
        expect(both.body.code).toBe('INVALID_REQUEST');
        const bad = await http.post('/streams/conflict-2', [{ type: 'a.b', data: 1 }], {
          'if-match': 'yesterday',
        });
        expect(bad.status).toBe(400);
        expect(bad.body.code).toBe('INVALID_ARGUMENT');
        expect((await http.get('/streams/conflict-2')).status).toBe(404);
      });

      it('makes a retry with the same event ids an idempotent success', async () => {
        const { http } = running;
        const events = [{ id: newId(), type: 'x.happened', data: { n: 1 } }];
        const a = await http.post('/streams/idem-1', { events, expectedRevision: 'no_stream' });
        const b = await http.post('/streams/idem-1', { events, expectedRevision: 'no_stream' });
        expect(a.status).toBe(201);
        expect(b.status).toBe(201);
        expect(b.body).toEqual(a.body);
      });

      it('soft-deletes (404 after, revived by an append) and tombstones (410 for reads and writes)', async () => {
        const { http } = running;
        await http.post('/streams/gone-1', { events: [{ type: 'a.b', data: 1 }] });
        expect((await http.delete('/streams/gone-1')).status).toBe(204);
        const afterSoft = await http.get('/streams/gone-1');
        expect(afterSoft.status).toBe(404);
        expect(afterSoft.body.code).toBe('STREAM_NOT_FOUND');
        expect(
          (await http.post('/streams/gone-1', { events: [{ type: 'a.b', data: 2 }] })).body
            .revision,
        ).toBe(1);

        await http.post('/streams/gone-2', { events: [{ type: 'a.b', data: 1 }] });
        expect((await http.delete('/streams/gone-2?hard=true')).status).toBe(204);
        const read = await http.get('/streams/gone-2');
        expect(read.status).toBe(410);
        expect(read.body.code).toBe('STREAM_DELETED');
        const write = await http.post('/streams/gone-2', { events: [{ type: 'a.b', data: 2 }] });
        expect(write.status).toBe(410);
        const meta = await http.get('/streams/gone-2/metadata');
        expect(meta.body.deleted).toBe('hard');
      });

      it('deletes with an expected revision (409 when wrong)', async () => {
        const { http } = running;
        await http.post('/streams/gone-3', { events: [{ type: 'a.b', data: 1 }] });
        const wrong = await http.delete('/streams/gone-3?expectedRevision=4');
        expect(wrong.status).toBe(409);
        expect((await http.get('/streams/gone-3')).status).toBe(200);
        expect((await http.delete('/streams/gone-3', { 'if-match': '"0"' })).status).toBe(204);
      });

      it('reads and replaces stream metadata, which shapes reads', async () => {
        const { http } = running;
        await http.post('/streams/meta-1', {
          events: [1, 2, 3].map((n) => ({ type: 'n.added', data: n })),
        });
        const put = await http.put('/streams/meta-1/metadata', { maxCount: 2, owner: 'team-a' });
        expect(put.status).toBe(200);
        expect(put.body.metadata).toEqual({ maxCount: 2, owner: 'team-a' });
        expect((await http.get('/streams/meta-1/metadata')).body).toMatchObject({
          exists: true,
          revision: 2,
          deleted: false,
        });
        expect((await http.get('/streams/meta-1')).body.events.map((e) => e.data)).toEqual([2, 3]);
        const bad = await http.put('/streams/meta-1/metadata', { maxCount: -1 });
        expect(bad.status).toBe(400);
        const notObject = await http.request('PUT', '/streams/meta-1/metadata', {
          body: '[1]',
          headers: { 'content-type': 'application/json' },
        });
        expect(notObject.status).toBe(400);
      });

      it('lists streams by prefix, paged by name', async () => {
        const { http } = running;
        for (const n of [1, 2, 3])
          await http.post(`/streams/list-${n}`, { events: [{ type: 'a.b', data: n }] });
        const page1 = await http.get('/streams?prefix=list-&limit=2');
        expect(page1.status).toBe(200);
        expect(page1.body.streams.map((s) => s.stream)).toEqual(['list-1', 'list-2']);
        expect(page1.body.streams[0]).toMatchObject({ revision: 0, deleted: false });
        expect(page1.body.next).toBe('list-2');
        const page2 = await http.get(`/streams?prefix=list-&limit=2&after=${page1.body.next}`);
        expect(page2.body.streams.map((s) => s.stream)).toEqual(['list-3']);
        expect(page2.body.next).toBeNull();
      });

      it('folds an aggregate to a revision for time travel', async () => {
        const { http } = running;
        await http.post('/streams/counter-7', {
          events: [1, 2, 3, 4].map((by) => ({ type: 'counter.added', data: { by } })),
        });
        const at1 = await http.get('/streams/counter-7/state?revision=1');
        expect(at1.status).toBe(200);
        expect(at1.body).toMatchObject({
          state: { total: 3 },
          revision: 1,
          events: 2,
          range: { first: 0, last: 3 },
          category: 'counter',
        });
        const latest = await http.get('/streams/counter-7/state');
        expect(latest.body.state).toEqual({ total: 10 });
        const unknown = await http.get('/streams/order-1/state');
        expect(unknown.status).toBe(404);
        expect(unknown.body.details.category).toBe('order');
        expect((await http.get('/streams/counter-nope/state')).status).toBe(404);
      });
    });

    describe('bad input', () => {
      it('refuses malformed JSON, wrong content types, bad bodies and bad queries with clear errors', async () => {
        const { http } = running;
        const malformed = await http.request('POST', '/streams/bad-1', {
          body: '{"events": [',
          headers: { 'content-type': 'application/json' },
        });
        expect(malformed.status).toBe(400);
        expect(malformed.body.code).toBe('MALFORMED_JSON');
        const text = await http.request('POST', '/streams/bad-1', {
          body: 'hello',
          headers: { 'content-type': 'text/plain' },
        });
        expect(text.status).toBe(415);
        expect(text.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
        const xml = await http.request('POST', '/streams/bad-1', {
          body: '<a/>',
          headers: { 'content-type': 'application/xml' },
        });
        expect(xml.status).toBe(415);
        const noEvents = await http.post('/streams/bad-1', { events: [] });
        expect(noEvents.status).toBe(400);
        expect(noEvents.body.code).toBe('INVALID_REQUEST');
        const noType = await http.post('/streams/bad-1', { events: [{ data: 1 }] });
        expect(noType.status).toBe(400);
        const badId = await http.post('/streams/bad-1', {
          events: [{ id: 'not-a-uuid', type: 'a.b', data: 1 }],
        });
        expect(badId.status).toBe(400);
        expect(badId.body.code).toBe('INVALID_EVENT');
        const badLimit = await http.get('/all?limit=0');
        expect(badLimit.status).toBe(400);
        const badDirection = await http.get('/streams/order-1?direction=sideways');
        expect(badDirection.status).toBe(400);
        for (const reply of [malformed, text, xml, noEvents, noType, badId, badLimit, badDirection])
          expect(leaksNothing(reply.text)).toBe(true);
        expect((await http.get('/streams/bad-1')).status).toBe(404);
      });

      it('refuses invalid stream names, including path tricks', async () => {
        const { http } = running;
        for (const path of [
          '..',
          '.',
          '..%2F..%2Fetc',
          'a%2Fb',
          'a%5Cb',
          'a%00b',
          'line%0Abreak',
          '%24all',
          'x'.repeat(201),
        ]) {
          // Sent verbatim: fetch would resolve "." and ".." segments before sending.
          const reply = await rawRequest(
            running.url,
            'POST',
            `/streams/${path}`,
            JSON.stringify({ events: [{ type: 'a.b', data: 1 }] }),
          );
          expect(reply.status, path).toBe(400);
          expect((JSON.parse(reply.text) as Body).code, path).toBe('INVALID_STREAM_NAME');
          expect((await rawRequest(running.url, 'GET', `/streams/${path}`)).status, path).toBe(400);
        }
        // Unencoded path tricks are routed as paths, not as names: no route matches.
        const traversal = await rawRequest(running.url, 'GET', '/streams/a/../../all');
        expect(traversal.status).toBe(404);
        expect((JSON.parse(traversal.text) as Body).code).toBe('ROUTE_NOT_FOUND');
        const all = await http.get('/all?prefix=..');
        expect(all.body.events).toEqual([]);
      });

      it('answers unknown routes and methods with 404 as problem details', async () => {
        const { http } = running;
        const unknown = await http.get('/no/such/route?x=1');
        expect(unknown.status).toBe(404);
        expect(unknown.headers.get('content-type')).toContain('application/problem+json');
        expect(unknown.body).toEqual({
          type: 'urn:causeway:problem:route-not-found',
          title: 'Route not found',
          status: 404,
          detail: 'No route GET /no/such/route',
          instance: '/no/such/route',
          code: 'ROUTE_NOT_FOUND',
          details: null,
        });
        expect((await http.request('PATCH', '/streams/x')).status).toBe(404);
      });

      it('answers 422 with every failure when appended events break their schemas, writing nothing', async () => {
        const { http } = running;
        await registry.register('shop.priced', {
          type: 'object',
          required: ['price'],
          properties: { price: { type: 'number' } },
        });
        const reply = await http.post('/streams/priced-1', {
          events: [
            { type: 'shop.priced', data: { price: 3 } },
            { type: 'shop.priced', data: { price: 'three' } },
          ],
        });
        expect(reply.status).toBe(422);
        expect(reply.body.code).toBe('SCHEMA_VALIDATION_FAILED');
        expect(reply.body.details.failures[0]).toMatchObject({
          index: 1,
          eventType: 'shop.priced',
        });
        expect((await http.get('/streams/priced-1')).status).toBe(404);
        expect(
          (
            await http.post('/streams/priced-1', {
              events: [{ type: 'shop.priced', data: { price: 3 } }],
            })
          ).status,
        ).toBe(201);
      });

      it('stays up after every bad request', async () => {
        expect((await running.http.get('/health')).body.status).toBe('ok');
      });
    });

    describe('global log', () => {
      it('reads /all with type and prefix filters, paged', async () => {
        const { http } = running;
        const tag = `log${Date.now().toString(36)}-`;
        for (let n = 0; n < 5; n++) {
          await http.post(`/streams/${tag}${n % 2}`, {
            events: [{ type: n % 2 ? 'log.odd' : 'log.even', data: n }],
          });
        }
        const evens = await http.get(`/all?prefix=${tag}&types=log.even&limit=2`);
        expect(evens.status).toBe(200);
        expect(evens.body.events.map((e) => e.data)).toEqual([0, 2]);
        const more = await http.get(
          `/all?prefix=${tag}&types=log.even&limit=2&from=${evens.body.next}`,
        );
        expect(more.body.events.map((e) => e.data)).toEqual([4]);
        const both = await http.get(`/all?prefix=${tag}&types=log.even,log.odd`);
        expect(both.body.events.map((e) => e.data)).toEqual([0, 1, 2, 3, 4]);
        const repeated = await http.get(`/all?prefix=${tag}&types=log.odd&types=log.even`);
        expect(repeated.body.events).toHaveLength(5);
        const back = await http.get(`/all?prefix=${tag}&direction=backward&limit=2`);
        expect(back.body.events.map((e) => e.data)).toEqual([4, 3]);
        expect(back.body.head).toBeGreaterThanOrEqual(back.body.events[0]!.position);
      });

      it('shows an event with the chain that caused it and what it caused', async () => {
        const { http } = running;
        const root = newId();
        const child = newId();
        const grandchild = newId();
        await http.post('/streams/chain-1', {
          events: [{ id: root, type: 'chain.started', data: {} }],
        });
        await http.post('/streams/chain-2', {
          events: [
            { id: child, type: 'chain.continued', data: {}, metadata: { causationId: root } },
          ],
        });
        await http.post('/streams/chain-3', { events: [{ type: 'unrelated.thing', data: {} }] });
        await http.post('/streams/chain-1', {
          events: [
            { id: grandchild, type: 'chain.ended', data: {}, metadata: { causationId: child } },
          ],
        });
        const middle = (await http.get('/streams/chain-2')).body.events[0];
        const reply = await http.get(`/events/${middle!.position}`);
        expect(reply.status).toBe(200);
        expect(reply.body.event.id).toBe(child);
        expect(reply.body.causedBy.map((e) => e.id)).toEqual([root]);
        expect(reply.body.caused.map((e) => e.id)).toEqual([grandchild]);
        const narrow = await http.get(`/events/${middle!.position}?window=0`);
        expect(narrow.body.causedBy).toEqual([]);
        expect((await http.get('/events/999999999')).status).toBe(404);
        expect((await http.get('/events/0')).status).toBe(400);
        expect((await http.get('/events/abc')).status).toBe(400);
      });
    });

    describe('server-sent events', () => {
      it('streams the log from a position, then live, and resumes from Last-Event-ID with no gap or duplicate', async () => {
        const { http, url } = running;
        const tag = `sse${Date.now().toString(36)}-`;
        const head = (await http.get('/ready')).body.head;
        for (let n = 0; n < 3; n++)
          await http.post(`/streams/${tag}a`, { events: [{ type: 'sse.tick', data: n }] });
        const first = new SseReader(`${url}/subscribe?from=${head + 1}&prefix=${tag}`);
        await first.ready();
        expect(first.status).toBe(200);
        await first.waitFor(() => first.events().length === 3);
        // Live: written after the client caught up.
        await http.post(`/streams/${tag}b`, { events: [{ type: 'sse.tick', data: 3 }] });
        await first.waitFor(() => first.events().length === 4);
        const lastId = first.messages[first.messages.length - 1]!.id!;
        await first.close();

        // Written while no one listens, and while the second client connects.
        const writes = (async () => {
          for (let n = 4; n < 30; n++)
            await http.post(`/streams/${tag}a`, { events: [{ type: 'sse.tick', data: n }] });
        })();
        const second = new SseReader(`${url}/subscribe?prefix=${tag}`, { 'last-event-id': lastId });
        await writes;
        await second.waitFor(() => second.events().length === 26);
        const seen = [...first.events(), ...second.events()].map((e) => e.data);
        expect(seen).toEqual(Array.from({ length: 30 }, (_, n) => n));
        const positions = second.messages.map((m) => Number(m.id));
        expect(positions).toEqual([...positions].sort((a, b) => a - b));
        expect(positions[0]).toBeGreaterThan(Number(lastId));
        await second.close();
      });

      it('filters by type and starts at the end by default', async () => {
        const { http, url } = running;
        const tag = `ssf${Date.now().toString(36)}-`;
        await http.post(`/streams/${tag}a`, { events: [{ type: 'ssf.old', data: 0 }] });
        const reader = new SseReader(`${url}/subscribe?types=ssf.wanted&prefix=${tag}`);
        await reader.ready();
        await eventually(
          async () => (await http.get('/stats')).body.sse.open >= 1,
          5000,
          'stream open',
        );
        await http.post(`/streams/${tag}a`, {
          events: [
            { type: 'ssf.unwanted', data: 1 },
            { type: 'ssf.wanted', data: 2 },
          ],
        });
        await reader.waitFor(() => reader.events().length === 1);
        expect(reader.events()[0]!.data).toBe(2);
        await reader.close();
      });

      it('survives clients that disconnect mid-stream, releasing their streams', async () => {
        const { http, url } = running;
        const tag = `ssd${Date.now().toString(36)}-`;
        await http.post(`/streams/${tag}a`, {
          events: Array.from({ length: 50 }, (_, n) => ({ type: 'ssd.tick', data: n })),
        });
        const before = (await http.get('/stats')).body.sse.open;
        const readers = Array.from(
          { length: 5 },
          () => new SseReader(`${url}/subscribe?from=start&prefix=${tag}`),
        );
        await Promise.all(readers.map((r) => r.waitFor(() => r.messages.length >= 1)));
        await Promise.all(readers.map((r) => r.close()));
        await eventually(
          async () => (await http.get('/stats')).body.sse.open === before,
          5000,
          'streams released',
        );
        expect((await http.get('/health')).status).toBe(200);
        const bad = new SseReader(`${url}/subscribe`, { 'last-event-id': 'banana' });
        await bad.ready();
        expect(bad.status).toBe(400);
        await bad.close();
      });
    });

    describe('CloudEvents', () => {
      it('ingests structured, binary and batch CloudEvents sent with the official SDK', async () => {
        const { http, url } = running;
        const structured = new CloudEvent({
          id: 'ce-1',
          source: '/shop/web',
          type: 'shop.order.placed',
          subject: 'ce-order-1',
          data: { total: 5 },
          correlationid: 'corr-9',
        });
        const s = HTTP.structured(structured);
        const sReply = await fetch(`${url}/cloudevents`, {
          method: 'POST',
          headers: s.headers as Record<string, string>,
          body: s.body as string,
        });
        expect(sReply.status).toBe(201);
        const sBody = await jsonOf(sReply);
        expect(sBody.events[0]).toMatchObject({
          cloudEventId: 'ce-1',
          stream: 'ce-order-1',
          revision: 0,
        });

        const binary = new CloudEvent({
          id: 'ce-2',
          source: '/shop/web',
          type: 'shop.order.paid',
          subject: 'ce-order-1',
          datacontenttype: 'application/json',
          data: { amount: 5 },
        });
        const b = HTTP.binary(binary);
        const bReply = await fetch(`${url}/cloudevents`, {
          method: 'POST',
          headers: b.headers as Record<string, string>,
          body: b.body as string,
        });
        expect(bReply.status).toBe(201);

        const batch = [
          new CloudEvent({
            id: 'ce-3',
            source: '/shop/stock',
            type: 'shop.stock.reserved',
            subject: 'ce-stock-1',
            data: { sku: 'tea' },
          }),
          new CloudEvent({
            id: 'ce-4',
            source: '/shop/stock',
            type: 'shop.stock.reserved',
            subject: 'ce-stock-2',
            data: { sku: 'cup' },
          }),
        ];
        const batchReply = await http.request('POST', '/cloudevents', {
          body: JSON.stringify(batch.map((e) => e.toJSON())),
          headers: { 'content-type': 'application/cloudevents-batch+json' },
        });
        expect(batchReply.status).toBe(201);
        expect(batchReply.body.events.map((e) => e.stream)).toEqual(['ce-stock-1', 'ce-stock-2']);

        const read = await http.get('/streams/ce-order-1');
        const [placed, paid] = read.body.events;
        expect(placed).toMatchObject({ type: 'shop.order.placed', data: { total: 5 } });
        expect(placed!.metadata.correlationId).toBe('corr-9');
        expect(placed!.metadata.cloudEvent).toMatchObject({
          id: 'ce-1',
          source: '/shop/web',
          specversion: '1.0',
        });
        expect(paid).toMatchObject({ type: 'shop.order.paid', data: { amount: 5 } });

        // Redelivery of the same CloudEvent maps to the same event id: an idempotent retry.
        const again = await fetch(`${url}/cloudevents`, {
          method: 'POST',
          headers: s.headers as Record<string, string>,
          body: s.body as string,
        });
        expect(again.status).toBe(201);
        expect((await jsonOf(again)).events[0]!.position).toBe(sBody.events[0]!.position);
        expect((await http.get('/streams/ce-order-1')).body.events).toHaveLength(2);
      });

      it('answers 422 in structured, batch and binary mode for data POST /streams refuses, writing nothing', async () => {
        const { http } = running;
        await registry.register('ce.counted', {
          type: 'object',
          required: ['n'],
          properties: { n: { type: 'number' } },
        });
        const bad = { n: 'NOT A NUMBER' };
        const viaStreams = await http.post('/streams/ce-counted-1', {
          events: [{ type: 'ce.counted', data: bad }],
        });
        expect(viaStreams.status).toBe(422);
        const cloudEvent = (id: string, data: unknown) => ({
          specversion: '1.0',
          id,
          source: '/counter',
          type: 'ce.counted',
          subject: 'ce-counted-1',
          datacontenttype: 'application/json',
          data,
        });
        const structured = await http.request('POST', '/cloudevents', {
          body: JSON.stringify(cloudEvent('c-1', bad)),
          headers: { 'content-type': 'application/cloudevents+json' },
        });
        const batch = await http.request('POST', '/cloudevents', {
          body: JSON.stringify([cloudEvent('c-2', { n: 1 }), cloudEvent('c-3', bad)]),
          headers: { 'content-type': 'application/cloudevents-batch+json' },
        });
        const binary = await http.request('POST', '/cloudevents', {
          body: JSON.stringify(bad),
          headers: {
            'ce-specversion': '1.0',
            'ce-id': 'c-4',
            'ce-source': '/counter',
            'ce-type': 'ce.counted',
            'ce-subject': 'ce-counted-1',
            'content-type': 'application/json',
          },
        });
        for (const [reply, index] of [
          [structured, 0],
          [batch, 1],
          [binary, 0],
        ] as const) {
          expect(reply.status).toBe(422);
          expect(reply.body.code).toBe(viaStreams.body.code);
          expect(reply.body.details.failures).toEqual([
            { ...viaStreams.body.details.failures[0], index },
          ]);
        }
        expect((await http.get('/streams/ce-counted-1')).status).toBe(404);
        const good = await http.request('POST', '/cloudevents', {
          body: JSON.stringify(cloudEvent('c-5', { n: 5 })),
          headers: { 'content-type': 'application/cloudevents+json' },
        });
        expect(good.status).toBe(201);
        const [stored] = (await http.get('/streams/ce-counted-1')).body.events;
        expect(stored).toMatchObject({ data: { n: 5 }, schemaVersion: 1 });
      });

      it('takes binary-mode data of any media type: text as text, other bytes as base64', async () => {
        const { http } = running;
        const ce = {
          'ce-specversion': '1.0',
          'ce-source': '/files',
          'ce-type': 'file.stored',
          'ce-subject': 'ce-file-1',
        };
        const text = await http.request('POST', '/cloudevents', {
          body: 'hello',
          headers: { ...ce, 'ce-id': 'f-1', 'content-type': 'text/plain' },
        });
        expect(text.status).toBe(201);
        const bytes = await http.request('POST', '/cloudevents', {
          body: Buffer.from([0, 255, 1]),
          headers: { ...ce, 'ce-id': 'f-2', 'content-type': 'application/octet-stream' },
        });
        expect(bytes.status).toBe(201);
        const [first, second] = (await http.get('/streams/ce-file-1')).body.events;
        expect(first!.data).toBe('hello');
        expect(second!.data).toBe(Buffer.from([0, 255, 1]).toString('base64'));
        expect(second!.metadata.cloudEvent).toMatchObject({
          datacontenttype: 'application/octet-stream',
          dataBase64: true,
        });
      });

      it('refuses CloudEvents missing required attributes, with no stream, or in a bad batch, writing nothing', async () => {
        const { http } = running;
        const send = (
          body: unknown,
          type = 'application/cloudevents+json',
          headers: Record<string, string> = {},
        ) =>
          http.request('POST', '/cloudevents', {
            body: JSON.stringify(body),
            headers: { 'content-type': type, ...headers },
          });
        const missing = await send({
          specversion: '1.0',
          id: 'x',
          type: 'a.b',
          subject: 'ce-bad-1',
        });
        expect(missing.status).toBe(400);
        expect(missing.body).toMatchObject({
          code: 'INVALID_CLOUDEVENT',
          details: { missing: ['source'] },
        });
        const noStream = await send({ specversion: '1.0', id: 'x', source: '/s', type: 'a.b' });
        expect(noStream.status).toBe(400);
        const badVersion = await send({
          specversion: '0.3',
          id: 'x',
          source: '/s',
          type: 'a.b',
          subject: 'ce-bad-1',
        });
        expect(badVersion.status).toBe(400);
        const badStream = await send({
          specversion: '1.0',
          id: 'x',
          source: '/s',
          type: 'a.b',
          subject: '../etc',
        });
        expect(badStream.status).toBe(400);
        const halfBad = await send(
          [
            { specversion: '1.0', id: 'ok', source: '/s', type: 'a.b', subject: 'ce-bad-1' },
            { specversion: '1.0', id: 'ko', source: '/s', subject: 'ce-bad-1' },
          ],
          'application/cloudevents-batch+json',
        );
        expect(halfBad.status).toBe(400);
        expect(halfBad.body.details.index).toBe(1);
        const notArray = await send({ specversion: '1.0' }, 'application/cloudevents-batch+json');
        expect(notArray.status).toBe(400);
        const binaryWithout = await http.request('POST', '/cloudevents', {
          body: '{}',
          headers: {
            'content-type': 'application/json',
            'ce-id': 'x',
            'ce-source': '/s',
            'ce-type': 'a.b',
          },
        });
        expect(binaryWithout.status).toBe(400);
        const binaryMissing = await http.request('POST', '/cloudevents', {
          body: '{}',
          headers: {
            'content-type': 'application/json',
            'ce-specversion': '1.0',
            'ce-source': '/s',
            'ce-type': 'a.b',
            'ce-subject': 'ce-bad-1',
          },
        });
        expect(binaryMissing.status).toBe(400);
        expect(binaryMissing.body.details.missing).toEqual(['id']);
        const malformed = await http.request('POST', '/cloudevents', {
          body: '{',
          headers: { 'content-type': 'application/cloudevents+json' },
        });
        expect(malformed.status).toBe(400);
        expect((await http.get('/streams/ce-bad-1')).status).toBe(404);
      });
    });

    describe('admin', () => {
      it('lists projections, shows one, and rebuilds it', async () => {
        const { http } = running;
        const list = await http.get('/projections');
        expect(list.status).toBe(200);
        expect(list.body.projections.map((p) => p.name)).toEqual(['poison-watch']);
        expect(list.body.projections[0]).toHaveProperty('lag.events');
        const one = await http.get('/projections/poison-watch');
        expect(one.body).toMatchObject({ name: 'poison-watch', mode: 'async' });
        expect((await http.get('/projections/nope')).status).toBe(404);
        const rebuild = await http.post('/projections/poison-watch/rebuild');
        expect(rebuild.status).toBe(202);
        expect(rebuild.body.build).toHaveProperty('build');
        await projector.switched('poison-watch', { timeoutMs: 20_000 });
      });

      it('lists, retries and skips parked events of subscriptions and projections', async () => {
        const { http } = running;
        healed.projection = false;
        healed.subscription = false;
        const { position } = (
          await http.post('/streams/parked-1', { events: [{ type: 'test.poisoned', data: 1 }] })
        ).body;
        const sources = await eventually(
          async () => {
            const reply = await http.get('/parked');
            const byName = Object.fromEntries(reply.body.sources.map((s) => [s.name, s.count]));
            return (byName.mailer ?? 0) >= 1 && (byName['projection:poison-watch'] ?? 0) >= 1
              ? reply.body.sources
              : undefined;
          },
          15_000,
          'events parked',
        );
        expect(sources.map((s) => s.kind).sort()).toEqual(['projection', 'subscription']);

        const parked = await http.get('/parked/mailer');
        const mine = parked.body.events.find((e) => e.position === position);
        expect(mine).toMatchObject({
          stream: 'parked-1',
          type: 'test.poisoned',
          reason: 'requested',
        });
        expect(mine).toBeDefined();
        expect((mine as unknown as { error: object }).error).not.toHaveProperty('stack');

        healed.subscription = true;
        const retried = await http.post('/parked/mailer/retry', { positions: [position] });
        expect(retried.body.count).toBe(1);
        await eventually(
          async () =>
            !(await http.get('/parked/mailer')).body.events.some((e) => e.position === position),
          15_000,
          'retried event handled',
        );

        const projectionParked = await http.get('/parked/projection:poison-watch');
        expect(projectionParked.body.events.some((e) => e.position === position)).toBe(true);
        const skipped = await http.post('/parked/projection:poison-watch/skip', {
          positions: 'all',
        });
        expect(skipped.body.count).toBeGreaterThanOrEqual(1);
        expect((await http.get('/parked/projection:poison-watch')).body.events).toEqual([]);

        expect((await http.get('/parked/nobody')).status).toBe(404);
        expect((await http.post('/parked/mailer/retry', { positions: [] })).status).toBe(400);
        expect((await http.post('/parked/mailer/skip', { positions: 'some' })).status).toBe(400);
      });

      it('lists saga instances and shows one', async () => {
        const { http } = running;
        const running_ = await http.get('/sagas?status=running&limit=1');
        expect(running_.body.instances.map((s) => s.id)).toEqual(['order-a']);
        expect(running_.body.next).toBe('order-a');
        const next = await http.get(`/sagas?status=running&limit=1&after=${running_.body.next}`);
        expect(next.body.instances.map((s) => s.id)).toEqual(['order-b']);
        const one = await http.get('/sagas/order-fulfilment/order-c');
        expect(one.body).toMatchObject({ status: 'completed', step: 'done' });
        expect((await http.get('/sagas/order-fulfilment/order-z')).status).toBe(404);
        expect((await http.get('/sagas?status=bored')).status).toBe(400);
      });

      it('lists, registers and checks schemas, refusing breaking changes with 422', async () => {
        const { http } = running;
        const v1 = { type: 'object', required: ['sku'], properties: { sku: { type: 'string' } } };
        const registered = await http.post('/schemas/stock.counted', { schema: v1 });
        expect(registered.status).toBe(201);
        expect(registered.body).toMatchObject({
          type: 'stock.counted',
          version: 1,
          compatibility: 'backward',
        });
        const breaking = {
          type: 'object',
          required: ['sku', 'count'],
          properties: { sku: { type: 'string' }, count: { type: 'integer' } },
        };
        const check = await http.post('/schemas/stock.counted/check', { schema: breaking });
        expect(check.status).toBe(200);
        expect(check.body).toMatchObject({ compatible: false, version: 2 });
        const refused = await http.post('/schemas/stock.counted', { schema: breaking });
        expect(refused.status).toBe(422);
        expect(refused.body.code).toBe('INCOMPATIBLE_SCHEMA');
        expect(refused.body.details.issues.length).toBeGreaterThan(0);
        const list = await http.get('/schemas');
        expect(list.body.schemas.map((s) => `${s.type}@${s.version}`)).toContain('stock.counted@1');
        expect((await http.get('/schemas/stock.counted')).body.versions).toHaveLength(1);
        expect((await http.get('/schemas/nothing.here')).status).toBe(404);
        expect((await http.post('/schemas/stock.counted', { schema: 'no' })).status).toBe(400);
      });

      it('reports stats for the charts', async () => {
        const { http } = running;
        const stats = await http.get('/stats');
        expect(stats.status).toBe(200);
        expect(stats.body.head).toBeGreaterThan(0);
        expect(stats.body.appends.events).toBeGreaterThan(0);
        expect(stats.body.projections[0]).toMatchObject({ name: 'poison-watch' });
        expect(stats.body.subscriptions[0]).toMatchObject({ name: 'mailer' });
        expect(typeof stats.body.subscriptions[0]!.lag).toBe('number');
      });
    });

    describe('system', () => {
      it('answers health and readiness', async () => {
        const { http } = running;
        expect((await http.get('/health')).body.status).toBe('ok');
        const ready = await http.get('/ready');
        expect(ready.status).toBe(200);
        expect(ready.body.head).toBeGreaterThan(0);
      });

      it('serves Prometheus metrics', async () => {
        const { http } = running;
        const reply = await http.get('/metrics');
        expect(reply.status).toBe(200);
        expect(reply.headers.get('content-type')).toContain('text/plain');
        for (const name of [
          'causeway_appends_total{result="ok"}',
          'causeway_append_duration_seconds_bucket',
          'causeway_http_requests_total{method="POST",route="/streams/:stream",status="201"}',
          'causeway_http_request_duration_seconds_bucket',
          'causeway_projection_lag_events{projection="poison-watch"}',
          'causeway_subscription_lag_events{subscription="mailer"}',
          'causeway_subscription_parked_events{subscription="mailer"}',
          'causeway_saga_instances{saga="order-fulfilment",status="running"} 2',
          'causeway_head_position',
        ])
          expect(reply.text, name).toContain(name);
        expect(reply.text).not.toContain('"total"');
      });

      it('serves an OpenAPI document listing every route', async () => {
        const { http } = running;
        const doc = (await http.get('/openapi.json')).body;
        expect(doc.openapi).toBe('3.1.0');
        const routes = running.server.app.printRoutes({ commonPrefix: false });
        const expected = [
          ['post', '/streams/{stream}'],
          ['get', '/streams/{stream}'],
          ['delete', '/streams/{stream}'],
          ['get', '/streams/{stream}/metadata'],
          ['put', '/streams/{stream}/metadata'],
          ['get', '/streams/{stream}/state'],
          ['get', '/streams'],
          ['get', '/all'],
          ['get', '/events/{position}'],
          ['get', '/subscribe'],
          ['post', '/cloudevents'],
          ['get', '/projections'],
          ['get', '/projections/{name}'],
          ['post', '/projections/{name}/rebuild'],
          ['get', '/parked'],
          ['get', '/parked/{name}'],
          ['post', '/parked/{name}/retry'],
          ['post', '/parked/{name}/skip'],
          ['get', '/sagas'],
          ['get', '/sagas/{saga}/{id}'],
          ['get', '/saga-commands/parked'],
          ['post', '/saga-commands/{commandId}/retry'],
          ['post', '/saga-commands/{commandId}/skip'],
          ['get', '/schemas'],
          ['get', '/schemas/{type}'],
          ['post', '/schemas/{type}'],
          ['post', '/schemas/{type}/check'],
          ['get', '/stats'],
          ['get', '/health'],
          ['get', '/ready'],
          ['get', '/metrics'],
          ['get', '/openapi.json'],
          ['post', '/admin/scavenge'],
        ];
        for (const [method, path] of expected) {
          expect(doc.paths[path!]?.[method!], `${method} ${path}`).toBeDefined();
          expect(doc.paths[path!]![method!]!.responses).toBeDefined();
        }
        expect(Object.values(doc.paths).flatMap((p) => Object.keys(p))).toHaveLength(
          expected.length,
        );
        expect(routes).toContain('subscribe');
      });
    });
  });
}
