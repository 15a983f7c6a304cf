import { v5 as uuidv5 } from 'uuid';

/** The UUID namespace of ids Causeway derives (commands of sagas, events of commands, timers). */
export const CAUSEWAY_ID_NAMESPACE = '9b3c4f0e-2d41-5a7e-8c19-6f0d2e7b4a55';

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
  return uuidv5(parts.map((p) => `${p.length}:${p}`).join('|'), CAUSEWAY_ID_NAMESPACE);
}
