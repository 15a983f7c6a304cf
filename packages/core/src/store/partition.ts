import { InvalidArgumentError } from '../core/errors.js';

/** Most partitions a consumer group may have. */
export const MAX_PARTITIONS = 1024;

/** FNV-1a 32-bit offset basis and prime. */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a (32-bit) of the UTF-8 bytes of `text`, as an unsigned integer. Lone surrogates are
 * encoded as U+FFFD, as `TextEncoder` does. Stable across processes, machines and versions:
 * it decides which partition a stream belongs to, so it must never change.
 *
 * @example
 * ```ts
 * fnv1a32('foobar'); // 0xbf9cf968
 * ```
 */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET;
  const byte = (b: number) => {
    hash = Math.imul(hash ^ b, FNV_PRIME);
  };
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      byte(c);
      continue;
    }
    if (c < 0x800) {
      byte(0xc0 | (c >> 6));
      byte(0x80 | (c & 0x3f));
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i += 1;
        byte(0xf0 | (c >> 18));
        byte(0x80 | ((c >> 12) & 0x3f));
        byte(0x80 | ((c >> 6) & 0x3f));
        byte(0x80 | (c & 0x3f));
        continue;
      }
      c = 0xfffd;
    }
    byte(0xe0 | (c >> 12));
    byte(0x80 | ((c >> 6) & 0x3f));
    byte(0x80 | (c & 0x3f));
  }
  return hash >>> 0;
}

/** Throws unless `partitions` is a usable partition count (1 to {@link MAX_PARTITIONS}). */
export function assertPartitionCount(
  partitions: unknown,
  argument = 'partitions',
): asserts partitions is number {
  if (
    typeof partitions !== 'number' ||
    !Number.isSafeInteger(partitions) ||
    partitions < 1 ||
    partitions > MAX_PARTITIONS
  )
    throw new InvalidArgumentError(argument, `must be an integer from 1 to ${MAX_PARTITIONS}`);
}

/**
 * The partition of a consumer group that `stream`'s events go to: `fnv1a32(stream) %
 * partitions`. Every event of a stream lands in the same partition, so a partition's single
 * runner sees them in order; streams spread evenly over partitions.
 *
 * @example
 * ```ts
 * partitionOf('order-42', 8); // the same number in every process, forever
 * ```
 * @throws {InvalidArgumentError} when `partitions` is not an integer from 1 to 1,024.
 */
export function partitionOf(stream: string, partitions: number): number {
  assertPartitionCount(partitions);
  if (typeof stream !== 'string') throw new InvalidArgumentError('stream', 'must be a string');
  return fnv1a32(stream) % partitions;
}
