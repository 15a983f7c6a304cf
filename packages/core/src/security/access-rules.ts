import type { Permission, Principal } from './access-guard.js';
import { z } from 'zod';
import { accessRuleSchema, parseSecurityConfigPart } from './security-config-schema.js';

/** Every permission, in the order they are shown. */
export const PERMISSIONS: readonly Permission[] = ['read', 'write', 'delete', 'admin'];

/** Role matching every authenticated caller (not anonymous ones). */
export const ANY_AUTHENTICATED_ROLE = '*';

/** A rule prefix meaning every stream (as `''` does). */
export const EVERY_STREAM_PREFIX = '*';

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
   * Streams whose name starts with this; `''` or `'*'` means every stream. `{tenant}` is
   * replaced by the caller's tenant (a rule with it never applies to a caller without one).
   * Every rule gives `prefix` or `category`: a rule naming no streams is refused, so "every
   * stream" is always written down, never the result of a misspelt key.
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

  /**
   * @param path JSON path of `rules` in error messages.
   * @throws {SecurityConfigError} for an unknown or misspelt key, a rule naming no streams,
   *   an unknown permission, or a rule that allows and denies nothing.
   */
  constructor(rules: readonly AccessRule[], path = '$.rules') {
    parseSecurityConfigPart(z.array(accessRuleSchema), rules, path);
    this.rules = rules.map(compileRule);
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

/** A rule already checked against `accessRuleSchema`, normalised. */
function compileRule(rule: AccessRule): CompiledRule {
  const prefix = rule.category !== undefined ? `${rule.category}-` : (rule.prefix ?? '');
  return {
    roles: new Set(rule.roles),
    prefix: prefix === EVERY_STREAM_PREFIX ? '' : prefix,
    allow: new Set(rule.allow ?? []),
    deny: new Set(rule.deny ?? []),
  };
}
