import type { Permission, Principal } from './access-guard.js';
import { isList } from '../store/forwarding-event-store.js';
import { SecurityConfigError } from './security-errors.js';

/** Every permission, in the order they are shown. */
export const PERMISSIONS: readonly Permission[] = ['read', 'write', 'delete', 'admin'];

/** Role matching every authenticated caller (not anonymous ones). */
export const ANY_AUTHENTICATED_ROLE = '*';

/** Placeholder in a rule's prefix replaced by the caller's tenant. */
export const TENANT_PLACEHOLDER = '{tenant}';

/**
 * One access rule: which roles it concerns, which streams (by name prefix or category), and
 * which permissions it allows or denies there.
 *
 * @example
 * ```ts
 * { roles: ['support'], category: 'customer', allow: ['read'] }          // customer-*
 * { roles: ['*'], prefix: 'audit-', deny: ['write', 'delete'] }          // nobody rewrites audit
 * { roles: ['tenant-user'], prefix: '{tenant}:', allow: ['read', 'write'] }
 * ```
 */
export interface AccessRule {
  /** Roles the rule applies to; `'*'` means every authenticated caller. */
  roles: readonly string[];
  /**
   * Streams whose name starts with this. `''` (or neither `prefix` nor `category`) means
   * every stream. `{tenant}` is replaced by the caller's tenant (a rule with it never applies
   * to a caller without one).
   */
  prefix?: string;
  /** Shorthand for `prefix: '<category>-'`. */
  category?: string;
  allow?: readonly Permission[];
  deny?: readonly Permission[];
}

/** A rule checked and normalised. */
interface CompiledRule {
  roles: ReadonlySet<string>;
  prefix: string;
  allow: ReadonlySet<Permission>;
  deny: ReadonlySet<Permission>;
}

/** Why {@link AccessRules.decide} decided as it did. */
export interface AccessDecision {
  allowed: boolean;
  /** `'deny-rule'`: a matching rule denied; `'no-rule'`: no matching rule allowed. */
  reason: 'allowed' | 'deny-rule' | 'no-rule' | 'tenant' | 'invalid-stream';
}

/**
 * Access rules evaluated with **deny wins**: among the rules that match the caller's roles and
 * the stream, any rule denying the permission refuses it, whatever allows it elsewhere;
 * otherwise some matching rule must allow it; otherwise it is refused (default deny). Deny
 * wins (rather than "most specific wins") so a protective rule such as "nobody deletes
 * `audit-`" cannot be undone by a broader or narrower allow added later.
 */
export class AccessRules {
  private readonly rules: readonly CompiledRule[];

  constructor(rules: readonly AccessRule[], path = 'rules') {
    if (!isList(rules)) throw new SecurityConfigError(path, 'must be an array of rules');
    this.rules = rules.map((rule, i) => compileRule(rule, `${path}[${i}]`));
  }

  /**
   * Decides whether `principal` (undefined: anonymous, whose roles are `anonymousRoles`) may
   * do `permission` on `stream`.
   */
  decide(
    principal: Principal | undefined,
    permission: Permission,
    stream: string,
    anonymousRoles: readonly string[] = [],
  ): AccessDecision {
    const roles = principal ? principal.roles : anonymousRoles;
    let allowed = false;
    for (const rule of this.rules) {
      if (!appliesTo(rule, roles, principal !== undefined)) continue;
      const prefix = resolvePrefix(rule.prefix, principal?.tenant);
      if (prefix === undefined || !stream.startsWith(prefix)) continue;
      if (rule.deny.has(permission)) return { allowed: false, reason: 'deny-rule' };
      if (rule.allow.has(permission)) allowed = true;
    }
    return allowed ? { allowed: true, reason: 'allowed' } : { allowed: false, reason: 'no-rule' };
  }
}

function appliesTo(rule: CompiledRule, roles: readonly string[], authenticated: boolean): boolean {
  if (authenticated && rule.roles.has(ANY_AUTHENTICATED_ROLE)) return true;
  return roles.some((role) => rule.roles.has(role));
}

function resolvePrefix(prefix: string, tenant: string | undefined): string | undefined {
  if (!prefix.includes(TENANT_PLACEHOLDER)) return prefix;
  if (tenant === undefined) return undefined;
  return prefix.split(TENANT_PLACEHOLDER).join(tenant);
}

function compileRule(rule: AccessRule, path: string): CompiledRule {
  if (typeof rule !== 'object' || rule === null)
    throw new SecurityConfigError(path, 'must be an object');
  if (!Array.isArray(rule.roles) || rule.roles.some((r) => typeof r !== 'string' || r === ''))
    throw new SecurityConfigError(`${path}.roles`, 'must be an array of non-empty role names');
  if (rule.prefix !== undefined && rule.category !== undefined)
    throw new SecurityConfigError(path, 'give either prefix or category, not both');
  if (rule.prefix !== undefined && typeof rule.prefix !== 'string')
    throw new SecurityConfigError(`${path}.prefix`, 'must be a string');
  if (rule.category !== undefined && (typeof rule.category !== 'string' || rule.category === ''))
    throw new SecurityConfigError(`${path}.category`, 'must be a non-empty string');
  const allow = permissions(rule.allow, `${path}.allow`);
  const deny = permissions(rule.deny, `${path}.deny`);
  if (allow.size === 0 && deny.size === 0)
    throw new SecurityConfigError(path, 'allows and denies nothing');
  return {
    roles: new Set(rule.roles),
    prefix: rule.category !== undefined ? `${rule.category}-` : (rule.prefix ?? ''),
    allow,
    deny,
  };
}

function permissions(value: unknown, path: string): Set<Permission> {
  if (value === undefined) return new Set();
  if (!Array.isArray(value))
    throw new SecurityConfigError(path, `must be an array of ${PERMISSIONS.join(', ')}`);
  for (const p of value)
    if (!PERMISSIONS.includes(p as Permission))
      throw new SecurityConfigError(path, `unknown permission ${JSON.stringify(p)}`);
  return new Set(value as Permission[]);
}
