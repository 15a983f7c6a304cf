import type { Clock } from '../core/clock.js';
import type { RecordedEvent } from '../core/envelope.js';
import type { TransactionalEventStore } from '../store/event-store.js';
import { assertStreamName } from '../store/validation.js';
import type { AccessGuard, GuardRequest, Permission, Principal } from './access-guard.js';
import { AccessRules, type AccessDecision } from './access-rules.js';
import { apiKeyId, apiKeyMatches, hashApiKey } from './api-keys.js';
import { JwtVerifier } from './jwt-verifier.js';
import { checkSecurityConfig, type ApiKeyConfig, type SecurityConfig } from './security-config.js';
import {
  AuthenticationError,
  ForbiddenError,
  SecurityErrorCode,
  TenantForbiddenError,
} from './security-errors.js';
import { tenantScopedStore } from './tenant-scoped-store.js';
import { belongsToTenant, tenantPrefix } from './tenants.js';

/** Where the guard reports denials and failed logins (pino's shape). */
export interface SecurityLogger {
  warn(object: Record<string, unknown>, message: string): void;
}

/** One refused check, as given to {@link SecurityGuard.onDenial} listeners. */
export interface Denial {
  /** The caller's id, or `undefined` when anonymous. */
  principal: string | undefined;
  permission: Permission;
  stream: string;
  reason: Exclude<AccessDecision['reason'], 'allowed'>;
}

/** Counts of refusals since the guard was made. */
export interface DenialCounts {
  /** Refused `can` checks (routes and filtered events alike). */
  total: number;
  byPermission: Record<Permission, number>;
  /** Refused authentications, by error code. */
  authenticationFailures: Record<string, number>;
}

/** Options of {@link createAccessGuard}. */
export interface AccessGuardOptions {
  /** Source of "now" for token expiry. Default: the system clock. */
  clock?: Clock;
  /** Where denials and failed authentications are logged: ids and stream names, never secrets. */
  logger?: SecurityLogger;
}

/** An {@link AccessGuard} with counters and helpers for the edges that use it. */
export interface SecurityGuard extends AccessGuard {
  /** Throws {@link ForbiddenError} or {@link TenantForbiddenError} unless `can` allows. */
  assert(principal: Principal | undefined, permission: Permission, stream: string): void;
  /**
   * Whether `principal` may see `event`: `can(read)` on its stream and, for a caller bound to
   * a tenant, the event's `metadata.tenant` too. Use it to filter `/all` and subscriptions.
   */
  canRead(principal: Principal | undefined, event: RecordedEvent): boolean;
  /** The store as `principal` may use it: scoped to its tenant when it has one. */
  storeFor(
    principal: Principal | undefined,
    store: TransactionalEventStore,
  ): TransactionalEventStore;
  /** Counts of refusals so far (a snapshot). */
  denials(): DenialCounts;
  /** Calls `listener` on every refused check (e.g. to feed a metrics counter); returns an unsubscribe. */
  onDenial(listener: (denial: Denial) => void): () => void;
}

const DEFAULT_MAX_CREDENTIAL_BYTES = 8192;

/** Names of the whole store in `admin` checks (the server uses `$admin`). */
const ADMIN_RESOURCES: ReadonlySet<string> = new Set(['', '$admin']);

/**
 * Makes the guard the server calls on every request: authenticates API keys
 * (`Authorization: ApiKey <key>`, `X-Api-Key: <key>`, or a `Bearer` token starting `cwk_`)
 * and JWTs (`Authorization: Bearer <jwt>`), and decides access with the configured rules
 * (deny wins, default deny) and tenant binding.
 *
 * @throws {SecurityConfigError} when the configuration is unusable.
 * @example
 * ```ts
 * const guard = createAccessGuard(loadSecurityConfig('./security.json'), { logger });
 * const principal = await guard.authenticate({ headers: request.headers });
 * guard.assert(principal, 'write', 'order-42');
 * ```
 */
export function createAccessGuard(
  config: SecurityConfig,
  options: AccessGuardOptions = {},
): SecurityGuard {
  checkSecurityConfig(config);
  const rules = new AccessRules(config.rules ?? []);
  const jwt = config.jwt ? new JwtVerifier(config.jwt, options) : undefined;
  const keys = new Map<string, ApiKeyConfig>((config.apiKeys ?? []).map((k) => [k.id, k]));
  const anonymousRoles = config.allowAnonymous ? (config.anonymousRoles ?? []) : [];
  const maxBytes = config.maxCredentialBytes ?? DEFAULT_MAX_CREDENTIAL_BYTES;
  const logger = options.logger;
  const listeners = new Set<(denial: Denial) => void>();
  const counts: DenialCounts = {
    total: 0,
    byPermission: { read: 0, write: 0, delete: 0, admin: 0 },
    authenticationFailures: {},
  };

  const fail = (error: AuthenticationError, remoteAddress: string | undefined): never => {
    counts.authenticationFailures[error.code] =
      (counts.authenticationFailures[error.code] ?? 0) + 1;
    logger?.warn({ code: error.code, remoteAddress }, 'authentication refused');
    throw error;
  };

  const byApiKey = (key: string): Principal => {
    const id = apiKeyId(key);
    const entry = id === undefined ? undefined : keys.get(id);
    if (!entry) {
      // Hash anyway so an unknown id costs about what a known one does.
      hashApiKey(key);
      throw new AuthenticationError(SecurityErrorCode.AUTH_INVALID, 'The API key is not valid');
    }
    if (!apiKeyMatches(key, entry.hash))
      throw new AuthenticationError(SecurityErrorCode.AUTH_INVALID, 'The API key is not valid');
    return { id: entry.id, roles: [...entry.roles], tenant: entry.tenant };
  };

  const decide = (
    principal: Principal | undefined,
    permission: Permission,
    stream: string,
  ): AccessDecision => {
    // '' and '$admin' stand for "the whole store" in admin checks (projections, parked events,
    // sagas, schemas, metrics): no stream can have those names.
    if (!(permission === 'admin' && ADMIN_RESOURCES.has(stream))) {
      try {
        assertStreamName(stream);
      } catch {
        return { allowed: false, reason: 'invalid-stream' };
      }
    }
    if (principal?.tenant !== undefined && !stream.startsWith(tenantPrefix(principal.tenant)))
      return { allowed: false, reason: 'tenant' };
    return rules.decide(principal, permission, stream, anonymousRoles);
  };

  const refuse = (
    principal: Principal | undefined,
    permission: Permission,
    stream: string,
    reason: Denial['reason'],
  ): false => {
    counts.total += 1;
    if (permission in counts.byPermission) counts.byPermission[permission] += 1;
    const denial: Denial = {
      principal: principal?.id,
      permission,
      stream: typeof stream === 'string' ? stream.slice(0, 200) : String(stream),
      reason,
    };
    logger?.warn({ ...denial }, 'access denied');
    for (const listener of listeners) {
      try {
        listener(denial);
      } catch {
        // A failing metrics hook must not turn a refusal into a crash.
      }
    }
    return false;
  };

  const can = (principal: Principal | undefined, permission: Permission, stream: string) => {
    const decision = decide(principal, permission, stream);
    if (decision.allowed) return true;
    return refuse(principal, permission, stream, decision.reason as Denial['reason']);
  };

  return {
    authenticate(request: GuardRequest): Promise<Principal | undefined> {
      return new Promise<Principal | undefined>((resolve) => {
        const headers = request.headers ?? {};
        const authorization = single(headers.authorization, 'Authorization', maxBytes);
        const apiKeyHeader = single(headers['x-api-key'], 'X-Api-Key', maxBytes);
        if (authorization !== undefined && apiKeyHeader !== undefined)
          throw new AuthenticationError(
            SecurityErrorCode.AUTH_INVALID,
            'Give one credential, not both Authorization and X-Api-Key',
          );
        if (apiKeyHeader !== undefined) return resolve(byApiKey(apiKeyHeader.trim()));
        if (authorization === undefined) {
          if (config.allowAnonymous) return resolve(undefined);
          throw new AuthenticationError(SecurityErrorCode.AUTH_MISSING, 'Credentials are required');
        }
        const match = /^(Bearer|ApiKey)\s+(\S+)\s*$/i.exec(authorization);
        if (!match)
          throw new AuthenticationError(
            SecurityErrorCode.AUTH_INVALID,
            'The Authorization header must be "Bearer <token>" or "ApiKey <key>"',
          );
        const scheme = (match[1] as string).toLowerCase();
        const credential = match[2] as string;
        if (scheme === 'apikey' || credential.startsWith('cwk_'))
          return resolve(byApiKey(credential));
        if (!jwt)
          throw new AuthenticationError(
            SecurityErrorCode.AUTH_INVALID,
            'Bearer tokens are not accepted here',
          );
        resolve(jwt.verify(credential));
      }).catch((error: unknown) => {
        if (error instanceof AuthenticationError) return fail(error, request.remoteAddress);
        throw error;
      });
    },
    can,
    assert(principal, permission, stream) {
      if (can(principal, permission, stream)) return;
      const decision = decide(principal, permission, stream);
      if (decision.reason === 'tenant' && principal?.tenant !== undefined)
        throw new TenantForbiddenError(
          principal.tenant,
          stream,
          'it belongs to another tenant or to none',
        );
      throw new ForbiddenError(
        principal?.id,
        permission,
        typeof stream === 'string' ? stream : String(stream),
      );
    },
    canRead(principal, event) {
      if (principal?.tenant !== undefined && !belongsToTenant(event, principal.tenant))
        return refuse(principal, 'read', event.stream, 'tenant');
      return can(principal, 'read', event.stream);
    },
    storeFor(principal, store) {
      return principal?.tenant !== undefined ? tenantScopedStore(store, principal.tenant) : store;
    },
    denials() {
      return {
        total: counts.total,
        byPermission: { ...counts.byPermission },
        authenticationFailures: { ...counts.authenticationFailures },
      };
    },
    onDenial(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** One header value, refusing repeated or oversized ones. */
function single(
  value: string | string[] | undefined,
  name: string,
  maxBytes: number,
): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    if (value.length !== 1)
      throw new AuthenticationError(SecurityErrorCode.AUTH_INVALID, `Give the ${name} header once`);
    value = value[0];
  }
  if (typeof value !== 'string')
    throw new AuthenticationError(
      SecurityErrorCode.AUTH_INVALID,
      `The ${name} header is malformed`,
    );
  if (Buffer.byteLength(value, 'utf8') > maxBytes)
    throw new AuthenticationError(
      SecurityErrorCode.AUTH_HEADER_TOO_LARGE,
      `The ${name} header is larger than ${maxBytes} bytes`,
    );
  return value;
}
