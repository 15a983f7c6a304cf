// The server reads and writes through the store it is given, decorators and all: the JSON
// routes, server-sent events and the event detail decrypt and upcast as the stack does, and
// the schema layer the server adds for `schemas` sits on top of it (validating plaintext).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  collect,
  encryptedEventStore,
  generateMasterKey,
  openBackend,
  REDACTED,
  SchemaRegistry,
  upcaster,
  withSchemas,
  type Backend,
} from '@causewayjs/core';
import { SseReader, startServer, type EventBody, type Running } from './support.js';

const personal = { 'customer.registered': { subject: '$.id', fields: ['$.email'] } };

for (const kind of ['memory', 'sqlite'] as const) {
  describe(`the served store (${kind})`, () => {
    let dir: string | undefined;
    let backend: Backend | undefined;
    let running: Running | undefined;
    const readers: SseReader[] = [];

    afterEach(async () => {
      await Promise.all(readers.splice(0).map((r) => r.close()));
      await running?.close();
      await backend?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
      running = undefined;
      backend = undefined;
      dir = undefined;
    });

    async function open(): Promise<Backend> {
      if (kind === 'memory') return (backend = await openBackend('memory:'));
      dir = mkdtempSync(join(tmpdir(), 'causeway-served-'));
      return (backend = await openBackend(`sqlite:${join(dir, 'events.db')}`));
    }

    function sse(url: string): SseReader {
      const reader = new SseReader(url);
      readers.push(reader);
      return reader;
    }

    /** The event at `position` as every read route serves it, and as SSE streams it. */
    async function servedEverywhere(position: number, stream: string): Promise<EventBody[]> {
      const { http, url } = running!;
      const fromStream = (await http.get(`/streams/${stream}`)).body.events.find(
        (e) => e.position === position,
      );
      const fromLog = (await http.get(`/all?from=${position}&limit=1`)).body.events[0];
      const detail = (await http.get(`/events/${position}`)).body.event;
      const reader = sse(`${url}/subscribe?from=${position}&prefix=${stream}`);
      await reader.waitFor(() => reader.events().length >= 1);
      const streamed = reader.events()[0];
      return [fromStream!, fromLog!, detail, streamed!];
    }

    it('serves an encrypted stack decrypted over HTTP and SSE, and redacted once the subject is forgotten', async () => {
      const b = await open();
      const registry = await SchemaRegistry.open({ storage: await b.schemaStorage() });
      await registry.register('customer.registered', {
        type: 'object',
        required: ['id', 'email'],
        properties: { id: { type: 'string' }, email: { type: 'string', pattern: '@' } },
      });
      const encrypted = await encryptedEventStore(b.store, {
        keyStore: await b.keyStore(),
        masterKey: generateMasterKey('served-1'),
        personal,
      });
      running = await startServer({
        store: encrypted,
        schemas: registry,
        adminUi: false,
        sseHeartbeatMs: 60_000,
      });
      const { http, url } = running;
      const live = sse(`${url}/subscribe?from=start&prefix=customer-`);
      await live.ready();

      // Validated before encryption (the server's schema layer sits on the stack): the
      // ciphertext has no '@', the plaintext does.
      const appended = await http.post('/streams/customer-7', {
        events: [{ type: 'customer.registered', data: { id: 'c-7', email: 'ann@example.com' } }],
      });
      expect(appended.status).toBe(201);
      const refused = await http.post('/streams/customer-8', {
        events: [{ type: 'customer.registered', data: { id: 'c-8', email: 'no-at-sign' } }],
      });
      expect(refused.status).toBe(422);

      const stored = await collect(b.store.readAll());
      expect(stored).toHaveLength(1);
      expect(JSON.stringify(stored[0]!.data)).not.toContain('ann@example.com');

      const position = appended.body.position;
      for (const event of await servedEverywhere(position, 'customer-7'))
        expect(event.data).toEqual({ id: 'c-7', email: 'ann@example.com' });
      await live.waitFor(() => live.events().length === 1);
      expect(live.events()[0]!.data).toEqual({ id: 'c-7', email: 'ann@example.com' });

      await encrypted.forgetSubject('c-7');
      for (const event of await servedEverywhere(position, 'customer-7'))
        expect(event.data).toEqual({ id: 'c-7', email: REDACTED });
    });

    it('serves a schema-aware stack as given: upcast reads, appends validated, /schemas from its registry', async () => {
      const b = await open();
      const registry = await SchemaRegistry.open({ storage: await b.schemaStorage() });
      await registry.register('order.placed', {
        type: 'object',
        required: ['total'],
        properties: { total: { type: 'number' } },
      });
      const old = await b.store.append('order-1', [
        { type: 'order.placed', data: { total: 3 }, schemaVersion: 1 },
      ]);
      await registry.register('order.placed', {
        type: 'object',
        required: ['total'],
        properties: { total: { type: 'number' }, currency: { type: 'string' } },
      });
      const store = withSchemas(b.store, {
        registry,
        upcasters: [
          upcaster('order.placed', 1, (d: { total: number }) => ({ ...d, currency: 'EUR' })),
        ],
      });
      running = await startServer({ store, adminUi: false, sseHeartbeatMs: 60_000 });
      const { http } = running;

      for (const event of await servedEverywhere(old.position, 'order-1'))
        expect(event).toMatchObject({ data: { total: 3, currency: 'EUR' }, schemaVersion: 2 });

      const refused = await http.post('/streams/order-2', {
        events: [{ type: 'order.placed', data: { total: 'NOT A NUMBER' } }],
      });
      expect(refused.status).toBe(422);
      expect(refused.body.code).toBe('SCHEMA_VALIDATION_FAILED');
      expect((await http.get('/streams/order-2')).status).toBe(404);

      const schemas = await http.get('/schemas/order.placed');
      expect(schemas.status).toBe(200);
      expect(schemas.body.versions).toHaveLength(2);
    });

    it('with only a registry, validates writes and reads old events as stored (no upcasters to fail on)', async () => {
      const b = await open();
      const registry = await SchemaRegistry.open({ storage: await b.schemaStorage() });
      await registry.register('order.placed', {
        type: 'object',
        required: ['total'],
        properties: { total: { type: 'number' } },
      });
      const old = await b.store.append('order-1', [
        { type: 'order.placed', data: { total: 3 }, schemaVersion: 1 },
      ]);
      await registry.register('order.placed', {
        type: 'object',
        required: ['total'],
        properties: { total: { type: 'number' }, currency: { type: 'string' } },
      });
      running = await startServer({
        store: b.store,
        schemas: registry,
        adminUi: false,
        sseHeartbeatMs: 60_000,
      });
      for (const event of await servedEverywhere(old.position, 'order-1'))
        expect(event).toMatchObject({ data: { total: 3 }, schemaVersion: 1 });
      const appended = await running.http.post('/streams/order-1', {
        events: [{ type: 'order.placed', data: { total: 4, currency: 'EUR' } }],
      });
      expect(appended.status).toBe(201);
      // Stamped with the version it was validated against.
      expect((await running.http.get('/streams/order-1')).body.events[1]).toMatchObject({
        schemaVersion: 2,
      });
    });
  });
}
