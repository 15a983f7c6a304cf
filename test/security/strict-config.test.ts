// A typo anywhere in the security configuration must be refused, never read as "no such
// restriction": a misspelt rule prefix would grant every stream, a misspelt issuer would turn
// the issuer check off, a misspelt tenant would unbind an API key.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AccessRules,
  createAccessGuard,
  generateApiKey,
  JwtVerifier,
  loadSecurityConfig,
  SecurityConfigError,
  type SecurityConfig,
} from '@causewayjs/core';
import { cli } from '../cli/cli-harness.js';
import { HS_SECRET } from './jwt-fixtures.js';

const support = generateApiKey('support');
const jwt = {
  algorithms: ['HS256'],
  secret: HS_SECRET,
  audience: 'causeway',
  issuer: 'https://id.example.test/',
};
const supportKey = { id: support.id, hash: support.hash, roles: ['support'] };
const supportRule = { roles: ['support'], prefix: 'customer-', allow: ['read'] };

/** The error `make` throws, checked to be a SecurityConfigError. */
function configError(make: () => unknown): SecurityConfigError {
  let error: unknown;
  try {
    make();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(SecurityConfigError);
  const failure = error as SecurityConfigError;
  expect(failure.code).toBe('SECURITY_CONFIG_INVALID');
  return failure;
}

/** The error createAccessGuard throws for `config`. */
function refused(config: unknown): SecurityConfigError {
  return configError(() => createAccessGuard(config as SecurityConfig));
}

describe('strict security configuration (library)', () => {
  it('refuses a misspelt key in a rule instead of granting every stream', () => {
    const error = refused({
      apiKeys: [supportKey],
      rules: [{ roles: ['support'], prefx: 'customer-', allow: ['read'] }],
    });
    expect(error.path).toBe('$.rules[0].prefx');
    expect(error.message).toContain('$.rules[0].prefx');
  });

  it('refuses a misspelt jwt setting instead of dropping the check', () => {
    const { issuer, ...rest } = jwt;
    expect(refused({ jwt: { ...rest, isuer: issuer } }).path).toBe('$.jwt.isuer');
    expect(refused({ jwt: { ...jwt, clockTolerance: 5 } }).path).toBe('$.jwt.clockTolerance');
  });

  it('refuses a misspelt api key setting instead of unbinding the key from its tenant', () => {
    const error = refused({ apiKeys: [{ ...supportKey, tennant: 'acme' }] });
    expect(error.path).toBe('$.apiKeys[0].tennant');
  });

  it('checks every level: nested objects, arrays and values', () => {
    const cases: [unknown, string][] = [
      [{ rules: [{ ...supportRule, allow: ['read', 'raed'] }] }, '$.rules[0].allow[1]'],
      [{ rules: [{ ...supportRule, roles: 'support' }] }, '$.rules[0].roles'],
      [{ rules: [supportRule, { ...supportRule, Deny: ['write'] }] }, '$.rules[1].Deny'],
      [{ apiKeys: [{ ...supportKey, roles: [1] }] }, '$.apiKeys[0].roles[0]'],
      [{ apiKeys: [{ ...supportKey, tenant: 'a:b' }] }, '$.apiKeys[0].tenant'],
      [{ jwt: { ...jwt, algorithms: ['HS256', 'none'] } }, '$.jwt.algorithms[1]'],
      [{ jwt: { ...jwt, maxTokenAgeSeconds: -1 } }, '$.jwt.maxTokenAgeSeconds'],
      [{ jwt: { ...jwt, requireExp: 'no' } }, '$.jwt.requireExp'],
      [
        { jwt: { ...jwt, secret: undefined, jwksUrl: 'http://id.example.test/jwks.json' } },
        '$.jwt.jwksUrl',
      ],
      [{ allowAnonymous: 'yes' }, '$.allowAnonymous'],
      [{ anonymousRoles: ['reader'] }, '$.anonymousRoles'],
      [{ maxCredentialBytes: 10 }, '$.maxCredentialBytes'],
      [{ rule: [] }, '$.rule'],
      [[], '$'],
    ];
    for (const [config, path] of cases) expect(refused(config).path, path).toBe(path);
  });

  it('requires every rule to name its streams: a rule without prefix or category is refused', () => {
    const error = refused({ rules: [{ roles: ['admin'], allow: ['read'] }] });
    expect(error.path).toBe('$.rules[0]');
    expect(error.reason).toMatch(/prefix/);
    expect(refused({ rules: [{ ...supportRule, category: 'customer' }] }).path).toBe('$.rules[0]');
  });

  it('accepts an https JWKS URL, and plain http only on a loopback host', () => {
    const { secret: _secret, ...rest } = jwt;
    for (const jwksUrl of ['https://id.example.test/jwks.json', 'http://127.0.0.1:9/jwks.json'])
      expect(() =>
        createAccessGuard({ jwt: { ...rest, jwksUrl } } as SecurityConfig),
      ).not.toThrow();
  });

  it('takes prefix "" or "*" as an explicit "every stream"', () => {
    for (const prefix of ['', '*']) {
      const rules = new AccessRules([{ roles: ['admin'], prefix, allow: ['read'] }]);
      expect(rules.decide({ id: 'a', roles: ['admin'] }, 'read', 'secret-1').allowed).toBe(true);
    }
  });

  it('validates rules and jwt settings given to AccessRules and JwtVerifier directly', () => {
    const rule = { roles: ['support'], prefx: 'customer-', allow: ['read'] };
    expect(configError(() => new AccessRules([rule] as never)).path).toBe('$.rules[0].prefx');
    const { issuer, ...rest } = jwt;
    expect(configError(() => new JwtVerifier({ ...rest, isuer: issuer } as never)).path).toBe(
      '$.jwt.isuer',
    );
  });

  describe('from a file', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'causeway-strict-config-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('loadSecurityConfig refuses a typo with its path', () => {
      const file = join(dir, 'security.json');
      writeFileSync(file, JSON.stringify({ apiKeys: [{ ...supportKey, tennant: 'acme' }] }));
      expect(configError(() => loadSecurityConfig(file)).path).toBe('$.apiKeys[0].tennant');
    });

    it('causeway serve refuses to start on a security file with a typo, naming the key', async () => {
      const file = join(dir, 'security.json');
      writeFileSync(
        file,
        JSON.stringify({
          apiKeys: [supportKey],
          rules: [{ roles: ['support'], prefx: 'customer-', allow: ['read'] }],
        }),
      );
      const store = `sqlite:${join(dir, 'events.db')}`;
      const run = await cli(['serve', '--store', store, '--port', '0', '--security', file]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('SECURITY_CONFIG_INVALID');
      expect(run.stderr).toContain('$.rules[0].prefx');
      expect(run.stdout).not.toContain('serving');
    });

    it('causeway serve --shop refuses --security rather than serving without it', async () => {
      const file = join(dir, 'security.json');
      writeFileSync(file, JSON.stringify({ apiKeys: [supportKey], rules: [supportRule] }));
      const store = `sqlite:${join(dir, 'events.db')}`;
      const run = await cli([
        'serve',
        '--shop',
        '--store',
        store,
        '--port',
        '0',
        '--security',
        file,
      ]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('--security');
    });
  });
});
