import { z } from 'zod';
import type { Permission } from './access-guard.js';
import { isApiKeyHash } from './api-keys.js';
import { SecurityConfigError } from './security-errors.js';
import { isTenantId } from './tenants.js';

/** Signature algorithms accepted for JWTs (`none` is never one of them). */
export const JWT_ALGORITHMS = ['HS256', 'RS256', 'EdDSA'] as const;

const PERMISSION_NAMES = [
  'read',
  'write',
  'delete',
  'admin',
] as const satisfies readonly Permission[];

const KEY_SOURCES = ['secret', 'publicKey', 'jwks', 'jwksFile', 'jwksUrl'] as const;

/**
 * An object schema that refuses keys it does not know, at whatever depth it is used: in a
 * security configuration a misspelt key would otherwise read as "no such restriction".
 */
function strict<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown setting (known here: ${known})` : undefined,
  });
}

const name = z.string().min(1, 'must not be empty');
const oneOrMore = z.union([name, z.array(name).min(1, 'must list at least one')]);

/** One access rule: roles, the streams it names, and what it allows or denies there. */
export const accessRuleSchema = strict({
  roles: z.array(name).min(1, 'must list at least one role'),
  prefix: z.string().optional(),
  category: name.optional(),
  allow: z.array(z.enum(PERMISSION_NAMES)).optional(),
  deny: z.array(z.enum(PERMISSION_NAMES)).optional(),
}).superRefine((rule, ctx) => {
  if (rule.prefix === undefined && rule.category === undefined)
    ctx.addIssue({
      code: 'custom',
      message: 'names no streams: give "prefix" (use "" or "*" for every stream) or "category"',
    });
  if (rule.prefix !== undefined && rule.category !== undefined)
    ctx.addIssue({ code: 'custom', message: 'give either prefix or category, not both' });
  if ((rule.allow ?? []).length === 0 && (rule.deny ?? []).length === 0)
    ctx.addIssue({ code: 'custom', message: 'allows and denies nothing' });
});

/** How JWTs are checked; see `JwtConfig`. */
export const jwtConfigSchema = strict({
  algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1, 'must list at least one algorithm'),
  secret: z.string().optional(),
  publicKey: name.optional(),
  // The key set is the identity provider's document: only its shape is ours to check.
  jwks: z.looseObject({ keys: z.array(z.looseObject({})) }).optional(),
  jwksFile: name.optional(),
  // Keys fetched over plain HTTP could be swapped on the way, letting anyone mint tokens:
  // https only, but for an identity provider on this machine.
  jwksUrl: z
    .url({ protocol: /^https?$/ })
    .refine(
      (url) => url.startsWith('https:') || isLoopbackUrl(url),
      'must be an https URL (plain http only for a loopback host)',
    )
    .optional(),
  issuer: oneOrMore.optional(),
  audience: oneOrMore,
  clockToleranceSeconds: z.number().min(0).max(600).optional(),
  maxTokenAgeSeconds: z.number().positive().optional(),
  requireExp: z.boolean().optional(),
  rolesClaim: name.optional(),
  tenantClaim: name.optional(),
}).superRefine((jwt, ctx) => {
  const given = KEY_SOURCES.filter((k) => jwt[k] !== undefined);
  if (given.length !== 1)
    ctx.addIssue({
      code: 'custom',
      message: `give exactly one of ${KEY_SOURCES.join(', ')}`,
    });
  if (jwt.secret !== undefined && Buffer.byteLength(jwt.secret, 'utf8') < 32)
    ctx.addIssue({ code: 'custom', path: ['secret'], message: 'must be at least 32 bytes' });
});

const apiKeySchema = strict({
  id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be 1-64 letters, digits or "-"'),
  // The message never echoes the value: it may be the key itself, pasted by mistake.
  hash: z.custom<string>(isApiKeyHash, 'must be "sha256:<64 hex digits>" (never the key itself)'),
  roles: z.array(name),
  tenant: z
    .custom<string>(
      isTenantId,
      'must be 1-64 letters, digits, "_" or "-", starting with a letter or digit',
    )
    .optional(),
});

/** The whole security configuration, strict at every level. */
export const securityConfigSchema = strict({
  allowAnonymous: z.boolean().optional(),
  anonymousRoles: z.array(name).optional(),
  apiKeys: z.array(apiKeySchema).optional(),
  jwt: jwtConfigSchema.optional(),
  rules: z.array(accessRuleSchema).optional(),
  maxCredentialBytes: z.int().min(64).optional(),
}).superRefine((config, ctx) => {
  const ids = new Set<string>();
  (config.apiKeys ?? []).forEach((key, i) => {
    if (ids.has(key.id))
      ctx.addIssue({ code: 'custom', path: ['apiKeys', i, 'id'], message: 'is used twice' });
    ids.add(key.id);
  });
  if (config.anonymousRoles !== undefined && config.allowAnonymous !== true)
    ctx.addIssue({
      code: 'custom',
      path: ['anonymousRoles'],
      message: 'has no effect without "allowAnonymous": true',
    });
});

/**
 * Checks `value` against `schema` and returns it typed, or throws a
 * {@link SecurityConfigError} whose `path` is the JSON path of the first problem (`$.rules[0].prefx`),
 * with `basePath` as the path of `value` itself.
 */
export function parseSecurityConfigPart<T>(
  schema: z.ZodType<T>,
  value: unknown,
  basePath = '$',
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const [first, ...others] = result.error.issues.map((issue) => ({
    path: jsonPath(basePath, [
      ...issue.path,
      ...(issue.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : []),
    ]),
    message: issue.message,
  }));
  if (first === undefined) throw new SecurityConfigError(basePath, 'is not valid');
  const more =
    others.length === 0
      ? ''
      : ` (and ${others.length} more: ${others.map((o) => o.path).join(', ')})`;
  throw new SecurityConfigError(first.path, `${first.message}${more}`, { cause: result.error });
}

function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function jsonPath(base: string, path: readonly PropertyKey[]): string {
  let out = base;
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][\w$]*$/.test(segment))
      out += `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}
