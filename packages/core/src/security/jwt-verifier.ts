import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
} from 'jose';
// The key set's type appears in this module's declarations, which CommonJS consumers read
// under node16 resolution too: resolved as an import, since jose is ESM-only.
import type { JSONWebKeySet } from 'jose' with { 'resolution-mode': 'import' };
import { type Clock, systemClock } from '../core/clock.js';
import type { Principal } from './access-guard.js';
import {
  jwtConfigSchema,
  parseSecurityConfigPart,
  type JWT_ALGORITHMS,
} from './security-config-schema.js';
import { AuthenticationError, SecurityConfigError, SecurityErrorCode } from './security-errors.js';
import { isTenantId } from './tenants.js';

/** Signature algorithms accepted for JWTs. */
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** Default allowed clock skew, in seconds, for `exp`, `nbf` and `iat`. */
export const DEFAULT_JWT_CLOCK_TOLERANCE_SECONDS = 30;

/**
 * How JWTs are checked. Exactly one key source: `secret` (HS256), `publicKey` (PEM, RS256 or
 * EdDSA), `jwks` (an inline key set), `jwksFile` (a JSON key set on disk) or `jwksUrl`
 * (fetched and cached by `jose`).
 */
export interface JwtConfig {
  /** Accepted algorithms; never `none`. */
  algorithms: readonly JwtAlgorithm[];
  /** HS256 shared secret, at least 32 bytes of UTF-8. */
  secret?: string;
  /** SPKI PEM public key for RS256/EdDSA. */
  publicKey?: string;
  jwks?: JSONWebKeySet;
  jwksFile?: string;
  jwksUrl?: string;
  /** Required issuer(s) (`iss`). */
  issuer?: string | readonly string[];
  /** Required audience(s) (`aud`). Mandatory: a token made for another service must not work here. */
  audience: string | readonly string[];
  /**
   * Allowed clock skew in seconds (0-600) for `exp`, `nbf` and `iat`: a token expired longer
   * ago than this, or issued or valid-from further in the future, is refused. Default 30.
   */
  clockToleranceSeconds?: number;
  /** Refuse tokens issued longer ago than this (needs `iat`). */
  maxTokenAgeSeconds?: number;
  /**
   * Refuse tokens without an `exp` claim (such a token would never expire). Default true; set
   * `false` only for an issuer that cannot set `exp`, ideally with `maxTokenAgeSeconds`.
   */
  requireExp?: boolean;
  /** Claim holding the roles (array of strings, or a space-separated string). Default `roles`. */
  rolesClaim?: string;
  /** Claim holding the tenant id. Default `tenant`. */
  tenantClaim?: string;
}

type KeySource = Parameters<typeof jwtVerify>[1];

/** Checks bearer tokens and turns their claims into a {@link Principal}. */
export class JwtVerifier {
  private readonly key: KeySource;
  private readonly clock: Clock;

  constructor(
    private readonly config: JwtConfig,
    options: { clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    parseSecurityConfigPart(jwtConfigSchema, config, '$.jwt');
    this.key = keySource(config);
  }

  /**
   * Verifies `token` and returns its principal.
   *
   * @throws {AuthenticationError} `AUTH_EXPIRED` (expired, not yet valid, issued in the
   *   future, too old), `AUTH_WRONG_AUDIENCE`, `AUTH_WRONG_ISSUER` or `AUTH_INVALID` (forged,
   *   malformed, wrong algorithm, no `sub`, no `exp` unless `requireExp: false`).
   */
  async verify(token: string): Promise<Principal> {
    const now = new Date(this.clock.now());
    const tolerance = this.config.clockToleranceSeconds ?? DEFAULT_JWT_CLOCK_TOLERANCE_SECONDS;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key as never, {
        algorithms: [...this.config.algorithms],
        audience: this.config.audience as string | string[],
        ...(this.config.issuer !== undefined
          ? { issuer: this.config.issuer as string | string[] }
          : {}),
        clockTolerance: tolerance,
        ...(this.config.maxTokenAgeSeconds !== undefined
          ? { maxTokenAge: this.config.maxTokenAgeSeconds }
          : {}),
        ...(this.config.requireExp === false ? {} : { requiredClaims: ['exp'] }),
        currentDate: now,
      }));
    } catch (error) {
      throw translate(error);
    }
    // jose checks a future `iat` only together with `maxTokenAge`; a token claiming to be
    // issued later than now (beyond the skew) is refused whatever the configuration.
    if (payload.iat !== undefined && payload.iat > now.getTime() / 1000 + tolerance)
      throw new AuthenticationError(
        SecurityErrorCode.AUTH_EXPIRED,
        'The token is outside its validity period (issued in the future)',
      );
    return this.principalOf(payload);
  }

  private principalOf(payload: JWTPayload): Principal {
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw new AuthenticationError(
        SecurityErrorCode.AUTH_INVALID,
        'The token has no subject (sub)',
      );
    const rawRoles = payload[this.config.rolesClaim ?? 'roles'];
    let roles: string[] = [];
    if (typeof rawRoles === 'string') roles = rawRoles.split(' ').filter((r) => r !== '');
    else if (Array.isArray(rawRoles)) {
      if (rawRoles.some((r) => typeof r !== 'string'))
        throw new AuthenticationError(
          SecurityErrorCode.AUTH_INVALID,
          "The token's roles must be strings",
        );
      roles = rawRoles as string[];
    } else if (rawRoles !== undefined)
      throw new AuthenticationError(
        SecurityErrorCode.AUTH_INVALID,
        "The token's roles claim is malformed",
      );
    const tenant = payload[this.config.tenantClaim ?? 'tenant'];
    if (tenant !== undefined && !isTenantId(tenant))
      throw new AuthenticationError(
        SecurityErrorCode.AUTH_INVALID,
        "The token's tenant claim is malformed",
      );
    return { id: payload.sub, roles, tenant };
  }
}

function translate(error: unknown): AuthenticationError {
  if (error instanceof joseErrors.JWTExpired)
    return new AuthenticationError(SecurityErrorCode.AUTH_EXPIRED, 'The token has expired', {
      cause: error,
    });
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'aud')
      return new AuthenticationError(
        SecurityErrorCode.AUTH_WRONG_AUDIENCE,
        'The token is for another audience',
        { cause: error },
      );
    if (error.claim === 'iss')
      return new AuthenticationError(
        SecurityErrorCode.AUTH_WRONG_ISSUER,
        'The token is from an untrusted issuer',
        { cause: error },
      );
    if (error.claim === 'exp' && error.reason === 'missing')
      return new AuthenticationError(
        SecurityErrorCode.AUTH_INVALID,
        'The token has no expiry (exp)',
        { cause: error },
      );
    if (error.claim === 'nbf' || error.claim === 'iat')
      return new AuthenticationError(
        SecurityErrorCode.AUTH_EXPIRED,
        'The token is outside its validity period',
        { cause: error },
      );
  }
  // Forged signatures, unknown keys, `alg: none`, malformed tokens: all the same to a caller.
  return new AuthenticationError(SecurityErrorCode.AUTH_INVALID, 'The token is not valid', {
    cause: error,
  });
}

function keySource(config: JwtConfig): KeySource {
  // The schema has checked there is exactly one source and that a secret is long enough.
  const given = (['secret', 'publicKey', 'jwks', 'jwksFile', 'jwksUrl'] as const).filter(
    (k) => config[k] !== undefined,
  );
  try {
    if (config.secret !== undefined) return new TextEncoder().encode(config.secret);
    if (config.publicKey !== undefined) {
      const key: KeyObject = createPublicKey(config.publicKey);
      return key;
    }
    if (config.jwks !== undefined) return createLocalJWKSet(config.jwks);
    if (config.jwksFile !== undefined)
      return createLocalJWKSet(JSON.parse(readFileSync(config.jwksFile, 'utf8')) as JSONWebKeySet);
    return createRemoteJWKSet(new URL(config.jwksUrl as string));
  } catch (error) {
    throw new SecurityConfigError(
      `$.jwt.${given[0] ?? 'key'}`,
      error instanceof Error ? error.message : String(error),
      { cause: error },
    );
  }
}
