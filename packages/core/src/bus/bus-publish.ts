import { backoffDelay, resolveBackoff, sleepFor, type ResolvedBackoff } from '../core/backoff.js';
import type { SubscriptionLogger } from '../subscriptions/subscription-options.js';
import { BusUnavailableError } from './bus-errors.js';

/** How a broker bus retries a publish the broker did not acknowledge. */
export interface PublishRetryOptions {
  /** Tries in all (default 5). */
  attempts?: number;
  /** The first wait between tries, in ms (default 100). */
  baseDelayMs?: number;
  /** The longest wait between tries, in ms (default 2,000). */
  maxDelayMs?: number;
}

/** A bus's publish retry with the defaults filled in (5 tries, 100 ms to 2 s apart). */
export function resolvePublishRetry(options: PublishRetryOptions | undefined): ResolvedBackoff {
  return resolveBackoff({ attempts: 5, baseDelayMs: 100, maxDelayMs: 2000, ...options });
}

/**
 * Publishes one event until the broker acknowledges it, the same on every broker: a failure
 * `definite` turns into an error is thrown at once (retrying cannot change it); any other is
 * logged and retried after a backoff, and after the last try becomes `BusUnavailableError`.
 */
export async function publishWithRetry<T>(p: {
  eventId: string;
  retry: ResolvedBackoff;
  logger?: SubscriptionLogger | undefined;
  /** The broker's word for the answer it did not give. */
  answer: 'acknowledge' | 'confirm';
  /** One try on the current connection. */
  publish: () => Promise<T>;
  /** The error to throw at once for a failure no retry can change, else undefined. */
  definite: (error: unknown) => Error | undefined;
}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await p.publish();
    } catch (error) {
      const final = p.definite(error);
      if (final) throw final;
      const reason = error instanceof Error ? error.message : String(error);
      if (attempt >= p.retry.attempts)
        throw new BusUnavailableError(
          `The broker did not ${p.answer} event ${p.eventId} after ${attempt} attempts: ${reason}`,
          error,
        );
      p.logger?.warn(
        { eventId: p.eventId, attempt, err: error },
        `publish not ${p.answer === 'confirm' ? 'confirmed' : 'acknowledged'}; retrying`,
      );
      await sleepFor(backoffDelay(attempt, p.retry) + 1);
    }
  }
}
