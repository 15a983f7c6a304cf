import { createHash } from 'node:crypto';

/** The UUID namespace of ids Causeway derives (commands of sagas, events of commands, timers). */
export const CAUSEWAY_ID_NAMESPACE = '9b3c4f0e-2d41-5a7e-8c19-6f0d2e7b4a55';

const NAMESPACE_BYTES = Buffer.from(CAUSEWAY_ID_NAMESPACE.replaceAll('-', ''), 'hex');

/**
 * A UUID (v5) derived from `parts`: the same parts always give the same id. What makes a
 * re-run of the same step produce the same command, timer and event ids, so that a repeat is
 * recognised as one.
 *
 * @example
 * ```ts
 * const commandId = deterministicId('fulfilment', 'o-42', eventId, '0');
 * ```
 */
export function deterministicId(...parts: readonly string[]): string {
  const name = parts.map((p) => `${p.length}:${p}`).join('|');
  // RFC 9562 §5.5 by hand (SHA-1 of namespace and name, version and variant bits set): the
  // same ids as `uuid`'s v5, without its per-call byte conversions, on every saga step.
  const hash = createHash('sha1').update(NAMESPACE_BYTES).update(name, 'utf8').digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
