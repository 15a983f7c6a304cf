// Responses served over TLS carry Strict-Transport-Security, so a browser that has once
// reached the server over HTTPS never falls back to plain HTTP; plain HTTP responses do not
// (the header means nothing there, and must not pin a host that has no TLS).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  createAccessGuard,
  generateApiKey,
  MemoryEventStore,
} from '@causewayjs/core';
import { createServer, type CausewayServer, type ServerOptions } from '@causewayjs/server';
import { serving } from './serve-harness.js';

let dir: string;
let cert: string;
let key: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'causeway-hsts-'));
  key = join(dir, 'key.pem');
  cert = join(dir, 'cert.pem');
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
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** GET `url` over HTTPS trusting the test certificate; resolves the status and HSTS header. */
function httpsGet(url: string): Promise<{ status: number; hsts: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(cert) }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          hsts: res.headers['strict-transport-security'],
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HSTS (library)', () => {
  const store = new MemoryEventStore();
  const servers: CausewayServer[] = [];
  afterAll(async () => {
    for (const server of servers) await server.close();
    await store.close();
  });

  async function serve(options: Partial<ServerOptions>): Promise<string> {
    const server = await createServer({ store, adminUi: false, statsSampleMs: 0, ...options });
    servers.push(server);
    return (await server.listen({ host: '127.0.0.1', port: 0 })).url;
  }

  it('sends a one-year HSTS header on every HTTPS response: success, 401, 404', async () => {
    const admin = generateApiKey('admin');
    const guard = createAccessGuard({
      apiKeys: [{ id: admin.id, hash: admin.hash, roles: ['admin'] }],
      rules: [{ roles: ['admin'], prefix: '', allow: ['read'] }],
    });
    const base = await serve({ tls: { cert, key }, guard });
    expect(base.startsWith('https://')).toBe(true);
    for (const [path, status] of [
      ['/health', 200],
      ['/streams/order-1', 401],
      ['/no-such-route', 404],
    ] as const) {
      const reply = await httpsGet(`${base}${path}`);
      expect(reply.status, path).toBe(status);
      expect(reply.hsts, path).toBe('max-age=31536000');
    }
  });

  it('takes its max-age and includeSubDomains from the hsts option, or none with false', async () => {
    const custom = await serve({
      tls: { cert, key },
      hsts: { maxAgeSeconds: 600, includeSubDomains: true },
    });
    expect((await httpsGet(`${custom}/health`)).hsts).toBe('max-age=600; includeSubDomains');
    const off = await serve({ tls: { cert, key }, hsts: false });
    expect((await httpsGet(`${off}/health`)).hsts).toBeUndefined();
  });

  it('sends no HSTS header over plain HTTP', async () => {
    const base = await serve({ hsts: { maxAgeSeconds: 600 } });
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('strict-transport-security')).toBeNull();
  });

  it('refuses a max-age that is not a whole number of seconds', async () => {
    for (const maxAgeSeconds of [-1, 1.5, Number.NaN])
      await expect(
        createServer({ store, tls: { cert, key }, hsts: { maxAgeSeconds } }),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('HSTS through causeway serve', () => {
  it('serves HTTPS with HSTS, max-age from --hsts-max-age', async () => {
    const store = `sqlite:${join(dir, 'events.db')}`;
    const tls = ['--store', store, '--tls-cert', cert, '--tls-key', key];
    await serving([...tls, '--hsts-max-age', '86400'], async (base) => {
      expect(base.startsWith('https://')).toBe(true);
      expect(await httpsGet(`${base}health`)).toEqual({ status: 200, hsts: 'max-age=86400' });
    });
    await serving(tls, async (base) => {
      expect((await httpsGet(`${base}health`)).hsts).toBe('max-age=31536000');
    });
  });
});
