import { InvalidArgumentError } from '../core/errors.js';
import type { ParkedSelection } from './parked-event-store.js';

/** Longest subscription, consumer or lease name, in characters. */
export const MAX_SUBSCRIPTION_NAME_LENGTH = 200;

/** Throws unless `name` is a usable subscription (or consumer, or lease) name. */
export function assertName(name: unknown, argument = 'name'): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_SUBSCRIPTION_NAME_LENGTH)
    throw new InvalidArgumentError(
      argument,
      `must be a non-empty string of at most ${MAX_SUBSCRIPTION_NAME_LENGTH} characters`,
    );
}

/** Throws unless `position` is a position or 0 (nothing). */
export function assertPosition(
  position: unknown,
  argument = 'position',
): asserts position is number {
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0)
    throw new InvalidArgumentError(argument, 'must be an integer >= 0');
}

/** Throws unless `which` is 'all' or an array of positions; returns the positions, deduplicated. */
export function checkSelection(which: ParkedSelection): number[] | 'all' {
  if (which === 'all') return 'all';
  if (!Array.isArray(which))
    throw new InvalidArgumentError('which', "must be 'all' or an array of positions");
  const positions = which as readonly unknown[];
  for (const p of positions) assertPosition(p, 'which');
  return [...new Set(positions as number[])];
}

/** Throws unless `ms` is a positive whole number of milliseconds. */
export function assertMilliseconds(ms: unknown, argument: string): asserts ms is number {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms <= 0)
    throw new InvalidArgumentError(argument, 'must be a whole number of milliseconds > 0');
}

/** Checks the arguments of a lease acquisition or renewal. */
export function assertLeaseArguments(
  name: unknown,
  owner: unknown,
  ttlMs: unknown,
  now: unknown,
): void {
  assertName(name);
  assertName(owner, 'owner');
  assertMilliseconds(ttlMs, 'ttlMs');
  if (typeof now !== 'number' || !Number.isFinite(now))
    throw new InvalidArgumentError('now', 'must be a time in milliseconds since the epoch');
}
