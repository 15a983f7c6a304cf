import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../core/errors.js';
import { MAX_PARTITIONS, fnv1a32, partitionOf } from './partition.js';

/** The reference: FNV-1a over the bytes TextEncoder makes. */
function reference(text: string): number {
  let hash = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) hash = Math.imul(hash ^ b, 0x01000193);
  return hash >>> 0;
}

describe('partitionOf', () => {
  it('hashes with FNV-1a 32-bit, matching the published test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes of any string, lone surrogates as U+FFFD', () => {
    expect(fnv1a32('é€😀\ud800x\udc00')).toBe(reference('é€😀\ud800x\udc00'));
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => fnv1a32(s) === reference(s)));
  });

  it('is stable: these values must never change, or streams would change partitions', () => {
    const streams = ['order-1', 'order-42', 'cart-7', 'ünïcödé-stream'];
    expect(streams.map((s) => fnv1a32(s))).toEqual([
      0x2b7fcd6d, 0x572446f4, 0x51137c23, 0xed3dab1d,
    ]);
    expect(streams.map((s) => partitionOf(s, 16))).toEqual([13, 4, 3, 13]);
    expect(partitionOf('anything', 1)).toBe(0);
  });

  it('spreads streams evenly', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 8000; i++) {
      const p = partitionOf(`order-${i}`, 8);
      counts[p] = (counts[p] ?? 0) + 1;
    }
    for (const n of counts) expect(Math.abs(n - 1000)).toBeLessThan(150);
  });

  it('refuses a bad partition count or stream', () => {
    for (const bad of [0, -1, 1.5, MAX_PARTITIONS + 1, Number.NaN, '4'])
      expect(() => partitionOf('s', bad as number)).toThrow(InvalidArgumentError);
    expect(() => partitionOf(42 as unknown as string, 4)).toThrow(/stream/);
  });
});
