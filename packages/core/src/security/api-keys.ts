import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SecurityConfigError } from './security-errors.js';

/** Prefix of every Causeway API key, so a leaked one is recognisable by secret scanners. */
export const API_KEY_PREFIX = 'cwk_';

const KEY_ID = /^[A-Za-z0-9-]{1,64}$/;
const HASH = /^sha256:[0-9a-f]{64}$/;

/** A freshly generated API key: give `key` to the client once, store only `hash`. */
export interface GeneratedApiKey {
  /** The key id, also the principal id of callers using it. Not secret. */
  id: string;
  /** The secret key, `cwk_<id>_<43 characters of base64url>`: 256 random bits. */
  key: string;
  /** What the server stores: `sha256:<hex>` of the whole key. */
  hash: string;
}

/**
 * Makes a new API key with 256 bits of randomness. Because the secret part is random and
 * long, one SHA-256 is enough to store it safely (no salt or slow hash is needed: nothing
 * about it can be guessed); the server compares hashes in constant time.
 *
 * @example
 * ```ts
 * const { key, hash } = generateApiKey('ci-bot');
 * // config: { apiKeys: [{ id: 'ci-bot', hash, roles: ['writer'] }] }; give `key` to the bot.
 * ```
 */
export function generateApiKey(id: string): GeneratedApiKey {
  if (typeof id !== 'string' || !KEY_ID.test(id))
    throw new SecurityConfigError('apiKey.id', 'must be 1-64 letters, digits or "-"');
  const key = `${API_KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
  return { id, key, hash: hashApiKey(key) };
}

/** The stored form of a key: `sha256:<hex>`. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** True when `hash` has the stored form ({@link hashApiKey}). */
export function isApiKeyHash(hash: unknown): hash is string {
  return typeof hash === 'string' && HASH.test(hash);
}

/**
 * The key id a presented key claims (`cwk_<id>_...`), or `undefined` when it is not shaped
 * like a Causeway key. The id only selects which stored hash to compare with.
 */
export function apiKeyId(key: string): string | undefined {
  if (!key.startsWith(API_KEY_PREFIX)) return undefined;
  const rest = key.slice(API_KEY_PREFIX.length);
  // Ids have no "_"; the secret (base64url) may.
  const cut = rest.indexOf('_');
  if (cut <= 0) return undefined;
  const id = rest.slice(0, cut);
  return KEY_ID.test(id) ? id : undefined;
}

/** Compares a presented key with a stored hash in constant time. */
export function apiKeyMatches(key: string, storedHash: string): boolean {
  const presented = Buffer.from(hashApiKey(key), 'utf8');
  const stored = Buffer.from(storedHash, 'utf8');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
