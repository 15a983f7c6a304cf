import { InvalidArgumentError } from '../core/errors.js';
import { assertPartitionCount, fnv1a32 } from '../store/partition.js';

/** murmur3's 32-bit finaliser: spreads FNV-1a's weak low bits over the whole word. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** How much `member` wants `partition` (rendezvous hashing): higher wins. */
function score(member: string, partition: number): number {
  return mix(fnv1a32(`${partition}\u0000${member}`));
}

/**
 * Which partitions each member of a consumer group runs, computed the same way by every
 * member from the same inputs, so that they agree without talking to each other.
 *
 * The assignment is balanced: every member gets `floor(partitions / members)` or one more
 * (members beyond the partition count get none). Within that, each partition goes to the
 * member that scores highest for it (rendezvous hashing, in partition order), so most
 * partitions stay where they were when a member joins or leaves. The order of `members`
 * does not matter; duplicates count once.
 *
 * @example
 * ```ts
 * assignPartitions(['a', 'b'], 4); // Map { 'a' => [...two], 'b' => [...two] }
 * ```
 * @throws {InvalidArgumentError} for no members, or a bad partition count.
 */
export function assignPartitions(
  members: readonly string[],
  partitions: number,
): Map<string, number[]> {
  assertPartitionCount(partitions);
  const given: unknown = members;
  if (!Array.isArray(given) || given.some((m) => typeof m !== 'string' || m.length === 0))
    throw new InvalidArgumentError('members', 'must be an array of member ids');
  const sorted = [...new Set(members)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (sorted.length === 0) throw new InvalidArgumentError('members', 'must not be empty');
  const floor = Math.floor(partitions / sorted.length);
  let extras = partitions % sorted.length;
  const assignment = new Map<string, number[]>(sorted.map((m) => [m, []]));
  for (let p = 0; p < partitions; p++) {
    const ranked = sorted
      .map((member) => ({ member, score: score(member, p) }))
      // Ties (vanishingly rare) go to the smaller id, so every member still agrees.
      .sort((a, b) => b.score - a.score || (a.member < b.member ? -1 : 1));
    for (const { member } of ranked) {
      const load = assignment.get(member) as number[];
      if (load.length < floor) {
        load.push(p);
        break;
      }
      if (load.length === floor && extras > 0) {
        extras -= 1;
        load.push(p);
        break;
      }
    }
  }
  return assignment;
}
