// The server's side of the security seam: authenticate once per request, authorise every
// route, filter the global log and SSE, count and log denials, refuse insecure listening.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CausewayError,
  type CausewayErrorCode,
  MemoryEventStore,
  type AccessGuard,
  type Permission,
  type Principal,
} from '@causewayjs/core';
import { createServer, InsecureListenError, type CausewayServer } from '@causewayjs/server';
import { SseReader, eventually, jsonOf, startServer, type Running } from './support.js';

class FakeGuard implements AccessGuard {
  authentications = 0;
  readonly checks: [string | undefined, Permission, string][] = [];

  authenticate(request: {
    headers: Readonly<Record<string, string | string[] | undefined>>;
  }): Promise<Principal | undefined> {
    this.authentications++;
    const key = request.headers['x-api-key'];
    if (key === undefined) return Promise.resolve(undefined);
    if (key === 'admin') return Promise.resolve({ id: 'admin-key', roles: ['admin'] });
    if (key === 'reader-a') return Promise.resolve({ id: 'reader-a', roles: ['reader'] });
    if (key === 'acme-writer')
      return Promise.resolve({ id: 'acme-writer', roles: ['writer'], tenant: 'acme' });
    // A guard's own code, as an application declares it in CausewayErrorCodes.
    const code = 'INVALID_API_KEY' as CausewayErrorCode;
    return Promise.reject(new CausewayError(code, 'The API key is not known'));
  }

  can(principal: Principal | undefined, permission: Permission, stream: string): boolean {
    this.checks.push([principal?.id, permission, stream]);
    if (!principal) return false;
    if (principal.roles.includes('admin')) return true;
    if (principal.roles.includes('writer')) return stream.startsWith(`${principal.tenant}-`);
    return permission === 'read' && stream.startsWith('a-');
  }
}

const admin = { 'x-api-key': 'admin' };
const reader = { 'x-api-key': 'reader-a' };

describe('the security seam', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(guard: AccessGuard, logLines?: string[]): Promise<Running> {
    const store = new MemoryEventStore();
    const logger = logLines
      ? pino(
          { level: 'info' },
          new Writable({
            write(chunk: Buffer, _encoding, done) {
              logLines.push(chunk.toString());
              done();
            },
          }),
        )
      : undefined;
    const running = await startServer({
      store,
      guard,
      adminUi: false,
      ...(logger ? { logger } : {}),
    });
    cleanups.push(async () => {
      await running.close();
      await store.close();
    });
    return running;
  }

  it('authenticates once per request and checks the stream on every stream route', async () => {
    const guard = new FakeGuard();
    const { http } = await start(guard);
    const before = guard.authentications;
    expect(
      (await http.post('/streams/a-1', { events: [{ type: 'a.b', data: 1 }] }, admin)).status,
    ).toBe(201);
    expect(guard.authentications - before).toBe(1);
    expect(guard.checks).toContainEqual(['admin-key', 'write', 'a-1']);

    expect((await http.get('/streams/a-1', reader)).status).toBe(200);
    expect(guard.checks).toContainEqual(['reader-a', 'read', 'a-1']);
    const write = await http.post('/streams/a-1', { events: [{ type: 'a.b', data: 2 }] }, reader);
    expect(write.status).toBe(403);
    expect(write.body).toMatchObject({
      code: 'FORBIDDEN',
      details: { permission: 'write', resource: 'a-1' },
    });
    const anonymous = await http.get('/streams/a-1');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('UNAUTHENTICATED');
    const del = await http.delete('/streams/a-1', reader);
    expect(del.status).toBe(403);
    expect(guard.checks).toContainEqual(['reader-a', 'delete', 'a-1']);
    expect((await http.get('/streams/a-1', admin)).body.events).toHaveLength(1);
  });

  it('answers 401 with the guard’s code for credentials it rejects, before reading the body', async () => {
    const guard = new FakeGuard();
    const { http } = await start(guard);
    const reply = await http.post(
      '/streams/a-1',
      { events: [{ type: 'a.b', data: 1 }] },
      { 'x-api-key': 'forged' },
    );
    expect(reply.status).toBe(401);
    expect(reply.body).toMatchObject({
      code: 'INVALID_API_KEY',
      detail: 'The API key is not known',
    });
    expect((await http.get('/streams/a-1', admin)).status).toBe(404);
  });

  it('answers 401 with the code of a guard that throws rather than rejects', async () => {
    // A guard written without async: its error is thrown, not returned as a rejected promise.
    const guard: AccessGuard = {
      authenticate(request) {
        if (request.headers['x-api-key'] === 'admin')
          return Promise.resolve({ id: 'admin-key', roles: ['admin'] });
        throw new CausewayError('INVALID_API_KEY' as CausewayErrorCode, 'Thrown, not rejected');
      },
      can: (principal) => principal !== undefined,
    };
    const { http } = await start(guard);
    const reply = await http.post('/streams/a-1', { events: [{ type: 'a.b', data: 1 }] });
    expect(reply.status).toBe(401);
    expect(reply.body).toMatchObject({ code: 'INVALID_API_KEY', detail: 'Thrown, not rejected' });
    expect((await http.get('/streams/a-1', admin)).status).toBe(404);
  });

  it('counts every request by method, route and status, the refused ones too', async () => {
    const guard = new FakeGuard();
    const { http, server } = await start(guard);
    for (let n = 0; n < 3; n++)
      expect(
        (await http.post('/streams/a-1', { events: [{ type: 'a.b', data: n }] }, admin)).status,
      ).toBe(201);
    expect((await http.post('/streams/a-1', { events: [{ type: 'a.b', data: 0 }] })).status).toBe(
      401,
    );
    expect((await http.get('/no-such-route')).status).toBe(404);
    const counts = Object.fromEntries(
      (await server.metrics.httpRequests.get()).values.map((v) => [
        `${v.labels.method} ${v.labels.route} ${v.labels.status}`,
        v.value,
      ]),
    );
    expect(counts).toMatchObject({
      'POST /streams/:stream 201': 3,
      'POST /streams/:stream 401': 1,
      'GET unmatched 404': 1,
    });
    const durations = (await server.metrics.httpDuration.get()).values.filter(
      (v) =>
        v.metricName === 'causeway_http_request_duration_seconds_count' &&
        v.labels.route === '/streams/:stream' &&
        v.labels.status === '201',
    );
    expect(durations.map((v) => v.value)).toEqual([3]);
  });

  it('needs admin for projections, parked events, sagas, schemas, stats and metrics, but not for probes', async () => {
    const guard = new FakeGuard();
    const { http } = await start(guard);
    for (const path of ['/projections', '/parked', '/sagas', '/schemas', '/stats', '/metrics']) {
      expect((await http.get(path, reader)).status, path).toBe(403);
      expect((await http.get(path)).status, path).toBe(401);
    }
    expect(guard.checks).toContainEqual(['reader-a', 'admin', '$admin']);
    expect((await http.get('/stats', admin)).status).toBe(200);
    expect((await http.get('/metrics', admin)).status).toBe(200);
    for (const path of ['/health', '/ready', '/openapi.json'])
      expect((await http.get(path)).status, path).toBe(200);
    // Without the configured component an admin gets 404 NOT_CONFIGURED.
    expect((await http.get('/sagas', admin)).body.code).toBe('NOT_CONFIGURED');
  });

  it('leaves out of /all, /streams, /events and /subscribe what the caller may not read', async () => {
    const guard = new FakeGuard();
    const { http, url } = await start(guard);
    const reader_ = new SseReader(`${url}/subscribe?from=start`, reader);
    await reader_.ready();
    for (const stream of ['a-1', 'b-1', 'a-2', 'b-2']) {
      await http.post(`/streams/${stream}`, { events: [{ type: 'x.y', data: stream }] }, admin);
    }
    const all = await http.get('/all', reader);
    expect(all.body.events.map((e) => e.stream)).toEqual(['a-1', 'a-2']);
    const asAdmin = await http.get('/all', admin);
    expect(asAdmin.body.events).toHaveLength(4);
    const streams = await http.get('/streams', reader);
    expect(streams.body.streams.map((s) => s.stream)).toEqual(['a-1', 'a-2']);
    // A hidden event is answered as a missing one: nothing names its stream.
    expect((await http.get('/events/2', reader)).status).toBe(404);
    expect((await http.get('/events/3', reader)).status).toBe(200);
    await reader_.waitFor(() => reader_.events().length === 2);
    await http.post('/streams/b-3', { events: [{ type: 'x.y', data: 'b-3' }] }, admin);
    await http.post('/streams/a-3', { events: [{ type: 'x.y', data: 'a-3' }] }, admin);
    await reader_.waitFor(() => reader_.events().length === 3);
    expect(reader_.events().map((e) => e.stream)).toEqual(['a-1', 'a-2', 'a-3']);
    await reader_.close();
    // An anonymous caller the guard lets in but allows nothing sees an empty log.
    expect((await http.get('/all')).body.events).toEqual([]);
  });

  describe('/all pages past what the guard hides', () => {
    type Http = Running['http'];
    /** Hidden runs (b-, read by admin only) around visible events (a-), as [stream, count]. */
    const layout: [string, number][] = [
      ['a-1', 1],
      ['b-1', 3],
      ['a-2', 2],
      ['b-2', 25],
      ['a-3', 3],
      ['b-3', 5],
      ['a-4', 1],
      ['b-4', 2],
    ];

    async function fill(http: Http, only?: (stream: string) => boolean): Promise<void> {
      for (const [stream, count] of layout) {
        if (only && !only(stream)) continue;
        const events = Array.from({ length: count }, (_, i) => ({
          type: 'x.y',
          data: `${stream}#${i}`,
        }));
        expect((await http.post(`/streams/${stream}`, { events }, admin)).status).toBe(201);
      }
    }

    /** Every page from the start, following `next` until it is null. */
    async function pages(http: Http, query: string, headers: Record<string, string> = reader) {
      const seen: { data: unknown[]; next: number | null; keys: string[] }[] = [];
      let from = '';
      for (let i = 0; i < 100; i++) {
        const reply = await http.get(`/all?${query}${from}`, headers);
        expect(reply.status).toBe(200);
        const next = reply.body.next as number | null;
        seen.push({
          data: reply.body.events.map((e) => e.data),
          next,
          keys: Object.keys(reply.body).sort(),
        });
        if (headers === reader)
          for (const e of reply.body.events) expect(e.stream.startsWith('a-'), e.stream).toBe(true);
        if (next === null) return seen;
        from = `&from=${next}`;
      }
      throw new Error('/all never ended');
    }

    const visible = layout
      .filter(([stream]) => stream.startsWith('a-'))
      .flatMap(([stream, count]) => Array.from({ length: count }, (_, i) => `${stream}#${i}`));

    it('fills the page to limit, reading past hidden events', async () => {
      const { http } = await start(new FakeGuard());
      await fill(http);
      const page = await http.get('/all?limit=3', reader);
      expect(page.body.events.map((e) => e.data)).toEqual(visible.slice(0, 3));
      expect(page.body.next).toBe(page.body.events[2]!.position + 1);
      // The admin sees the hidden events in between, so the reader's page did skip some.
      const adminPage = await http.get('/all?limit=3', admin);
      expect(adminPage.body.events.map((e) => e.stream)).toEqual(['a-1', 'b-1', 'b-1']);
    });

    it('pages forward and backward through everything visible exactly once, hiding the rest', async () => {
      const { http } = await start(new FakeGuard());
      await fill(http);
      const forward = await pages(http, 'limit=2');
      expect(forward.flatMap((p) => p.data)).toEqual(visible);
      for (const p of forward) expect(p.data.length).toBeLessThanOrEqual(2);
      // 25 hidden events in a row exceed the bound of 10 x 2: one page comes back short, with
      // a `next` to go on from; the log only ends where `next` is null.
      const short = forward.filter((p) => p.data.length < 2 && p.next !== null);
      expect(short.length).toBeGreaterThanOrEqual(1);
      expect(forward.at(-1)?.next).toBeNull();

      const backward = await pages(http, 'limit=2&direction=backward');
      expect(backward.flatMap((p) => p.data)).toEqual([...visible].reverse());
      for (const p of backward) expect(p.data.length).toBeLessThanOrEqual(2);

      const everything = await pages(http, 'limit=7', admin);
      expect(everything.flatMap((p) => p.data)).toHaveLength(
        layout.reduce((n, [, count]) => n + count, 0),
      );
    });

    it('gives the same pages as a log without the hidden events: nothing leaks, not even by count', async () => {
      const mixed = await start(new FakeGuard());
      await fill(mixed.http);
      const clean = await start(new FakeGuard());
      await fill(clean.http, (stream) => stream.startsWith('a-'));
      for (const limit of [3, 4, 7]) {
        const withHidden = await pages(mixed.http, `limit=${limit}`);
        const without = await pages(clean.http, `limit=${limit}`);
        // Same page sizes, same events, same fields: the hidden runs (all shorter than the
        // scan bound here) change nothing the reader can see but positions.
        expect(withHidden.map((p) => p.data)).toEqual(without.map((p) => p.data));
        expect(withHidden.map((p) => p.next === null)).toEqual(without.map((p) => p.next === null));
        for (const p of [...withHidden, ...without])
          expect(p.keys).toEqual(['events', 'head', 'next']);
      }
      // A caller allowed nothing gets empty pages, and learns no more than that the log goes on.
      const anonymous = await pages(mixed.http, 'limit=50', {});
      expect(anonymous.flatMap((p) => p.data)).toEqual([]);
    });
  });

  it('counts and logs denials, without data', async () => {
    const guard = new FakeGuard();
    const lines: string[] = [];
    const { http } = await start(guard, lines);
    await http.post(
      '/streams/a-1',
      { events: [{ type: 'a.b', data: { secret: 'swordfish' } }] },
      reader,
    );
    await http.get('/projections', reader);
    await http.get('/streams/a-1', { 'x-api-key': 'forged' });
    const metrics = await http.get('/metrics', admin);
    expect(metrics.text).toContain(
      'causeway_access_denials_total{permission="write",reason="forbidden"} 1',
    );
    expect(metrics.text).toContain(
      'causeway_access_denials_total{permission="admin",reason="forbidden"} 1',
    );
    expect(metrics.text).toContain(
      'causeway_access_denials_total{permission="authenticate",reason="INVALID_API_KEY"} 1',
    );
    const denials = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'access denied');
    expect(denials).toHaveLength(3);
    expect(denials[0]).toMatchObject({
      permission: 'write',
      resource: 'a-1',
      principal: 'reader-a',
    });
    expect(typeof denials[0]!.reqId).toBe('string');
    expect(lines.join('\n')).not.toContain('swordfish');
  });

  it('logs appends with the request id and the events’ correlation id, never their data', async () => {
    const lines: string[] = [];
    const { http } = await start(new FakeGuard(), lines);
    const reply = await http.post(
      '/streams/a-9',
      {
        events: [
          { type: 'a.b', data: { card: '4111-1111' }, metadata: { correlationId: 'corr-7' } },
        ],
      },
      { ...admin, 'x-request-id': 'req-9' },
    );
    expect(reply.status).toBe(201);
    const appended = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'appended');
    expect(appended).toMatchObject({
      reqId: 'req-9',
      correlationId: 'corr-7',
      stream: 'a-9',
      events: 1,
    });
    expect(lines.join('\n')).not.toContain('4111');
  });

  it('stamps the caller as actor and its tenant on appended events, refusing another tenant', async () => {
    const { http } = await start(new FakeGuard());
    const writer = { 'x-api-key': 'acme-writer' };
    const ok = await http.post('/streams/acme-1', { events: [{ type: 'a.b', data: 1 }] }, writer);
    expect(ok.status).toBe(201);
    const stored = (await http.get('/streams/acme-1', admin)).body.events[0]!;
    expect(stored.metadata).toMatchObject({ tenant: 'acme', actor: 'acme-writer' });
    const other = await http.post(
      '/streams/acme-1',
      { events: [{ type: 'a.b', data: 2, metadata: { tenant: 'globex' } }] },
      writer,
    );
    expect(other.status).toBe(403);
    expect(other.body.code).toBe('FORBIDDEN');
    const viaCloudEvent = await http.request('POST', '/cloudevents', {
      body: JSON.stringify({
        specversion: '1.0',
        id: 'c1',
        source: '/t',
        type: 'a.b',
        subject: 'acme-2',
        data: 3,
      }),
      headers: { ...writer, 'content-type': 'application/cloudevents+json' },
    });
    expect(viaCloudEvent.status).toBe(201);
    expect((await http.get('/streams/acme-2', admin)).body.events[0]!.metadata.tenant).toBe('acme');
    expect((await http.get('/streams/acme-1', admin)).body.events).toHaveLength(1);
    expect(
      (await http.post('/streams/globex-1', { events: [{ type: 'a.b', data: 1 }] }, writer)).status,
    ).toBe(403);
  });

  it('keeps a caller’s request id, or makes one, and returns it', async () => {
    const { http } = await start(new FakeGuard());
    expect(
      (await http.get('/health', { 'x-request-id': 'req-42' })).headers.get('x-request-id'),
    ).toBe('req-42');
    const made = (await http.get('/health', { 'x-request-id': 'bad id with spaces' })).headers.get(
      'x-request-id',
    );
    expect(made).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('listening', () => {
  const servers: CausewayServer[] = [];
  const stores: MemoryEventStore[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    for (const store of stores.splice(0)) await store.close();
  });

  async function make(
    options: Partial<Parameters<typeof createServer>[0]> = {},
  ): Promise<CausewayServer> {
    const store = new MemoryEventStore();
    stores.push(store);
    const server = await createServer({ store, adminUi: false, statsSampleMs: 0, ...options });
    servers.push(server);
    return server;
  }

  it('refuses a non-loopback address with open access unless allowed', async () => {
    const server = await make();
    await expect(server.listen({ host: '0.0.0.0', port: 0 })).rejects.toThrow(InsecureListenError);
    await expect(server.listen({ host: '::', port: 0 })).rejects.toMatchObject({
      code: 'INSECURE_LISTEN',
    });
    expect(server.app.server.listening).toBe(false);
    const allowed = await make({ allowInsecure: true });
    const address = await allowed.listen({ host: '0.0.0.0', port: 0 });
    expect(address.port).toBeGreaterThan(0);
    const guarded = await make({ guard: new FakeGuard() });
    expect((await guarded.listen({ host: '0.0.0.0', port: 0 })).port).toBeGreaterThan(0);
  });

  it('answers a refused key with 500 when counting the denial fails, and keeps serving', async () => {
    // A log destination that fails on the denial's line, as a full disk might.
    const logger = pino(
      { level: 'info' },
      {
        write(line: string) {
          if (line.includes('access denied')) throw new Error('log destination failed');
        },
      },
    );
    const server = await make({ guard: new FakeGuard(), logger });
    const refused = await server.app.inject({
      method: 'GET',
      url: '/streams/order-1',
      headers: { 'x-api-key': 'unknown' },
    });
    expect(refused.statusCode).toBe(500);
    const served = await server.app.inject({
      method: 'GET',
      url: '/streams/order-1',
      headers: { 'x-api-key': 'admin' },
    });
    // Served: the stream does not exist yet.
    expect(served.statusCode).toBe(404);
  });

  it('serves HTTPS with a certificate and key given as paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-tls-'));
    try {
      const key = join(dir, 'key.pem');
      const cert = join(dir, 'cert.pem');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          key,
          '-out',
          cert,
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
        ],
        { stdio: 'ignore' },
      );
      const server = await make({ tls: { key, cert } });
      const { url, port } = await server.listen({ host: '127.0.0.1', port: 0 });
      expect(url).toBe(`https://127.0.0.1:${port}`);
      const { request } = await import('node:https');
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/health',
            ca: readFileSync(cert),
            servername: 'localhost',
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve(text));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect((JSON.parse(body) as { status: string }).status).toBe('ok');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers 413 for a body over the limit and 503 when not ready', async () => {
    let ready = true;
    const server = await make({ bodyLimit: 1024, ready: () => ready });
    const { url } = await server.listen();
    const big = await fetch(`${url}/streams/big-1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ type: 'a.b', data: 'x'.repeat(2000) }] }),
    });
    expect(big.status).toBe(413);
    expect((await jsonOf(big)).code).toBe('BODY_TOO_LARGE');
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    ready = false;
    const notReady = await fetch(`${url}/ready`);
    expect(notReady.status).toBe(503);
    expect((await jsonOf(notReady)).code).toBe('NOT_READY');
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('answers 413 for one event over the store’s event size limit', async () => {
    const store = new MemoryEventStore({ maxEventBytes: 100 });
    stores.push(store);
    const server = await createServer({ store, adminUi: false, statsSampleMs: 0 });
    servers.push(server);
    const { url } = await server.listen();
    const reply = await fetch(`${url}/streams/big-2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ type: 'a.b', data: 'x'.repeat(200) }] }),
    });
    expect(reply.status).toBe(413);
    expect((await jsonOf(reply)).code).toBe('EVENT_TOO_LARGE');
  });

  it('ends open event streams on close, and answers 503 once the store is closed', async () => {
    const store = new MemoryEventStore();
    const server = await createServer({ store, adminUi: false, statsSampleMs: 0 });
    const { url } = await server.listen();
    const reader = new SseReader(`${url}/subscribe`);
    await reader.ready();
    await store.close();
    expect((await fetch(`${url}/ready`)).status).toBe(503);
    const closed = await fetch(`${url}/streams/x-1`);
    expect(closed.status).toBe(503);
    expect((await jsonOf(closed)).code).toBe('STORE_CLOSED');
    await server.close();
    await reader.endedByServer();
    expect(reader.isEnded).toBe(true);
    await eventually(() => !server.app.server.listening, 2000, 'server closed');
  });
});
