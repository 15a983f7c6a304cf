import { readFileSync } from 'node:fs';
import type { AccessRule } from './access-rules.js';
import type { JwtConfig } from './jwt-verifier.js';
import { parseSecurityConfigPart, securityConfigSchema } from './security-config-schema.js';
import { SecurityConfigError } from './security-errors.js';

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
 *     { "roles": ["admin"], "prefix": "", "allow": ["read", "write", "delete", "admin"] },
 *     { "roles": ["writer"], "category": "order", "allow": ["read", "write"] },
 *     { "roles": ["*"], "prefix": "audit-", "deny": ["write", "delete"] }
 *   ]
 * }
 * ```
 */
export interface SecurityConfig {
  /** Let requests without credentials through as anonymous callers. Default false. */
  allowAnonymous?: boolean;
  /** Roles of anonymous callers (only with `allowAnonymous`, refused without it). Default none. */
  anonymousRoles?: readonly string[];
  apiKeys?: readonly ApiKeyConfig[];
  jwt?: JwtConfig;
  /** Access rules, evaluated with deny wins (see `AccessRules`). Default: none (deny all). */
  rules?: readonly AccessRule[];
  /** Largest accepted credentials header, in bytes. Default 8,192. */
  maxCredentialBytes?: number;
}

/**
 * Reads a JSON security configuration file and checks it strictly ({@link checkSecurityConfig}).
 * Relative `jwt.jwksFile` paths are taken as given (relative to the working directory).
 *
 * @throws {SecurityConfigError} when the file is missing, not JSON, or has an unknown, misspelt
 *   or malformed setting at any level (the error's `path` says where).
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

/**
 * Checks a whole configuration object, strictly at every level: an unknown or misspelt key
 * anywhere (`rules[].prefx`, `jwt.isuer`, `apiKeys[].tennant`) is refused rather than read as
 * "no such restriction", and so is a rule that names no streams. Returns it typed.
 *
 * @throws {SecurityConfigError} with the JSON path of the first problem (`$.rules[0].prefx`).
 */
export function checkSecurityConfig(value: unknown): SecurityConfig {
  parseSecurityConfigPart(securityConfigSchema, value);
  return value as SecurityConfig;
}
