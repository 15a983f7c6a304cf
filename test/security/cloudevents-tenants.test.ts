// CloudEvents whose `id` is not a UUID get a name-based event id. It is scoped by the
// caller's tenant: two tenants sending the same `source` and `id` get two events (no 409 for
// the second, which would let one tenant block another's events and learn that they exist),
// a redelivery is still idempotent, and untenanted senders keep the ids they always had.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v5 as uuidv5 } from 'uuid';
import { collect, type Backend } from '@causewayjs/core';
import { CLOUDEVENT_ID_NAMESPACE, mapCloudEvent } from '@causewayjs/server';
import { derivedCloudEventId } from '@causewayjs/server/internals';
import {
  backendTargets,
  securedServer,
  type Caller,
  type SecuredServer,
} from './secured-server.js';

for (const target of await backendTargets()) {
  describe.skipIf(!target.available)(`CloudEvents ids per tenant on ${target.name}`, () => {
    let http: SecuredServer;
    let backend: Backend;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      const opened = await target.open();
      cleanup = opened.cleanup;
      backend = opened.backend;
      http = await securedServer(opened.backend);
    });

    afterAll(async () => {
      await http?.server.close();
      await cleanup?.();
    });

    const send = (as: Caller, subject: string, id = 'invoice-7') =>
      http.call('POST', '/cloudevents', {
        as,
        contentType: 'application/cloudevents+json',
        json: {
          specversion: '1.0',
          id,
          source: '/billing',
          type: 'invoice.issued',
          subject,
          data: {},
        },
      });
    const idOf = (reply: { body: Record<string, unknown> }) =>
      (reply.body.events as { id: string; position: number }[])[0]!;

    it('gives two tenants sending the same source and id two events', async () => {
      const acme = await send('acme', 'acme:invoice-7');
      expect(acme.status).toBe(201);
      const globex = await send('globex', 'globex:invoice-7');
      expect(globex.status).toBe(201);
      expect(idOf(globex).id).not.toBe(idOf(acme).id);
      expect(idOf(acme).id).toBe(derivedCloudEventId('/billing', 'invoice-7', 'acme'));
      // Redelivered: the same event, not a second one.
      const again = await send('acme', 'acme:invoice-7');
      expect(again.status).toBe(201);
      expect(idOf(again)).toEqual(idOf(acme));
    });

    it('scopes a UUID id by tenant too: one source’s event received by two tenants', async () => {
      const id = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
      const acme = await send('acme', 'acme:invoice-8', id.toUpperCase());
      const globex = await send('globex', 'globex:invoice-8', id);
      expect([acme.status, globex.status]).toEqual([201, 201]);
      expect(idOf(acme).id).toBe(derivedCloudEventId('/billing', id, 'acme'));
      expect(idOf(globex).id).toBe(derivedCloudEventId('/billing', id, 'globex'));
      // An untenanted sender's UUID is the event id, as before.
      const writer = await send('writer', 'order-8', id.toUpperCase());
      expect(idOf(writer).id).toBe(id);
    });

    it('scopes ids in the library too: mapCloudEvent with a tenant, appended to the store', async () => {
      const ce = (subject: string) => ({
        specversion: '1.0',
        id: 'invoice-9',
        source: '/billing',
        type: 'invoice.issued',
        subject,
        data: {},
      });
      const acme = mapCloudEvent(ce('acme:invoice-9'), 0, { tenant: 'acme' });
      const globex = mapCloudEvent(ce('globex:invoice-9'), 0, { tenant: 'globex' });
      expect(acme.event.id).not.toBe(globex.event.id);
      for (const mapped of [acme, globex, acme]) {
        // The third is a redelivery: idempotent, no second event.
        await backend.store.append(mapped.stream, [mapped.event]);
      }
      const [a] = await collect(backend.store.readStream('acme:invoice-9'));
      const [g] = await collect(backend.store.readStream('globex:invoice-9'));
      expect([a!.id, g!.id]).toEqual([acme.event.id, globex.event.id]);
      expect((await backend.store.streamInfo('acme:invoice-9')).revision).toBe(0);
    });

    it('keeps the ids of untenanted senders as they were', async () => {
      const reply = await send('writer', 'order-7', 'order-7-placed');
      expect(reply.status).toBe(201);
      expect(idOf(reply).id).toBe(uuidv5('/billing\u0000order-7-placed', CLOUDEVENT_ID_NAMESPACE));
      expect(derivedCloudEventId('/billing', 'order-7-placed')).toBe(idOf(reply).id);
    });
  });
}
