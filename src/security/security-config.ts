import { readFileSync } from 'node:fs';
import type { AccessRule } from './access-rules.js';
import { isApiKeyHash } from './api-keys.js';
import type { JwtConfig } from './jwt-verifier.js';
import { SecurityConfigError } from './security-errors.js';
import { assertTenantId } from './tenants.js';

/** One API key the server accepts. Only its hash is configured. */
export interface ApiKeyConfig {
  /** The key id (the `<id>` of `cwk_<id>_...`); callers using it have this principal id. */
  id: string;
  /** `sha256:<hex>` as made by `generateApiKey` / `hashApiKey`. */
  hash: string;
  roles: readonly string[];
  /** Binds callers using this key to one tenant. */
  tenant?: string;
}

/**
 * The security configuration, as options or as a JSON file ({@link loadSecurityConfig}).
 *
 * @example
 * ```json
 * {
 *   "apiKeys": [{ "id": "ci-bot", "hash": "sha256:…", "roles": ["writer"] }],
 *   "jwt": { "algorithms": ["RS256"], "jwksUrl": "https://id.example.com/.well-known/jwks.json",
 *            "issuer": "https://id.example.com/", "audience": "causeway" },
 *   "rules": [
 *     { "roles": ["admin"], "allow": ["read", "write", "delete", "admin"] },
 *     { "roles": ["writer"], "category": "order", "allow": ["read", "write"] },
 *     { "roles": ["*"], "prefix": "audit-", "deny": ["write", "delete"] }
 *   ]
 * }
 * ```
 */
export interface SecurityConfig {
  /** Let requests without credentials through as anonymous callers. Default false. */
  allowAnonymous?: boolean;
  /** Roles of anonymous callers (only with `allowAnonymous`). Default none. */
  anonymousRoles?: readonly string[];
  apiKeys?: readonly ApiKeyConfig[];
  jwt?: JwtConfig;
  /** Access rules, evaluated with deny wins (see `AccessRules`). Default: none (deny all). */
  rules?: readonly AccessRule[];
  /** Largest accepted credentials header, in bytes. Default 8,192. */
  maxCredentialBytes?: number;
}

/**
 * Reads a JSON security configuration file and checks its shape. Relative `jwt.jwksFile`
 * paths are taken as given (relative to the working directory).
 *
 * @throws {SecurityConfigError} when the file is missing, not JSON, or malformed.
 */
export function loadSecurityConfig(file: string): SecurityConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SecurityConfigError(file, 'cannot be read', { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SecurityConfigError(file, 'is not valid JSON', { cause: error });
  }
  return checkSecurityConfig(parsed);
}

/** Checks the shape of a configuration object; returns it typed. */
export function checkSecurityConfig(value: unknown): SecurityConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SecurityConfigError('$', 'must be an object');
  const config = value as Record<string, unknown>;
  const known = new Set([
    'allowAnonymous',
    'anonymousRoles',
    'apiKeys',
    'jwt',
    'rules',
    'maxCredentialBytes',
  ]);
  for (const key of Object.keys(config))
    if (!known.has(key)) throw new SecurityConfigError(`$.${key}`, 'unknown setting');
  if (config.allowAnonymous !== undefined && typeof config.allowAnonymous !== 'boolean')
    throw new SecurityConfigError('$.allowAnonymous', 'must be a boolean');
  if (config.anonymousRoles !== undefined && !isStringArray(config.anonymousRoles))
    throw new SecurityConfigError('$.anonymousRoles', 'must be an array of strings');
  const max = config.maxCredentialBytes;
  if (max !== undefined && (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 64))
    throw new SecurityConfigError('$.maxCredentialBytes', 'must be an integer >= 64');
  if (config.apiKeys !== undefined) {
    if (!Array.isArray(config.apiKeys))
      throw new SecurityConfigError('$.apiKeys', 'must be an array');
    const ids = new Set<string>();
    config.apiKeys.forEach((entry: unknown, i) => {
      const path = `$.apiKeys[${i}]`;
      if (typeof entry !== 'object' || entry === null)
        throw new SecurityConfigError(path, 'must be an object');
      const key = entry as Record<string, unknown>;
      if (typeof key.id !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(key.id))
        throw new SecurityConfigError(`${path}.id`, 'must be 1-64 letters, digits or "-"');
      if (ids.has(key.id)) throw new SecurityConfigError(`${path}.id`, 'is used twice');
      ids.add(key.id);
      if (!isApiKeyHash(key.hash))
        throw new SecurityConfigError(
          `${path}.hash`,
          'must be "sha256:<64 hex digits>" (never the key itself)',
        );
      if (!isStringArray(key.roles))
        throw new SecurityConfigError(`${path}.roles`, 'must be an array of strings');
      if (key.tenant !== undefined) assertTenantId(key.tenant, `${path}.tenant`);
    });
  }
  if (config.jwt !== undefined && (typeof config.jwt !== 'object' || config.jwt === null))
    throw new SecurityConfigError('$.jwt', 'must be an object');
  if (config.rules !== undefined && !Array.isArray(config.rules))
    throw new SecurityConfigError('$.rules', 'must be an array');
  return value;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
