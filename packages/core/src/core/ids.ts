import { v7 as uuidv7, validate as uuidValidate } from 'uuid';

/**
 * A new UUIDv7 (RFC 9562): a 48-bit millisecond timestamp, then a counter seeded at random each
 * millisecond, then random bits. Within one process ids are strictly increasing, also within a
 * millisecond and when the clock steps back, so ids of events written together sort together
 * and index well.
 *
 * @example
 * ```ts
 * const id = newId(); // '01933b6e-...'
 * ```
 */
export function newId(): string {
  return uuidv7();
}

/** True when `value` is a UUID string (any version) in canonical 8-4-4-4-12 form. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && uuidValidate(value);
}
