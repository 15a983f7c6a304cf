// An event the caller may not read must be indistinguishable from a missing one: a limited
// key walking `GET /events/:position` must learn nothing of other streams or tenants (no 403
// naming the stream, no other body than a truly missing position's), and no listing or
// causation lookup shows it either.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect } from '@causewayjs/core';
import {
  backendTargets,
  securedServer,
  type Caller,
  type SecuredServer,
} from './secured-server.js';

/** The body of a position holding no event: problem details, nothing else. */
const missing = (position: number) => ({
  type: 'urn:causeway:problem:not-found',
  title: 'Not found',
  status: 404,
  detail: `No event at position ${position}`,
  instance: `/events/${position}`,
  code: 'NOT_FOUND',
  details: { position },
});

for (const target of await backendTargets()) {
  describe.skipIf(!target.available)(`hidden events over HTTP on ${target.name}`, () => {
    let http: SecuredServer;
    let cleanup: () => Promise<void>;
    let head: number;
    const positions: Record<string, number> = {};

    beforeAll(async () => {
      const opened = await target.open();
      cleanup = opened.cleanup;
      http = await securedServer(opened.backend);
      const seed = async (stream: string, as: Caller, metadata?: Record<string, unknown>) => {
        const reply = await http.append(
          stream,
          [{ type: 'thing.happened', data: { about: stream }, ...(metadata ? { metadata } : {}) }],
          as,
        );
        expect(reply.status).toBe(201);
        positions[stream] = reply.body.position as number;
      };
      await seed('order-1', 'admin');
      await seed('secret-1', 'admin');
      const secretId = (await collect(opened.backend.store.readStream('secret-1')))[0]!.id;
      // A readable event caused by a hidden one.
      await seed('order-2', 'admin', { causationId: secretId });
      await seed('acme:order-1', 'acme');
      await seed('globex:order-1', 'globex');
      head = await opened.backend.store.headPosition();
    });

    afterAll(async () => {
      await http?.server.close();
      await cleanup?.();
    });

    it('answers a hidden position exactly as a missing one', async () => {
      const hidden = await http.call('GET', `/events/${positions['secret-1']}`, { as: 'reader' });
      expect(hidden.status).toBe(404);
      expect(hidden.body).toEqual(missing(positions['secret-1']!));
      expect(hidden.text).not.toContain('secret');
      const absent = await http.call('GET', `/events/${head + 50}`, { as: 'reader' });
      expect(absent.status).toBe(404);
      expect(absent.body).toEqual(missing(head + 50));
      // The reader still gets its own events.
      const own = await http.call('GET', `/events/${positions['order-1']}`, { as: 'reader' });
      expect(own.status).toBe(200);
    });

    it('lets a tenant walking every position see its own events and nothing else', async () => {
      for (const as of ['acme', 'globex', 'reader'] as const) {
        const seen: string[] = [];
        for (let position = 1; position <= head + 1; position++) {
          const reply = await http.call('GET', `/events/${position}`, { as });
          if (reply.status === 200) {
            seen.push((reply.body.event as { stream: string }).stream);
            continue;
          }
          expect(reply.status).toBe(404);
          expect(reply.body).toEqual(missing(position));
        }
        const expected = {
          acme: ['acme:order-1'],
          globex: ['globex:order-1'],
          reader: ['order-1', 'order-2'],
        }[as];
        expect(seen).toEqual(expected);
      }
    });

    it('leaves hidden events out of causation chains, the global log and stream listings', async () => {
      const effect = await http.call('GET', `/events/${positions['order-2']}`, { as: 'reader' });
      expect(effect.status).toBe(200);
      expect(effect.body.causedBy).toEqual([]);
      const cause = await http.call('GET', `/events/${positions['order-1']}`, { as: 'reader' });
      expect(JSON.stringify(cause.body)).not.toContain('secret');

      const all = await http.call('GET', '/all?limit=1000', { as: 'acme' });
      expect((all.body.events as { stream: string }[]).map((e) => e.stream)).toEqual([
        'acme:order-1',
      ]);
      const filtered = await http.call('GET', '/all?prefix=globex', { as: 'acme' });
      expect(filtered.body.events).toEqual([]);
      const listed = await http.call('GET', '/streams', { as: 'acme' });
      expect((listed.body.streams as { stream: string }[]).map((s) => s.stream)).toEqual([
        'acme:order-1',
      ]);
      // Naming a stream one may not read is refused whether it exists or not: no oracle.
      const real = await http.call('GET', `/streams/${encodeURIComponent('globex:order-1')}`, {
        as: 'acme',
      });
      const unreal = await http.call('GET', `/streams/${encodeURIComponent('globex:order-9')}`, {
        as: 'acme',
      });
      expect(real.status).toBe(403);
      expect(unreal.status).toBe(403);
      expect(real.code).toBe(unreal.code);
    });
  });
}
