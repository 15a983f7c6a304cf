import type { RecordedEvent } from '../core/envelope.js';
import { SecurityConfigError } from './security-errors.js';

/**
 * Separates a tenant id from the rest of a stream name: tenant `acme`'s streams are named
 * `acme:<stream>` (e.g. `acme:order-42`). Tenant ids cannot contain it, so a stream belongs
 * to at most one tenant. (Not `/`: stream names travel in URL paths.)
 */
export const TENANT_SEPARATOR = ':';

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** True when `tenant` is a usable tenant id: 1-64 letters, digits, `_` or `-`, not starting with `_`/`-`. */
export function isTenantId(tenant: unknown): tenant is string {
  return typeof tenant === 'string' && TENANT_ID.test(tenant);
}

/** Throws {@link SecurityConfigError} unless `tenant` is a usable tenant id. */
export function assertTenantId(tenant: unknown, path = 'tenant'): asserts tenant is string {
  if (!isTenantId(tenant))
    throw new SecurityConfigError(
      path,
      'must be 1-64 letters, digits, "_" or "-", starting with a letter or digit',
    );
}

/**
 * The name of `stream` inside `tenant`'s namespace.
 *
 * @example
 * ```ts
 * tenantStream('acme', 'order-42'); // 'acme:order-42'
 * ```
 */
export function tenantStream(tenant: string, stream: string): string {
  assertTenantId(tenant);
  return `${tenant}${TENANT_SEPARATOR}${stream}`;
}

/** The prefix every stream of `tenant` starts with. */
export function tenantPrefix(tenant: string): string {
  return `${tenant}${TENANT_SEPARATOR}`;
}

/** The tenant a stream name belongs to, or `undefined` for a stream outside every tenant. */
export function tenantOfStream(stream: string): string | undefined {
  const cut = stream.indexOf(TENANT_SEPARATOR);
  if (cut <= 0) return undefined;
  const tenant = stream.slice(0, cut);
  return isTenantId(tenant) ? tenant : undefined;
}

/**
 * True when `event` belongs to `tenant`: its stream is in the tenant's namespace **and** its
 * `metadata.tenant`, when present, names the same tenant. Both must hold, so neither a
 * hand-written stream name nor a forged `metadata.tenant` lets an event cross tenants: an
 * event in `acme:` stamped `globex` belongs to neither. An event without `metadata.tenant`
 * (written into the namespace by a caller bound to no tenant) belongs to the namespace's
 * tenant. Tenant-scoped stores, the guard's `canRead` and the HTTP server all decide with it.
 */
export function belongsToTenant(event: RecordedEvent, tenant: string): boolean {
  return event.stream.startsWith(tenantPrefix(tenant)) && tenantMetadataMatches(event, tenant);
}

/** True when `event` carries no `metadata.tenant`, or carries `tenant`. */
export function tenantMetadataMatches(event: RecordedEvent, tenant: string): boolean {
  const stamped: unknown = event.metadata.tenant;
  return stamped === undefined || stamped === tenant;
}

/**
 * A filter for subscriptions and projections scoped to one tenant: wrap a handler with it
 * to see only that tenant's events.
 *
 * @example
 * ```ts
 * const onlyAcme = tenantFilter('acme');
 * apply: (event, rm) => { if (!onlyAcme(event)) return; ... }
 * ```
 */
export function tenantFilter(tenant: string): (event: RecordedEvent) => boolean {
  assertTenantId(tenant);
  return (event) => belongsToTenant(event, tenant);
}
