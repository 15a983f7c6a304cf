/**
 * The seam between the HTTP server (and other edges) and the security module: who is calling,
 * and may they do this to that stream. The server calls a guard on every route; the security
 * module provides the implementations (API keys, JWTs, access rules, tenants).
 */

import type { RecordedEvent } from '../core/envelope.js';
import type { TransactionalEventStore } from '../store/event-store.js';

/** What a caller may do to a stream. `admin` covers projections, parked events, sagas, schemas. */
export type Permission = 'read' | 'write' | 'delete' | 'admin';

/** An authenticated caller. */
export interface Principal {
  /** Stable id of the caller (API key id, JWT `sub`). Never a secret. */
  id: string;
  roles: readonly string[];
  /** Set when the caller is bound to one tenant: it sees and writes only that tenant's data. */
  tenant?: string | undefined;
}

/** The parts of a request a guard may look at. */
export interface GuardRequest {
  headers: Readonly<Record<string, string | string[] | undefined>>;
  remoteAddress?: string | undefined;
}

/** Decides who is calling and what they may do. */
export interface AccessGuard {
  /**
   * Identifies the caller. Resolves `undefined` for an anonymous request (no credentials);
   * rejects with a `CausewayError` whose code says why (missing, expired, forged, wrong
   * audience) when credentials are present but not acceptable, or when anonymous access is
   * not allowed.
   */
  authenticate(request: GuardRequest): Promise<Principal | undefined>;
  /** May `principal` (undefined: anonymous) do `permission` on `stream`? */
  can(principal: Principal | undefined, permission: Permission, stream: string): boolean;
  /**
   * Optional: may `principal` see this event? Stricter than `can(read, event.stream)` for a
   * caller bound to a tenant (the event's `metadata.tenant` must match too). Edges filtering
   * the global log or subscriptions use it when present.
   */
  canRead?(principal: Principal | undefined, event: RecordedEvent): boolean;
  /**
   * Optional: the store as `principal` may use it (for a caller bound to a tenant, a view that
   * stamps `metadata.tenant` on appends and refuses other tenants' streams). Edges append
   * through it when present.
   */
  storeFor?(
    principal: Principal | undefined,
    store: TransactionalEventStore,
  ): TransactionalEventStore;
}

/** A guard that lets everyone do everything: the default when no security is configured. */
export const openAccess: AccessGuard = {
  authenticate: () => Promise.resolve(undefined),
  can: () => true,
};
