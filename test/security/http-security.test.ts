// The security suite over HTTP: a real server on a random port, guarded by createAccessGuard,
// on a SQLite file. Each bad input must be refused with the right status and code, and must
// leave the store exactly as it was.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '@causewayjs/sqlite';
import {
  collect,
  createAccessGuard,
  generateApiKey,
  ManualClock,
  type SecurityGuard,
} from '@causewayjs/core';
import { createServer, type CausewayServer } from '@causewayjs/server';
import { HS_SECRET, token } from './jwt-fixtures.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const nowSeconds = NOW / 1000;
const admin = generateApiKey('admin');
const reader = generateApiKey('reader');
const writer = generateApiKey('writer');
const acme = generateApiKey('acme');
const globex = generateApiKey('globex');

interface Reply {
  status: number;
  /** An error reply is RFC 9457 problem details carrying the stable `code`. */
  body: { code?: string } & Record<string, unknown>;
}

describe('security over HTTP', () => {
  let dir: string;
  let store: SqliteEventStore;
  let server: CausewayServer;
  let guard: SecurityGuard;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-http-security-'));
    store = SqliteEventStore.open(join(dir, 'events.db'));
    guard = createAccessGuard(
      {
        apiKeys: [
          { id: admin.id, hash: admin.hash, roles: ['admin'] },
          { id: reader.id, hash: reader.hash, roles: ['reader'] },
          { id: writer.id, hash: writer.hash, roles: ['writer'] },
          { id: acme.id, hash: acme.hash, roles: ['tenant-user'], tenant: 'acme' },
          { id: globex.id, hash: globex.hash, roles: ['tenant-user'], tenant: 'globex' },
        ],
        jwt: {
          algorithms: ['HS256'],
          secret: HS_SECRET,
          audience: 'causeway',
          issuer: 'https://id.example.test/',
        },
        rules: [
          { roles: ['admin'], prefix: '', allow: ['read', 'write', 'delete', 'admin'] },
          { roles: ['reader'], category: 'order', allow: ['read'] },
          { roles: ['writer'], category: 'order', allow: ['read', 'write'] },
          { roles: ['tenant-user'], prefix: '{tenant}:', allow: ['read', 'write'] },
        ],
      },
      { clock: new ManualClock(NOW) },
    );
    server = await createServer({ store, guard, adminUi: false, statsSampleMs: 0 });
    base = (await server.listen({ host: '127.0.0.1', port: 0 })).url;
    // Seed through the guarded API itself.
    expect(
      (await post('order-1', [{ type: 'order.placed', data: { n: 1 } }], apiKey(admin.key))).status,
    ).toBe(201);
    expect(
      (await post('secret-1', [{ type: 'secret.kept', data: { n: 2 } }], apiKey(admin.key))).status,
    ).toBe(201);
  });

  afterAll(async () => {
    await server?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const apiKey = (key: string) => ({ authorization: `ApiKey ${key}` });
  const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

  async function call(
    method: string,
    path: string,
    headers: Record<string, string>,
    json?: unknown,
  ): Promise<Reply> {
    const response = await fetch(base + path, {
      method,
      headers: {
        ...headers,
        ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    });
    const text = await response.text();
    let body: Reply['body'] = {};
    try {
      body = JSON.parse(text) as Reply['body'];
    } catch {
      // Node's own 431 has no JSON body.
    }
    return { status: response.status, body };
  }

  const post = (stream: string, events: unknown[], headers: Record<string, string>) =>
    call('POST', `/streams/${encodeURIComponent(stream)}`, headers, { events });

  /** The whole log as stored, to compare before and after a refused request. */
  const snapshot = async () => JSON.stringify(await collect(store.readAll()));

  async function refusedWithoutChange(
    request: () => Promise<Reply>,
    status: number,
    code: string | undefined,
  ): Promise<void> {
    const before = await snapshot();
    const reply = await request();
    expect(reply.status).toBe(status);
    if (code !== undefined) expect(reply.body.code).toBe(code);
    expect(await snapshot()).toBe(before);
  }

  const event = [{ type: 'order.placed', data: { n: 9 } }];

  it('refuses a request without credentials (401 AUTH_MISSING)', async () => {
    await refusedWithoutChange(() => post('order-1', event, {}), 401, 'AUTH_MISSING');
    await refusedWithoutChange(() => call('GET', '/all', {}), 401, 'AUTH_MISSING');
  });

  it('refuses expired, forged and wrong-audience tokens (401 with their codes)', async () => {
    const expired = await token({ sub: 'u', roles: ['admin'] }, { now: nowSeconds - 3600 });
    await refusedWithoutChange(() => post('order-1', event, bearer(expired)), 401, 'AUTH_EXPIRED');
    const forged = await token(
      { sub: 'u', roles: ['admin'] },
      { now: nowSeconds, key: new TextEncoder().encode('not-the-server-secret-but-long-enough!') },
    );
    await refusedWithoutChange(() => post('order-1', event, bearer(forged)), 401, 'AUTH_INVALID');
    const audience = await token(
      { sub: 'u', roles: ['admin'] },
      { now: nowSeconds, audience: 'billing' },
    );
    await refusedWithoutChange(
      () => post('order-1', event, bearer(audience)),
      401,
      'AUTH_WRONG_AUDIENCE',
    );
    const valid = await token({ sub: 'u', roles: ['writer'] }, { now: nowSeconds });
    expect((await post('order-7', event, bearer(valid))).status).toBe(201);
  });

  it('refuses a key with too few rights (403), on writes, deletes and admin routes', async () => {
    await refusedWithoutChange(() => post('order-1', event, apiKey(reader.key)), 403, undefined);
    await refusedWithoutChange(() => post('secret-1', event, apiKey(writer.key)), 403, undefined);
    await refusedWithoutChange(
      () => call('DELETE', '/streams/order-1', apiKey(writer.key)),
      403,
      undefined,
    );
    await refusedWithoutChange(
      () => call('GET', '/streams/secret-1', apiKey(reader.key)),
      403,
      undefined,
    );
    await refusedWithoutChange(
      () => call('GET', '/projections', apiKey(writer.key)),
      403,
      undefined,
    );
    expect(guard.denials().total).toBeGreaterThanOrEqual(5);
  });

  it('gains nothing from path tricks in stream names', async () => {
    for (const stream of [
      '../secret-1',
      'order-1/../../secret-1',
      '%2e%2e/secret-1',
      '$all',
      'order-1\u0000',
    ]) {
      const before = await snapshot();
      const reply = await post(stream, event, apiKey(writer.key));
      expect([400, 403], stream).toContain(reply.status);
      expect(await snapshot()).toBe(before);
    }
    // Double-encoded traversal is just an odd name outside the writer's namespace.
    await refusedWithoutChange(
      () => call('POST', '/streams/..%252Fsecret-1', apiKey(writer.key), { events: event }),
      403,
      undefined,
    );
  });

  it('refuses oversized credential headers', async () => {
    await refusedWithoutChange(
      () => post('order-1', event, { authorization: `Bearer ${'x'.repeat(9000)}` }),
      431,
      'AUTH_HEADER_TOO_LARGE',
    );
    // Beyond Node's own header limit the request never reaches a route.
    await refusedWithoutChange(
      () => post('order-1', event, { 'x-api-key': 'k'.repeat(20_000) }),
      431,
      undefined,
    );
  });

  it('treats a replayed request with the same event id as one append, and a reused id elsewhere as a conflict', async () => {
    const id = '0190a4c3-6b1e-7cc0-8e5f-4c2b0c6f1a11';
    const once = [{ id, type: 'order.paid', data: { amount: 5 } }];
    const first = await post('order-3', once, apiKey(writer.key));
    expect(first.status).toBe(201);
    const before = await snapshot();
    const replay = await post('order-3', once, apiKey(writer.key));
    expect(replay.status).toBeLessThan(300);
    expect(await snapshot()).toBe(before);
    await refusedWithoutChange(
      () => post('order-4', once, apiKey(writer.key)),
      409,
      'DUPLICATE_EVENT_ID',
    );
  });

  it('isolates tenants: writes, reads and the global log', async () => {
    expect((await post('acme:order-1', event, apiKey(acme.key))).status).toBe(201);
    expect((await post('globex:order-1', event, apiKey(globex.key))).status).toBe(201);
    await refusedWithoutChange(
      () => post('globex:order-2', event, apiKey(acme.key)),
      403,
      undefined,
    );
    await refusedWithoutChange(() => post('order-1', event, apiKey(acme.key)), 403, undefined);
    await refusedWithoutChange(
      () => call('GET', `/streams/${encodeURIComponent('globex:order-1')}`, apiKey(acme.key)),
      403,
      undefined,
    );
    const own = await call(
      'GET',
      `/streams/${encodeURIComponent('acme:order-1')}`,
      apiKey(acme.key),
    );
    expect(own.status).toBe(200);
    const all = await call('GET', '/all', apiKey(acme.key));
    expect(all.status).toBe(200);
    const streams = (all.body.events as { stream: string }[]).map((e) => e.stream);
    expect(streams).toEqual(['acme:order-1']);
    // A reader sees only its category in the global log.
    const readerAll = await call('GET', '/all', apiKey(reader.key));
    const readerStreams = new Set(
      (readerAll.body.events as { stream: string }[]).map((e) => e.stream),
    );
    expect([...readerStreams].every((s) => s.startsWith('order-'))).toBe(true);
    expect(readerStreams.has('order-1')).toBe(true);
  });
});
