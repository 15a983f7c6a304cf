// Denials are logged at warn with who, what, where and which request, and never with a
// credential: through the library (createServer + createAccessGuard given a logger) and through
// `causeway serve`, whose logs go to stderr as JSON lines.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createAccessGuard,
  generateApiKey,
  type SecurityConfig,
  MemoryEventStore,
} from '@causewayjs/core';
import { createLogger } from '@causewayjs/core/internals';
import { createServer } from '@causewayjs/server';
import { cli } from '../cli/cli-harness.js';
import { HS_SECRET, token } from './jwt-fixtures.js';
import { serving } from './serve-harness.js';

const writer = generateApiKey('writer');
const security: SecurityConfig = {
  apiKeys: [{ id: writer.id, hash: writer.hash, roles: ['writer'] }],
  jwt: { algorithms: ['HS256'], secret: HS_SECRET, audience: 'causeway' },
  rules: [{ roles: ['writer'], prefix: 'order-', allow: ['read', 'write'] }],
};

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  [field: string]: unknown;
}

function lines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LogLine);
}

/**
 * Makes the refused requests against `base` (ending in `/`): a forbidden append with a valid
 * key, a forged bearer token, and an altered key. Returns the secrets that must not be logged
 * and the request id of the forbidden append.
 */
async function refusedRequests(base: string): Promise<{ secrets: string[]; requestId: string }> {
  const body = JSON.stringify({ events: [{ type: 'cart.opened', data: { n: 1 } }] });
  const forbidden = await fetch(`${base}streams/cart-1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `ApiKey ${writer.key}` },
    body,
  });
  expect(forbidden.status).toBe(403);
  const forged = await token(
    { sub: 'mallory', roles: ['writer'] },
    {
      now: Math.floor(Date.now() / 1000),
      key: new TextEncoder().encode('another-secret-of-at-least-32-bytes!!'),
    },
  );
  expect(
    (await fetch(`${base}streams/order-1`, { headers: { authorization: `Bearer ${forged}` } }))
      .status,
  ).toBe(401);
  const altered = `${writer.key.slice(0, -4)}AAAA`;
  expect(
    (await fetch(`${base}streams/order-1`, { headers: { 'x-api-key': altered } })).status,
  ).toBe(401);
  // The key's secret is everything after `cwk_<id>_`; base64url may itself hold a "_", so it
  // is not the last "_"-separated piece (that was a single character now and then).
  const keySecret = writer.key.slice(`cwk_${writer.id}_`.length);
  expect(keySecret).toHaveLength(43); // 32 random bytes in base64url
  return {
    secrets: [writer.key, keySecret, forged, altered, HS_SECRET],
    requestId: forbidden.headers.get('x-request-id') as string,
  };
}

/** Checks the denial line of the forbidden append and that no secret is anywhere in `log`. */
function checkLog(log: string, refused: { secrets: string[]; requestId: string }): void {
  const denial = lines(log).find((l) => l.msg === 'access denied' && l.reqId === refused.requestId);
  expect(denial, log).toMatchObject({
    level: 40,
    principal: 'writer',
    permission: 'write',
    resource: 'cart-1',
    reqId: refused.requestId,
  });
  // Failed authentications are logged too, by code.
  expect(lines(log).some((l) => l.level === 40 && l.code === 'AUTH_INVALID')).toBe(true);
  for (const secret of refused.secrets) expect(log).not.toContain(secret);
  expect(log.toLowerCase()).not.toContain('"authorization"');
}

describe('denial logging', () => {
  it('createServer and the guard log denials to the given logger, without secrets', async () => {
    let log = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        log += chunk.toString();
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination: sink });
    const store = new MemoryEventStore();
    const server = await createServer({
      store,
      guard: createAccessGuard(security, { logger }),
      logger,
      adminUi: false,
      statsSampleMs: 0,
    });
    try {
      const { url } = await server.listen({ host: '127.0.0.1', port: 0 });
      const refused = await refusedRequests(`${url}/`);
      await expect.poll(() => log.includes(refused.requestId)).toBe(true);
      checkLog(log, refused);
    } finally {
      await server.close();
      await store.close();
    }
  });

  describe('causeway serve', () => {
    let dir: string;
    let store: string;
    let file: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'causeway-serve-logging-'));
      store = `sqlite:${join(dir, 'events.db')}`;
      file = join(dir, 'security.json');
      writeFileSync(file, JSON.stringify(security));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('logs each denial on stderr as JSON at warn, with principal, permission, resource and request id, never a secret', async () => {
      let refused = { secrets: [] as string[], requestId: '' };
      const output = await serving(['--store', store, '--security', file], async (base) => {
        refused = await refusedRequests(base);
      });
      checkLog(output.stderr, refused);
      // The listening line stays alone on stdout.
      expect(lines(output.stdout).map((l) => l.event)).toEqual(['listening']);
    });

    it('takes --log-level: info adds request lines, silent logs nothing', async () => {
      const info = await serving(
        ['--store', store, '--security', file, '--log-level', 'info'],
        async (base) => {
          await refusedRequests(base);
        },
      );
      expect(lines(info.stderr).some((l) => l.msg === 'request completed')).toBe(true);
      const silent = await serving(
        ['--store', store, '--security', file, '--log-level', 'silent'],
        async (base) => {
          await refusedRequests(base);
        },
      );
      expect(silent.stderr).toBe('');
    });

    it('refuses an unknown --log-level as a usage error', async () => {
      const run = await cli(['serve', '--store', store, '--port', '0', '--log-level', 'loud']);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('--log-level');
    });
  });
});
