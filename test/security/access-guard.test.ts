import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccessRules,
  AuthenticationError,
  createAccessGuard,
  ForbiddenError,
  generateApiKey,
  loadSecurityConfig,
  ManualClock,
  SecurityConfigError,
  securityErrorStatus,
  TenantForbiddenError,
  type Denial,
  type SecurityConfig,
  type SecurityGuard,
} from '@causewayjs/core';
import { ed, HS_SECRET, jwk, pem, rsa, token } from './jwt-fixtures.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const nowSeconds = NOW / 1000;

const admin = generateApiKey('admin-key');
const reader = generateApiKey('reader-key');
const acme = generateApiKey('acme-key');

const rules: SecurityConfig['rules'] = [
  { roles: ['admin'], prefix: '', allow: ['read', 'write', 'delete', 'admin'] },
  { roles: ['reader'], category: 'order', allow: ['read'] },
  { roles: ['writer'], category: 'order', allow: ['read', 'write'] },
  { roles: ['*'], prefix: 'audit-', deny: ['write', 'delete'] },
  { roles: ['tenant-user'], prefix: '{tenant}:', allow: ['read', 'write'] },
];

function config(extra: Partial<SecurityConfig> = {}): SecurityConfig {
  return {
    apiKeys: [
      { id: admin.id, hash: admin.hash, roles: ['admin'] },
      { id: reader.id, hash: reader.hash, roles: ['reader'] },
      { id: acme.id, hash: acme.hash, roles: ['tenant-user'], tenant: 'acme' },
    ],
    jwt: {
      algorithms: ['HS256'],
      secret: HS_SECRET,
      audience: 'causeway',
      issuer: 'https://id.example.test/',
      clockToleranceSeconds: 30,
    },
    rules,
    ...extra,
  };
}

const auth = (value: string) => ({ headers: { authorization: value } });

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthenticationError);
  return (error as AuthenticationError).code;
}

describe('createAccessGuard: authentication', () => {
  const clock = new ManualClock(NOW);
  const guard = createAccessGuard(config(), { clock });

  it('accepts API keys in Authorization or X-Api-Key and never needs the key stored', async () => {
    expect(JSON.stringify(config())).not.toContain(admin.key);
    expect(await guard.authenticate(auth(`ApiKey ${admin.key}`))).toEqual({
      id: 'admin-key',
      roles: ['admin'],
      tenant: undefined,
    });
    expect(await guard.authenticate({ headers: { 'x-api-key': reader.key } })).toMatchObject({
      id: 'reader-key',
    });
    expect(await guard.authenticate(auth(`Bearer ${acme.key}`))).toMatchObject({ tenant: 'acme' });
  });

  it('refuses unknown, altered and foreign-id API keys as AUTH_INVALID', async () => {
    const altered = admin.key.slice(0, -1) + (admin.key.endsWith('A') ? 'B' : 'A');
    expect(await refusal(guard.authenticate(auth(`ApiKey ${altered}`)))).toBe('AUTH_INVALID');
    // Reader's secret presented under the admin's id.
    const swapped = reader.key.replace('reader-key', 'admin-key');
    expect(await refusal(guard.authenticate(auth(`ApiKey ${swapped}`)))).toBe('AUTH_INVALID');
    expect(await refusal(guard.authenticate(auth('ApiKey nope')))).toBe('AUTH_INVALID');
  });

  it('refuses a missing credential unless anonymous access is configured', async () => {
    expect(await refusal(guard.authenticate({ headers: {} }))).toBe('AUTH_MISSING');
    const open = createAccessGuard(config({ allowAnonymous: true, anonymousRoles: ['reader'] }));
    expect(await open.authenticate({ headers: {} })).toBeUndefined();
    expect(open.can(undefined, 'read', 'order-1')).toBe(true);
    expect(open.can(undefined, 'write', 'order-1')).toBe(false);
  });

  it('accepts a valid HS256 token and reads its roles and tenant', async () => {
    const jwt = await token(
      { sub: 'user-1', roles: ['writer'], tenant: 'acme' },
      { now: nowSeconds },
    );
    expect(await guard.authenticate(auth(`Bearer ${jwt}`))).toEqual({
      id: 'user-1',
      roles: ['writer'],
      tenant: 'acme',
    });
  });

  it('refuses expired tokens, honouring the clock skew', async () => {
    const jwt = await token({ sub: 'user-1' }, { now: nowSeconds - 400, expiresIn: 300 });
    expect(await refusal(guard.authenticate(auth(`Bearer ${jwt}`)))).toBe('AUTH_EXPIRED');
    // Expired 20 s ago: within the 30 s tolerance.
    const recent = await token({ sub: 'user-1' }, { now: nowSeconds - 320, expiresIn: 300 });
    expect(await guard.authenticate(auth(`Bearer ${recent}`))).toMatchObject({ id: 'user-1' });
    clock.advance(15_000);
    expect(await refusal(guard.authenticate(auth(`Bearer ${recent}`)))).toBe('AUTH_EXPIRED');
    clock.set(NOW);
  });

  it('refuses wrong audience, wrong issuer, forged, unsigned and malformed tokens', async () => {
    const other = await token({ sub: 'u' }, { now: nowSeconds, audience: 'billing' });
    expect(await refusal(guard.authenticate(auth(`Bearer ${other}`)))).toBe('AUTH_WRONG_AUDIENCE');
    const issuer = await token({ sub: 'u' }, { now: nowSeconds, issuer: 'https://evil.test/' });
    expect(await refusal(guard.authenticate(auth(`Bearer ${issuer}`)))).toBe('AUTH_WRONG_ISSUER');
    const forged = await token(
      { sub: 'u', roles: ['admin'] },
      { now: nowSeconds, key: new TextEncoder().encode('another-secret-of-at-least-32-bytes!!') },
    );
    expect(await refusal(guard.authenticate(auth(`Bearer ${forged}`)))).toBe('AUTH_INVALID');
    // Same header and payload, signature removed and alg set to none.
    const [, payload] = forged.split('.');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    expect(await refusal(guard.authenticate(auth(`Bearer ${none}`)))).toBe('AUTH_INVALID');
    // A payload edited to add a role keeps the old signature: refused.
    const valid = await token({ sub: 'u', roles: ['reader'] }, { now: nowSeconds });
    const [h, p, s] = valid.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const edited = Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString(
      'base64url',
    );
    expect(await refusal(guard.authenticate(auth(`Bearer ${h}.${edited}.${s}`)))).toBe(
      'AUTH_INVALID',
    );
    expect(await refusal(guard.authenticate(auth('Bearer a.b.c')))).toBe('AUTH_INVALID');
    expect(await refusal(guard.authenticate(auth('Basic dXNlcjpwYXNz')))).toBe('AUTH_INVALID');
    const noSub = await token({ roles: ['admin'] }, { now: nowSeconds });
    expect(await refusal(guard.authenticate(auth(`Bearer ${noSub}`)))).toBe('AUTH_INVALID');
  });

  it('refuses an RS256 token when only HS256 is configured (algorithm confusion)', async () => {
    const jwt = await token({ sub: 'u' }, { now: nowSeconds, alg: 'RS256' });
    expect(await refusal(guard.authenticate(auth(`Bearer ${jwt}`)))).toBe('AUTH_INVALID');
  });

  it('refuses oversized and repeated credential headers', async () => {
    expect(await refusal(guard.authenticate(auth(`Bearer ${'x'.repeat(9000)}`)))).toBe(
      'AUTH_HEADER_TOO_LARGE',
    );
    expect(await refusal(guard.authenticate({ headers: { 'x-api-key': 'k'.repeat(9000) } }))).toBe(
      'AUTH_HEADER_TOO_LARGE',
    );
    expect(
      await refusal(
        guard.authenticate({ headers: { authorization: [`ApiKey ${admin.key}`, 'x'] } }),
      ),
    ).toBe('AUTH_INVALID');
    expect(
      await refusal(
        guard.authenticate({
          headers: { authorization: `ApiKey ${admin.key}`, 'x-api-key': reader.key },
        }),
      ),
    ).toBe('AUTH_INVALID');
  });

  it('counts failed authentications by code', () => {
    const failures = guard.denials().authenticationFailures;
    expect(failures.AUTH_INVALID).toBeGreaterThanOrEqual(8);
    expect(failures.AUTH_EXPIRED).toBe(2);
    expect(failures.AUTH_HEADER_TOO_LARGE).toBe(2);
  });

  it('maps every authentication code to 401 (431 for huge headers) and refusals to 403', () => {
    for (const code of ['AUTH_MISSING', 'AUTH_EXPIRED', 'AUTH_INVALID', 'AUTH_WRONG_AUDIENCE'])
      expect(securityErrorStatus[code]).toBe(401);
    expect(securityErrorStatus.AUTH_HEADER_TOO_LARGE).toBe(431);
    expect(securityErrorStatus.FORBIDDEN).toBe(403);
    expect(securityErrorStatus.TENANT_FORBIDDEN).toBe(403);
  });
});

describe('createAccessGuard: RS256, EdDSA and JWKS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-jwks-'));
  let server: Server;
  let jwksUrl: string;

  beforeAll(async () => {
    const set = {
      keys: [await jwk(rsa.publicKey, 'rsa-1', 'RS256'), await jwk(ed.publicKey, 'ed-1', 'EdDSA')],
    };
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(set));
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(set));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const jwtConfig = (key: Record<string, unknown>) =>
    createAccessGuard(
      config({
        jwt: { algorithms: ['RS256', 'EdDSA'], audience: 'causeway', ...key },
      }),
      { clock: new ManualClock(NOW) },
    );

  it('verifies RS256 and EdDSA with a PEM public key', async () => {
    const rs = jwtConfig({ publicKey: pem(rsa.publicKey) });
    const jwt = await token({ sub: 'r' }, { now: nowSeconds, alg: 'RS256' });
    expect(await rs.authenticate(auth(`Bearer ${jwt}`))).toMatchObject({ id: 'r' });
    const eddsa = jwtConfig({ publicKey: pem(ed.publicKey) });
    const edJwt = await token({ sub: 'e' }, { now: nowSeconds, alg: 'EdDSA' });
    expect(await eddsa.authenticate(auth(`Bearer ${edJwt}`))).toMatchObject({ id: 'e' });
    // The RSA-signed token does not pass the Ed25519 key.
    expect(await refusal(eddsa.authenticate(auth(`Bearer ${jwt}`)))).toBe('AUTH_INVALID');
  });

  it('verifies with a JWKS file and a JWKS URL, picking the key by kid', async () => {
    for (const guard of [jwtConfig({ jwksFile: join(dir, 'jwks.json') }), jwtConfig({ jwksUrl })]) {
      const r = await token({ sub: 'r' }, { now: nowSeconds, alg: 'RS256', kid: 'rsa-1' });
      const e = await token({ sub: 'e' }, { now: nowSeconds, alg: 'EdDSA', kid: 'ed-1' });
      expect(await guard.authenticate(auth(`Bearer ${r}`))).toMatchObject({ id: 'r' });
      expect(await guard.authenticate(auth(`Bearer ${e}`))).toMatchObject({ id: 'e' });
      const unknownKid = await token({ sub: 'x' }, { now: nowSeconds, alg: 'RS256', kid: 'nope' });
      expect(await refusal(guard.authenticate(auth(`Bearer ${unknownKid}`)))).toBe('AUTH_INVALID');
    }
  });
});

describe('createAccessGuard: authorisation', () => {
  const denials: Denial[] = [];
  let guard: SecurityGuard;
  beforeAll(() => {
    guard = createAccessGuard(config());
    guard.onDenial((d) => denials.push(d));
  });
  const p = (roles: string[], tenant?: string) => ({ id: 'p', roles, tenant });

  it('allows what a role is given and nothing else (default deny)', () => {
    expect(guard.can(p(['reader']), 'read', 'order-1')).toBe(true);
    expect(guard.can(p(['reader']), 'write', 'order-1')).toBe(false);
    expect(guard.can(p(['reader']), 'read', 'customer-1')).toBe(false);
    expect(guard.can(p(['writer']), 'write', 'order-9')).toBe(true);
    expect(guard.can(p([]), 'read', 'order-1')).toBe(false);
    expect(guard.can(undefined, 'read', 'order-1')).toBe(false);
  });

  it('lets a deny rule win over any allow, even the admin role', () => {
    expect(guard.can(p(['admin']), 'read', 'audit-1')).toBe(true);
    expect(guard.can(p(['admin']), 'write', 'audit-1')).toBe(false);
    expect(guard.can(p(['admin']), 'delete', 'audit-1')).toBe(false);
    // A narrower allow does not undo it either.
    const narrower = new AccessRules([
      { roles: ['*'], prefix: 'audit-', deny: ['write'] },
      { roles: ['ops'], prefix: 'audit-ops-', allow: ['write'] },
    ]);
    expect(narrower.decide({ id: 'o', roles: ['ops'] }, 'write', 'audit-ops-1')).toEqual({
      allowed: false,
      reason: 'deny-rule',
    });
  });

  it('takes stream names literally: path tricks gain nothing, invalid names are refused', () => {
    const r = p(['reader']);
    for (const stream of ['../order-1', '/order-1', 'Order-1', '%6frder-1', ' order-1', 'order_1'])
      expect(guard.can(r, 'read', stream), stream).toBe(false);
    // Within the granted namespace a slash is just a character of the name.
    expect(guard.can(r, 'read', 'order-1/../customer-1')).toBe(true);
    for (const stream of ['order-1\u0000', 'order-\n1', '$all', '', 'order-' + 'x'.repeat(300)])
      expect(guard.can(p(['admin']), 'read', stream)).toBe(false);
    expect(guard.can(p(['admin']), 'admin', '')).toBe(true);
    expect(guard.can(p(['admin']), 'admin', '$admin')).toBe(true);
    expect(guard.can(p(['admin']), 'read', '$admin')).toBe(false);
    expect(guard.can(p(['reader']), 'admin', '')).toBe(false);
  });

  it('binds a tenant principal to its own streams, whatever its roles', () => {
    const user = p(['tenant-user'], 'acme');
    expect(guard.can(user, 'write', 'acme:order-1')).toBe(true);
    expect(guard.can(user, 'read', 'globex:order-1')).toBe(false);
    expect(guard.can(user, 'read', 'acmecorp:order-1')).toBe(false);
    expect(guard.can(p(['admin'], 'acme'), 'read', 'order-1')).toBe(false);
    expect(guard.can(p(['admin'], 'acme'), 'admin', '')).toBe(false);
    // A {tenant} rule never applies to a caller without a tenant.
    expect(guard.can(p(['tenant-user']), 'read', 'acme:order-1')).toBe(false);
    const event = (stream: string, tenant: string | undefined) => ({
      id: '0',
      type: 't',
      stream,
      revision: 0,
      position: 1,
      data: {},
      metadata: tenant ? { tenant } : {},
      schemaVersion: 1,
      recordedAt: new Date(0),
    });
    expect(guard.canRead(user, event('acme:order-1', 'acme'))).toBe(true);
    expect(guard.canRead(user, event('acme:order-1', 'globex'))).toBe(false);
    // No tenant metadata (written into the namespace by code bound to no tenant): the
    // namespace's tenant's. Another tenant's stream stays hidden whatever its metadata.
    expect(guard.canRead(user, event('acme:order-1', undefined))).toBe(true);
    expect(guard.canRead(user, event('globex:order-1', undefined))).toBe(false);
    expect(guard.canRead(user, event('globex:order-1', 'acme'))).toBe(false);
  });

  it('throws typed errors from assert', () => {
    expect(() => guard.assert(p(['reader']), 'write', 'order-1')).toThrow(ForbiddenError);
    expect(() => guard.assert(p(['tenant-user'], 'acme'), 'read', 'globex:x')).toThrow(
      TenantForbiddenError,
    );
    expect(() => guard.assert(p(['reader']), 'read', 'order-1')).not.toThrow();
  });

  it('counts and reports every denial, without secrets', () => {
    const counts = guard.denials();
    expect(counts.total).toBe(denials.length);
    expect(counts.total).toBeGreaterThan(10);
    expect(counts.byPermission.write).toBeGreaterThan(0);
    expect(denials.some((d) => d.reason === 'tenant')).toBe(true);
    expect(denials.some((d) => d.reason === 'deny-rule')).toBe(true);
    expect(denials.some((d) => d.reason === 'invalid-stream')).toBe(true);
    expect(JSON.stringify(denials)).not.toContain('cwk_');
  });
});

describe('createAccessGuard: logging', () => {
  it('logs denials and failed logins with ids and reasons, never keys or tokens', async () => {
    const lines: string[] = [];
    const guard = createAccessGuard(config(), {
      clock: new ManualClock(NOW),
      logger: { warn: (object, message) => lines.push(JSON.stringify({ ...object, message })) },
    });
    const altered = `${reader.key}x`;
    await refusal(guard.authenticate(auth(`ApiKey ${altered}`)));
    const forged = await token({ sub: 'mallory' }, { now: nowSeconds, audience: 'billing' });
    await refusal(guard.authenticate(auth(`Bearer ${forged}`)));
    const principal = await guard.authenticate(auth(`ApiKey ${reader.key}`));
    expect(guard.can(principal, 'write', 'order-1')).toBe(false);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('"principal":"reader-key"');
    expect(lines[2]).toContain('"reason":"no-rule"');
    for (const line of lines) {
      expect(line).not.toContain(reader.key.slice(4));
      expect(line).not.toContain(forged.split('.')[2]);
    }
  });
});

describe('security configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-sec-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a JSON file and builds a working guard from it', async () => {
    const file = join(dir, 'security.json');
    writeFileSync(file, JSON.stringify(config()));
    const guard = createAccessGuard(loadSecurityConfig(file));
    const principal = await guard.authenticate(auth(`ApiKey ${reader.key}`));
    expect(guard.can(principal, 'read', 'order-1')).toBe(true);
  });

  it('refuses unusable configurations with the path of the problem', () => {
    const bad: [unknown, string][] = [
      [{ apiKeys: [{ id: 'k', hash: admin.key, roles: [] }] }, '$.apiKeys[0].hash'],
      [
        {
          apiKeys: [
            { id: 'k', hash: admin.hash, roles: [] },
            { id: 'k', hash: admin.hash, roles: [] },
          ],
        },
        '$.apiKeys[1].id',
      ],
      [{ rules: [{ roles: ['a'], prefix: '', allow: ['fly'] }] }, '$.rules[0].allow[0]'],
      [{ rules: [{ roles: ['a'], prefix: '' }] }, '$.rules[0]'],
      [{ jwt: { algorithms: ['HS256'], secret: 'short', audience: 'a' } }, '$.jwt.secret'],
      [{ jwt: { algorithms: ['none'], secret: HS_SECRET, audience: 'a' } }, '$.jwt.algorithms[0]'],
      [{ jwt: { algorithms: ['HS256'], secret: HS_SECRET } }, '$.jwt.audience'],
      [{ jwt: { algorithms: ['RS256'], audience: 'a' } }, '$.jwt'],
      [{ apikeys: [] }, '$.apikeys'],
    ];
    for (const [value, path] of bad) {
      let error: unknown;
      try {
        createAccessGuard(value as SecurityConfig);
      } catch (e) {
        error = e;
      }
      expect(error, path).toBeInstanceOf(SecurityConfigError);
      expect((error as SecurityConfigError).path).toBe(path);
    }
    writeFileSync(join(dir, 'broken.json'), '{');
    expect(() => loadSecurityConfig(join(dir, 'broken.json'))).toThrow(SecurityConfigError);
    expect(() => loadSecurityConfig(join(dir, 'missing.json'))).toThrow(SecurityConfigError);
  });
});
