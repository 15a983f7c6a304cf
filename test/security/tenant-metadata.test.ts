// A tenant sees an event only when its stream is in the tenant's namespace AND its
// `metadata.tenant`, when present, names the tenant: an event planted in `acme:` stamped
// `globex` (written around the server, by code bound to no tenant) is shown to neither, over
// HTTP (stream reads, the global log, positions, SSE) and through the library's tenant-scoped
// store; and no write can stamp another tenant into a namespace.
import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  belongsToTenant,
  collect,
  tenantScopedStore,
  TenantForbiddenError,
  type RecordedEvent,
  type Backend,
} from '@causewayjs/core';
import { backendTargets, keys, securedServer, type SecuredServer } from './secured-server.js';

for (const target of await backendTargets()) {
  describe.skipIf(!target.available)(`tenant metadata on ${target.name}`, () => {
    let http: SecuredServer;
    let backend: Backend;
    let cleanup: () => Promise<void>;
    let forged: number;

    beforeAll(async () => {
      const opened = await target.open();
      backend = opened.backend;
      cleanup = opened.cleanup;
      http = await securedServer(backend);
      expect(
        (await http.append('acme:order-1', [{ type: 'order.placed', data: { n: 1 } }], 'acme'))
          .status,
      ).toBe(201);
      // Planted around the server: in acme's namespace, claiming globex.
      forged = (
        await backend.store.append('acme:order-2', [
          {
            type: 'order.placed',
            data: { n: 2, leak: 'globex-only' },
            metadata: { tenant: 'globex' },
          },
        ])
      ).position;
      // Written into acme's namespace by code bound to no tenant: acme's.
      await backend.store.append('acme:order-3', [{ type: 'order.placed', data: { n: 3 } }]);
    });

    afterAll(async () => {
      await http?.server.close();
      await cleanup?.();
    });

    const dataOf = (events: unknown) => (events as { data: { n: number } }[]).map((e) => e.data.n);

    it('leaves the forged event out of every HTTP read of the tenant', async () => {
      const all = await http.call('GET', '/all', { as: 'acme' });
      expect(dataOf(all.body.events)).toEqual([1, 3]);
      const position = await http.call('GET', `/events/${forged}`, { as: 'acme' });
      expect(position.status).toBe(404);
      expect(position.text).not.toContain('globex');
      const stream = await http.call('GET', `/streams/${encodeURIComponent('acme:order-2')}`, {
        as: 'acme',
      });
      expect(stream.status).toBe(200);
      expect(stream.body.events).toEqual([]);
      const own = await http.call('GET', `/streams/${encodeURIComponent('acme:order-3')}`, {
        as: 'acme',
      });
      expect(dataOf(own.body.events)).toEqual([3]);
      // Nor does globex see it: the stream is not in its namespace.
      const globexAll = await http.call('GET', '/all', { as: 'globex' });
      expect(globexAll.body.events).toEqual([]);
    });

    it('leaves the forged event out of the tenant’s server-sent events', async () => {
      const { url } = await http.server.listen({ host: '127.0.0.1', port: 0 });
      const head = await backend.store.headPosition();
      const seen: RecordedEvent[] = [];
      // node:http rather than fetch: the socket is destroyed when done, not kept alive.
      await new Promise<void>((resolve, reject) => {
        const request = get(
          `${url}/subscribe?from=start`,
          { headers: { authorization: `ApiKey ${keys.acme.key}` } },
          (response) => {
            expect(response.statusCode).toBe(200);
            let text = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => {
              text += chunk;
              const messages = text.split('\n\n');
              text = messages.pop()!;
              for (const message of messages) {
                const data = message.split('\n').find((line) => line.startsWith('data: '));
                if (data) seen.push(JSON.parse(data.slice(6)) as RecordedEvent);
              }
              // Done once the last of acme's events (the head) has come through.
              if (seen.some((e) => e.position === head)) {
                request.destroy();
                resolve();
              }
            });
          },
        );
        request.on('error', reject);
      });
      expect(seen.map((e) => (e.data as { n: number }).n)).toEqual([1, 3]);
    });

    it('refuses writes stamping another tenant into a namespace, whoever the caller', async () => {
      const head = await backend.store.headPosition();
      const stamped = [{ type: 'order.placed', data: { n: 9 }, metadata: { tenant: 'globex' } }];
      const byWriter = await http.append('acme:order-4', stamped, 'writer');
      expect(byWriter.status).toBe(403);
      expect(byWriter.code).toBe('FORBIDDEN');
      expect((await http.append('acme:order-4', stamped, 'acme')).status).toBe(403);
      expect((await http.append('acme:order-4', stamped, 'admin')).status).toBe(403);
      expect(await backend.store.headPosition()).toBe(head);
      // The stream's own tenant, or none, is fine; a tenant's caller always stamps its own.
      const own = [{ type: 'order.placed', data: { n: 10 }, metadata: { tenant: 'acme' } }];
      expect((await http.append('acme:order-4', own, 'writer')).status).toBe(201);
      const stored = await collect(backend.store.readStream('acme:order-4'));
      expect(stored.map((e) => e.metadata.tenant)).toEqual(['acme']);
    });

    it('holds the same rule in the library’s tenant-scoped store', async () => {
      const acme = tenantScopedStore(backend.store, 'acme');
      const globex = tenantScopedStore(backend.store, 'globex');
      expect((await collect(acme.readAll())).map((e) => e.stream)).not.toContain('acme:order-2');
      expect(await collect(acme.readStream('acme:order-2'))).toEqual([]);
      expect((await collect(acme.readStream('acme:order-3'))).map((e) => e.data)).toEqual([
        { n: 3 },
      ]);
      expect(await collect(globex.readAll())).toEqual([]);
      await expect(
        acme.append('acme:order-5', [{ type: 'x', data: 1, metadata: { tenant: 'globex' } }]),
      ).rejects.toBeInstanceOf(TenantForbiddenError);
      const planted = (await collect(backend.store.readStream('acme:order-2')))[0]!;
      expect(belongsToTenant(planted, 'acme')).toBe(false);
      expect(belongsToTenant(planted, 'globex')).toBe(false);
      await acme.close();
      await globex.close();
    });
  });
}
