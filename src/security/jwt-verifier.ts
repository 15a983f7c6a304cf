import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import type { Principal } from './access-guard.js';
import { AuthenticationError, SecurityConfigError, SecurityErrorCode } from './security-errors.js';
import { isTenantId } from './tenants.js';

/** Signature algorithms accepted for JWTs. */
export type JwtAlgorithm = 'HS256' | 'RS256' | 'EdDSA';

const ALGORITHMS: readonly JwtAlgorithm[] = ['HS256', 'RS256', 'EdDSA'];

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
  /** Allowed clock skew in seconds for `exp`/`nbf`/`iat`. Default 30. */
  clockToleranceSeconds?: number;
  /** Refuse tokens issued longer ago than this (needs `iat`). */
  maxTokenAgeSeconds?: number;
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
    this.key = keySource(config);
    if (
      !Array.isArray(config.algorithms) ||
      config.algorithms.length === 0 ||
      config.algorithms.some((a: unknown) => !ALGORITHMS.includes(a as JwtAlgorithm))
    )
      throw new SecurityConfigError('jwt.algorithms', `must list some of ${ALGORITHMS.join(', ')}`);
    const audiences = typeof config.audience === 'string' ? [config.audience] : config.audience;
    if (
      !Array.isArray(audiences) ||
      audiences.length === 0 ||
      audiences.some((a) => typeof a !== 'string' || a === '')
    )
      throw new SecurityConfigError('jwt.audience', 'is required: a string or an array of strings');
    const tolerance = config.clockToleranceSeconds;
    if (
      tolerance !== undefined &&
      (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > 600)
    )
      throw new SecurityConfigError('jwt.clockToleranceSeconds', 'must be between 0 and 600');
  }

  /**
   * Verifies `token` and returns its principal.
   *
   * @throws {AuthenticationError} `AUTH_EXPIRED`, `AUTH_WRONG_AUDIENCE`, `AUTH_WRONG_ISSUER` or
   *   `AUTH_INVALID` (forged, malformed, wrong algorithm, no `sub`).
   */
  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key as never, {
        algorithms: [...this.config.algorithms],
        audience: this.config.audience as string | string[],
        ...(this.config.issuer !== undefined
          ? { issuer: this.config.issuer as string | string[] }
          : {}),
        clockTolerance: this.config.clockToleranceSeconds ?? 30,
        ...(this.config.maxTokenAgeSeconds !== undefined
          ? { maxTokenAge: this.config.maxTokenAgeSeconds }
          : {}),
        currentDate: new Date(this.clock.now()),
      }));
    } catch (error) {
      throw translate(error);
    }
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
  if (typeof config !== 'object' || config === null)
    throw new SecurityConfigError('jwt', 'must be an object');
  const given = (['secret', 'publicKey', 'jwks', 'jwksFile', 'jwksUrl'] as const).filter(
    (k) => config[k] !== undefined,
  );
  if (given.length !== 1)
    throw new SecurityConfigError(
      'jwt',
      'give exactly one of secret, publicKey, jwks, jwksFile, jwksUrl',
    );
  try {
    if (config.secret !== undefined) {
      const secret = new TextEncoder().encode(config.secret);
      if (secret.length < 32)
        throw new SecurityConfigError('jwt.secret', 'must be at least 32 bytes');
      return secret;
    }
    if (config.publicKey !== undefined) {
      const key: KeyObject = createPublicKey(config.publicKey);
      return key;
    }
    if (config.jwks !== undefined) return createLocalJWKSet(config.jwks);
    if (config.jwksFile !== undefined)
      return createLocalJWKSet(JSON.parse(readFileSync(config.jwksFile, 'utf8')) as JSONWebKeySet);
    return createRemoteJWKSet(new URL(config.jwksUrl as string));
  } catch (error) {
    if (error instanceof SecurityConfigError) throw error;
    throw new SecurityConfigError(
      `jwt.${given[0] ?? 'key'}`,
      error instanceof Error ? error.message : String(error),
      { cause: error },
    );
  }
}
