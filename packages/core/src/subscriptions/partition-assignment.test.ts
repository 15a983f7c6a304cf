import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../core/errors.js';
import { assignPartitions } from './partition-assignment.js';

const ids = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), {
  minLength: 1,
  maxLength: 12,
});

/** partition → member */
function owners(assignment: Map<string, number[]>): Map<number, string> {
  const result = new Map<number, string>();
  for (const [member, partitions] of assignment) for (const p of partitions) result.set(p, member);
  return result;
}

describe('assignPartitions', () => {
  it('gives every partition to exactly one member, balanced within one', () => {
    fc.assert(
      fc.property(ids, fc.integer({ min: 1, max: 64 }), (members, partitions) => {
        const assignment = assignPartitions(members, partitions);
        expect([...assignment.keys()].sort()).toEqual([...members].sort());
        const all = [...assignment.values()].flat().sort((a, b) => a - b);
        expect(all).toEqual(Array.from({ length: partitions }, (_, i) => i));
        const loads = [...assignment.values()].map((p) => p.length);
        expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
        for (const p of assignment.values()) expect(p).toEqual([...p].sort((a, b) => a - b));
      }),
    );
  });

  it('is the same whatever order the members are listed in, and with duplicates', () => {
    fc.assert(
      fc.property(ids, fc.integer({ min: 1, max: 32 }), (members, partitions) => {
        const reversed = [...members].reverse();
        expect(assignPartitions([...reversed, ...members], partitions)).toEqual(
          assignPartitions(members, partitions),
        );
      }),
    );
  });

  it('moves few partitions when a member joins or leaves', () => {
    let moved = 0;
    let ideal = 0;
    for (let t = 0; t < 40; t++) {
      const members = [`a-${t}`, `b-${t}`, `c-${t}`];
      const before = owners(assignPartitions(members, 24));
      const after = owners(assignPartitions([...members, `d-${t}`], 24));
      for (let p = 0; p < 24; p++) if (before.get(p) !== after.get(p)) moved += 1;
      ideal += 24 / 4;
    }
    // A new member must receive a quarter of the partitions; little else moves.
    expect(moved).toBeLessThan(ideal * 1.5);
  });

  it('leaves members beyond the partition count without partitions', () => {
    const assignment = assignPartitions(['a', 'b', 'c', 'd', 'e'], 3);
    expect([...assignment.values()].filter((p) => p.length === 0)).toHaveLength(2);
    expect([...assignment.values()].flat().sort()).toEqual([0, 1, 2]);
  });

  it('refuses no members, bad ids or a bad partition count', () => {
    expect(() => assignPartitions([], 4)).toThrow(InvalidArgumentError);
    expect(() => assignPartitions([''], 4)).toThrow(/members/);
    expect(() => assignPartitions(['a', 3 as unknown as string], 4)).toThrow(/members/);
    expect(() => assignPartitions(['a'], 0)).toThrow(/partitions/);
  });
});
