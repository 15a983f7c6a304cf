// Time claims of bearer tokens: a token issued in the future (beyond the clock tolerance) is
// refused as AUTH_EXPIRED, and a token without `exp` (which would never expire) is refused
// unless the configuration opts out with `requireExp: false`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MemoryEventStore,
  AuthenticationError,
  createAccessGuard,
  ManualClock,
  type SecurityConfig,
  type JwtConfig,
} from '@causewayjs/core';
import { createServer, type CausewayServer } from '@causewayjs/server';
import { HS_SECRET, token } from './jwt-fixtures.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const now = NOW / 1000;

function config(jwt: Partial<JwtConfig> = {}): SecurityConfig {
  return {
    jwt: {
      algorithms: ['HS256'],
      secret: HS_SECRET,
      audience: 'causeway',
      issuer: 'https://id.example.test/',
      ...jwt,
    },
    rules: [{ roles: ['reader'], prefix: 'order-', allow: ['read'] }],
  };
}

function guardOf(jwt: Partial<JwtConfig> = {}) {
  return createAccessGuard(config(jwt), { clock: new ManualClock(NOW) });
}

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error === undefined) return undefined;
  expect(error).toBeInstanceOf(AuthenticationError);
  return (error as AuthenticationError).code;
}

const bearer = (jwt: string) => ({ headers: { authorization: `Bearer ${jwt}` } });

describe('JWT time claims (library)', () => {
  it('refuses a token issued in the future beyond the clock tolerance as AUTH_EXPIRED', async () => {
    const guard = guardOf();
    const future = await token({ sub: 'u' }, { now, issuedAt: now + 3600 });
    expect(await code(guard.authenticate(bearer(future)))).toBe('AUTH_EXPIRED');
    // Within the default 30 s tolerance: a clock slightly ahead is fine.
    const skewed = await token({ sub: 'u' }, { now, issuedAt: now + 20 });
    expect(await code(guard.authenticate(bearer(skewed)))).toBeUndefined();
    // The tolerance is configurable.
    const tight = guardOf({ clockToleranceSeconds: 5 });
    expect(await code(tight.authenticate(bearer(skewed)))).toBe('AUTH_EXPIRED');
  });

  it('refuses a token without exp by default, as AUTH_INVALID', async () => {
    const forever = await token({ sub: 'u' }, { now, expiresIn: null });
    expect(await code(guardOf().authenticate(bearer(forever)))).toBe('AUTH_INVALID');
  });

  it('accepts a token without exp with requireExp: false, still bounded by maxTokenAgeSeconds', async () => {
    const forever = await token({ sub: 'u' }, { now: now - 7200, expiresIn: null });
    expect(
      await code(guardOf({ requireExp: false }).authenticate(bearer(forever))),
    ).toBeUndefined();
    const bounded = guardOf({ requireExp: false, maxTokenAgeSeconds: 3600 });
    expect(await code(bounded.authenticate(bearer(forever)))).toBe('AUTH_EXPIRED');
  });
});

describe('JWT time claims over HTTP', () => {
  let server: CausewayServer;
  let base: string;
  const store = new MemoryEventStore();

  beforeAll(async () => {
    server = await createServer({ store, guard: guardOf(), adminUi: false, statsSampleMs: 0 });
    base = (await server.listen({ host: '127.0.0.1', port: 0 })).url;
  });
  afterAll(async () => {
    await server.close();
    await store.close();
  });

  async function get(jwt: string): Promise<{ status: number; code: string | undefined }> {
    const response = await fetch(`${base}/streams/order-1`, {
      headers: { authorization: `Bearer ${jwt}` },
    });
    const body = (await response.json()) as { code?: string };
    return { status: response.status, code: body.code };
  }

  it('answers 401 AUTH_EXPIRED for a future iat and 401 AUTH_INVALID for a missing exp', async () => {
    const fine = await token({ sub: 'u', roles: ['reader'] }, { now });
    expect((await get(fine)).status).not.toBe(401);
    const future = await token({ sub: 'u', roles: ['reader'] }, { now, issuedAt: now + 3600 });
    expect(await get(future)).toEqual({ status: 401, code: 'AUTH_EXPIRED' });
    const forever = await token({ sub: 'u', roles: ['reader'] }, { now, expiresIn: null });
    expect(await get(forever)).toEqual({ status: 401, code: 'AUTH_INVALID' });
  });
});
