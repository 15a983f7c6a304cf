import { randomFillSync } from 'node:crypto';
import { validate as uuidValidate } from 'uuid';

/** Ids whose random bytes one call to the system's random source fetches. */
const POOL_IDS = 256;
/** Random bytes an id takes from the pool: 4 to seed the counter, 6 for the tail. */
const BYTES_PER_ID = 10;
const pool = new Uint8Array(POOL_IDS * BYTES_PER_ID);
/** Next unused offset in {@link pool}; at the end, the pool is refilled. */
let offset = pool.length;
/** Two lowercase hex digits of every byte value, and one of every nibble. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
const NIBBLE = Array.from({ length: 16 }, (_, b) => b.toString(16));
/** Millisecond of the last id, its counter, and its first 15 characters (`tttttttt-tttt-7`). */
let lastMs = -Infinity;
let seq = 0;
let prefix = '';

function setMs(ms: number): void {
  lastMs = ms;
  const hex = ms.toString(16).padStart(12, '0');
  prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7`;
}

/**
 * A new UUIDv7 (RFC 9562): a 48-bit millisecond timestamp, then a 32-bit counter (RFC 9562
 * §6.2, method 1) and 42 random bits. Within one process ids are strictly increasing, also
 * within a millisecond and when the clock steps back, so ids of events written together sort
 * together and index well. The counter starts at a random 31-bit value each millisecond.
 *
 * Random bytes come from the operating system's CSPRNG (`crypto.randomFillSync`), fetched
 * for 256 ids at a time: one system call per id was most of an id's cost.
 *
 * @example
 * ```ts
 * const id = newId(); // '01933b6e-...'
 * ```
 */
export function newId(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const o = offset;
  offset += BYTES_PER_ID;
  const now = Date.now();
  if (now > lastMs) {
    setMs(now);
    // The top bit stays clear: a millisecond has room for 2^31 ids before the counter wraps.
    seq = (((pool[o] as number) & 0x7f) << 24) | ((pool[o + 1] as number) << 16);
    seq |= ((pool[o + 2] as number) << 8) | (pool[o + 3] as number);
  } else {
    // Same millisecond, or the clock went back: count on, so ids keep increasing.
    seq = (seq + 1) >>> 0;
    if (seq === 0) setMs(lastMs + 1);
  }
  // Pieces shorter than 13 characters are built flat; only the last two joins make a rope,
  // so an id costs few allocations.
  const middle =
    (NIBBLE[(seq >>> 28) & 0x0f] as string) +
    HEX[(seq >>> 20) & 0xff] +
    '-' +
    HEX[0x80 | ((seq >>> 14) & 0x3f)] +
    HEX[(seq >>> 6) & 0xff] +
    '-';
  const tail =
    (HEX[((seq << 2) & 0xfc) | ((pool[o + 4] as number) & 0x03)] as string) +
    HEX[pool[o + 5] as number] +
    HEX[pool[o + 6] as number] +
    HEX[pool[o + 7] as number] +
    HEX[pool[o + 8] as number] +
    HEX[pool[o + 9] as number];
  return prefix + middle + tail;
}

/** True when `value` is a UUID string (any version) in canonical 8-4-4-4-12 form. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && uuidValidate(value);
}
