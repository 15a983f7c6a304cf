import { randomFillSync } from 'node:crypto';
import { validate as uuidValidate } from 'uuid';

/** Ids whose random bytes one call to the system's random source fetches. */
const POOL_IDS = 256;
/** Random bytes an id takes from the pool: 4 to seed the counter, 1 for 2 bits, 5 for the tail. */
const BYTES_PER_ID = 10;
const pool = Buffer.alloc(POOL_IDS * BYTES_PER_ID);
/** The pool in hex (two characters per byte): an id's last 10 digits are a slice of it. */
let poolHex = '';
/** Index of the next unused id slot of the pool; at the end, the pool is refilled. */
let slot = POOL_IDS;
/** Two lowercase hex digits of every byte value, and one of every nibble. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
const NIBBLE = Array.from({ length: 16 }, (_, b) => b.toString(16));
/** Millisecond of the last id, and its counter. */
let lastMs = -Infinity;
let seq = 0;
/** `tttttttt-tttt-7` of the current millisecond. */
let prefix = '';
/**
 * The first 24 characters of ids whose counters agree but for the low 6 bits (those go in
 * the fourth group), and which counter that was (`seq >>> 6`); -1 when none is cached.
 */
let head = '';
let headOf = -1;

function setMs(ms: number): void {
  lastMs = ms;
  const hex = ms.toString(16).padStart(12, '0');
  prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7`;
  headOf = -1;
}

/**
 * A new UUIDv7 (RFC 9562): a 48-bit millisecond timestamp, then a 32-bit counter (RFC 9562
 * §6.2, method 1) and 42 random bits. Within one process ids are strictly increasing, also
 * within a millisecond and when the clock steps back, so ids of events written together sort
 * together and index well. The counter starts at a random 31-bit value each millisecond.
 *
 * Random bytes come from the operating system's CSPRNG (`crypto.randomFillSync`), fetched
 * for 256 ids at a time: one call per id was most of an id's cost. Consecutive ids share
 * their first 24 characters, which are built once per 64 ids.
 *
 * @example
 * ```ts
 * const id = newId(); // '01933b6e-...'
 * ```
 */
export function newId(): string {
  if (slot === POOL_IDS) {
    randomFillSync(pool);
    poolHex = pool.toString('hex');
    slot = 0;
  }
  const o = slot * BYTES_PER_ID;
  slot += 1;
  const now = Date.now();
  if (now > lastMs) {
    setMs(now);
    // The top bit stays clear: a millisecond has room for 2^31 ids before the counter wraps.
    seq = pool.readUInt32BE(o) >>> 1;
  } else {
    // Same millisecond, or the clock went back: count on, so ids keep increasing.
    seq = (seq + 1) >>> 0;
    if (seq === 0) setMs(lastMs + 1);
  }
  if (seq >>> 6 !== headOf) {
    headOf = seq >>> 6;
    head =
      prefix +
      (NIBBLE[(seq >>> 28) & 0x0f] as string) +
      HEX[(seq >>> 20) & 0xff] +
      '-' +
      HEX[0x80 | ((seq >>> 14) & 0x3f)] +
      HEX[(seq >>> 6) & 0xff] +
      '-';
  }
  // Pieces shorter than 13 characters are built flat: the id is one join of two strings.
  const tail =
    (HEX[((seq << 2) & 0xfc) | ((pool[o + 4] as number) & 0x03)] as string) +
    poolHex.slice(2 * (o + 5), 2 * (o + 10));
  return head + tail;
}

/** True when `value` is a UUID string (any version) in canonical 8-4-4-4-12 form. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && uuidValidate(value);
}
