import { InvalidArgumentError } from './errors.js';

/**
 * How something retries: up to `attempts` tries in all, waiting a random ("full jitter")
 * delay between 0 and `min(maxDelayMs, baseDelayMs * 2^(retry - 1))` before each retry, so
 * contending writers spread out instead of colliding again. A command handler retries a
 * command whose append met a concurrent write (`WrongExpectedRevisionError`) this way;
 * subscriptions, sagas and the bus retry failed deliveries with it too.
 */
export interface BackoffOptions {
  /** Tries in all, the first included (default 20, enough for 16 callers racing on one aggregate; 1 means no retry). */
  attempts?: number;
  /** Delay cap of the first retry, in ms (default 5). */
  baseDelayMs?: number;
  /** Largest delay cap, in ms (default 1000). */
  maxDelayMs?: number;
  /** Waits `ms` milliseconds. Default: a timer. Tests pass one that returns at once. */
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1). Default: `Math.random`. */
  random?: () => number;
}

/** {@link BackoffOptions} with every default filled in. */
export type ResolvedBackoff = Required<BackoffOptions>;

/** Waits `ms` milliseconds on a timer. */
export function sleepFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Checks backoff options and fills in the defaults.
 *
 * @throws {InvalidArgumentError} for a non-integer or zero `attempts` or a negative delay.
 */
export function resolveBackoff(options: BackoffOptions = {}): ResolvedBackoff {
  const resolved: ResolvedBackoff = {
    attempts: options.attempts ?? 20,
    baseDelayMs: options.baseDelayMs ?? 5,
    maxDelayMs: options.maxDelayMs ?? 1000,
    sleep: options.sleep ?? sleepFor,
    random: options.random ?? Math.random,
  };
  if (!Number.isSafeInteger(resolved.attempts) || resolved.attempts < 1) {
    throw new InvalidArgumentError('retry.attempts', 'must be an integer >= 1');
  }
  for (const key of ['baseDelayMs', 'maxDelayMs'] as const) {
    if (!(Number.isFinite(resolved[key]) && resolved[key] >= 0)) {
      throw new InvalidArgumentError(`retry.${key}`, 'must be a number of milliseconds >= 0');
    }
  }
  return resolved;
}

/**
 * The delay before retry number `retry` (1 for the first retry): a random value in
 * `[0, min(maxDelayMs, baseDelayMs * 2^(retry - 1)))`.
 *
 * @example
 * ```ts
 * backoffDelay(3, resolveBackoff({ random: () => 0.5 })); // 10 (half of 5 * 2^2)
 * ```
 */
export function backoffDelay(retry: number, options: ResolvedBackoff): number {
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(options.random() * cap);
}
