import { fnv1a32 } from '@causewayjs/core';
import { defaultDeclinePolicy, type DeclinePolicy } from './payment-decider.js';

/**
 * A decline policy that declines about `rate` (0 to 1) of authorisations, chosen by a hash
 * of the order id: deterministic, so a re-sent authorisation is decided the same way. The
 * default policy's rules apply first.
 */
export function declineAtRate(rate: number): DeclinePolicy {
  if (!(rate >= 0 && rate <= 1))
    throw new RangeError(`the payment failure rate must be 0 to 1, got ${rate}`);
  const threshold = Math.round(rate * 10_000);
  return (request) => {
    const reason = defaultDeclinePolicy(request);
    if (reason !== undefined) return reason;
    return fnv1a32(`payment:${request.orderId}`) % 10_000 < threshold
      ? 'declined by the card issuer (simulated)'
      : undefined;
  };
}
