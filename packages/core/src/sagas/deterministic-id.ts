import { hash } from 'node:crypto';

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
  let name = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    name += `${i === 0 ? '' : '|'}${part.length}:${part}`;
  }
  // RFC 9562 §5.5 by hand (SHA-1 of namespace and name, version and variant bits set): the
  // same ids as `uuid`'s v5, in one hash call and one hex string, on every saga step.
  const input = Buffer.allocUnsafe(NAMESPACE_BYTES.length + Buffer.byteLength(name, 'utf8'));
  NAMESPACE_BYTES.copy(input, 0);
  input.write(name, NAMESPACE_BYTES.length, 'utf8');
  const hex = hash('sha1', input, 'hex');
  const variant = VARIANT_NIBBLE[Number.parseInt(hex.charAt(16), 16)] as string;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The RFC variant's high nibble (10xx) for each nibble the hash gave: its two low bits kept. */
const VARIANT_NIBBLE = '89ab89ab89ab89ab';
